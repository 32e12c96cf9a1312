"""Routing as an admin trains it (issue 19): `triage train`, then `triage classify`, scored.

    python -m benchmarks.admin_routing

Exactly the commands an admin runs, with the shipped defaults, in child processes on a fresh
models folder and store: `triage train --data category_train.csv --text-col text --label-col
label --promote`, then `triage classify --input category_test.csv --text-col title,body --output
out.csv`; once as shipped (the served model refitted on every row) and once with `--no-refit`
(the earlier default: a fifth of the labels held out of the served model). The test file is
scored once per configuration: macro-F1, accuracy, the abstain thresholds' coverage and the
precision on what is not left to a clerk, per label for the shipped configuration, and on the
921 test petitions the 2020 contest team also labelled (column 模型结果) beside the team.

Needs ../shared/datasets. Writes the section "admin-routing" of docs/benchmarks.md.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sklearn.metrics import accuracy_score, classification_report, f1_score

from datasets import shared_datasets_dir
from training.bench import table, write_section

COMMAND = "python -m benchmarks.admin_routing"
ROOT = Path(__file__).resolve().parent.parent
CONFIGS = {
    "as shipped (refit on every row)": [],
    "`--no-refit` (served model without the hold-out)": ["--no-refit"],
}


def triage(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run `triage ARGS`; its wall seconds and peak resident memory (MB)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "triage"), *args],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise RuntimeError(f"triage {' '.join(args)} failed: {proc.stderr.read().decode()[-2000:]}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def main() -> None:
    shared = shared_datasets_dir()
    if shared is None:
        raise SystemExit("../shared/datasets is absent: this benchmark scores the public files")
    train_csv, test_csv = shared / "benchmarks/category_train.csv", shared / "benchmarks/category_test.csv"
    gold_rows = read(test_csv)
    gold = [r["label"] for r in gold_rows]
    team = {
        r["留言编号"]: (r["一级标签"], r["模型结果"])
        for r in read(shared / "taidi2020c/messages_holdout_921_with_team_predictions.csv")
    }
    rows, per_label, subset = [], "", []
    with tempfile.TemporaryDirectory() as tmp:
        for name, flags in CONFIGS.items():
            folder = Path(tmp) / str(len(rows))
            env = {
                "TRIAGE_MODELS_DIR": str(folder / "models"),
                "TRIAGE_DATABASE_URL": f"sqlite:///{folder / 'triage.db'}",
                "OMP_NUM_THREADS": "1",
            }
            train_s, train_mb = triage(
                [
                    "train",
                    "--data",
                    str(train_csv),
                    "--text-col",
                    "text",
                    "--label-col",
                    "label",
                    "--promote",
                    *flags,
                ],
                env,
            )
            out = folder / "out.csv"
            classify_s, _ = triage(
                ["classify", "--input", str(test_csv), "--text-col", "title,body", "--output", str(out)], env
            )
            predicted = read(out)  # `label` is the prediction; the file's own labels are in `input_label`
            pred = [r["label"] for r in predicted]
            kept = [i for i, r in enumerate(predicted) if r["abstain"].lower() not in ("true", "1")]
            rows.append(
                [
                    name,
                    f"{f1_score(gold, pred, average='macro'):.4f}",
                    f"{accuracy_score(gold, pred):.4f}",
                    f"{len(kept) / len(pred):.1%}",
                    f"{accuracy_score([gold[i] for i in kept], [pred[i] for i in kept]):.4f}",
                    f"{train_s:.0f} s / {train_mb:,.0f} MB",
                    f"{classify_s:.1f} s",
                ]
            )
            if not per_label:
                per_label = classification_report(gold, pred, digits=3)
            ids = [i for i, r in enumerate(gold_rows) if r["message_id"] in team]
            ours = [pred[i] for i in ids]
            truth = [team[gold_rows[i]["message_id"]][0] for i in ids]
            theirs = [team[gold_rows[i]["message_id"]][1] for i in ids]
            subset.append(
                [
                    name,
                    len(ids),
                    f"{accuracy_score(truth, ours):.4f}",
                    f"{f1_score(truth, ours, average='macro'):.4f}",
                ]
            )
            print(rows[-1], subset[-1], flush=True)
    subset.append(
        [
            "contest team (模型结果)",
            len(theirs),
            f"{accuracy_score(truth, theirs):.4f}",
            f"{f1_score(truth, theirs, average='macro'):.4f}",
        ]
    )
    body = table(
        [
            "configuration",
            "macro-F1",
            "accuracy",
            "coverage (not abstained)",
            "precision on covered",
            "train (time / peak)",
            "classify 1,378",
        ],
        rows,
    )
    body += "\n\nOn the 921 test petitions the 2020 contest team labelled too (its gold 一级标签):\n\n"
    body += table(["model", "petitions", "accuracy", "macro-F1"], subset)
    body += f"\n\nPer label, as shipped:\n\n```\n{per_label.rstrip()}\n```\n\n"
    body += (
        "Train on `category_train.csv` (7,527 segmented petitions), test on `category_test.csv` (1,378 "
        "raw petitions, scored once per configuration); times are whole processes on the shared 2-core "
        "machine, training's peak memory its own. The figures inside the bundle (`macro_f1` in "
        "`triage train`'s output) are the hold-out's; the served model of the shipped configuration "
        "also learned those rows."
    )
    print(body)
    write_section("admin-routing", "Routing as an admin trains it (issue 19)", COMMAND, body)


if __name__ == "__main__":
    main()
