"""Re-routing a backlog (issue 19): `triage classify --input` and `POST /classify/batch` as shipped.

The CLI is timed as an admin runs it, a whole process from start to the written file, on the
MSGABench messages (11,529 petitions, `../shared/datasets/msgabench/messages_11529.csv`), with the
default one process per core and with `--jobs 1`; both outputs must be identical. The API is
timed through a real `triage serve` with batches of 1,000 petitions, with reasons (the default)
and without (`"reasons": false`). The model is the one a hotline re-routing real petitions would
have: `triage train` on the public training file (7.5 k petitions, 7 categories) into a fresh
folder and store, exactly as an admin runs it (`--models DIR` uses that folder's live bundle
instead, e.g. the sample-trained one of `make run`).
Prints the figures and writes the section "backlog" of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from benchmarks.screenshots import free_port, store_key
from benchmarks.server import running_server
from datasets import shared_datasets_dir
from training.bench import table, write_section

COMMAND = "python -m benchmarks.backlog"


def backlog_file(folder: Path) -> tuple[Path, list[str]]:
    shared = shared_datasets_dir()
    if shared is None:
        sys.exit("../shared/datasets is absent: this benchmark reads msgabench/messages_11529.csv")
    with (shared / "msgabench" / "messages_11529.csv").open(encoding="utf-8") as fh:
        texts = [row["留言"] for row in csv.DictReader(fh)]
    path = folder / "backlog.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "body"])
        writer.writerows([i, t] for i, t in enumerate(texts))
    return path, texts


def time_cli(path: Path, out: Path, jobs: int, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "classify",
            "--input",
            str(path),
            "--text-col",
            "body",
            "--output",
            str(out),
            "--jobs",
            str(jobs),
        ],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def time_batch_api(models: Path, database_url: str, texts: list[str], workers: int = 1) -> dict[bool, float]:
    """Seconds for all the batch calls, with reasons (True) and without (False). With several
    server workers, as many clients send their share of the batches at the same time (a
    re-routing script using both cores through the API)."""
    key = store_key(database_url, "platform", f"backlog-{workers}")
    chunks = [texts[i : i + 1000] for i in range(0, len(texts), 1000)]
    seconds = {}
    with running_server(models, free_port(), workers, database_url=database_url) as (base, _):
        clients = [
            httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=300)
            for _ in range(workers)
        ]
        for client in clients:  # every worker warm (a first request loads its segmenter)
            for _ in range(workers):
                client.post("/classify/batch", json={"items": [{"body": t} for t in chunks[0][:50]]})

        def send(client: httpx.Client, share: list[list[str]], reasons: bool) -> None:
            for chunk in share:
                body = {"items": [{"body": t} for t in chunk], "reasons": reasons}
                client.post("/classify/batch", json=body).raise_for_status()

        for reasons in (True, False):
            started = time.perf_counter()
            with ThreadPoolExecutor(workers) as pool:
                list(
                    pool.map(send, clients, [chunks[i::workers] for i in range(workers)], [reasons] * workers)
                )
            seconds[reasons] = time.perf_counter() - started
        for client in clients:
            client.close()
    return seconds


def train_public_model(folder: Path, env: dict[str, str]) -> str:
    """`triage train --promote` on the public training file, as an admin runs it; its version."""
    shared = shared_datasets_dir()
    assert shared is not None  # backlog_file checked
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "train",
            "--data",
            str(shared / "benchmarks" / "category_train.csv"),
            "--text-col",
            "text",
            "--label-col",
            "label",
            "--promote",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)["version"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", help="use this models folder's live bundle instead of training one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path, texts = backlog_file(folder)
        models = Path(args.models).resolve() if args.models else folder / "models"
        database_url = f"sqlite:///{folder / 'bench.db'}"
        env = {
            **os.environ,
            "TRIAGE_MODELS_DIR": str(models),
            "OMP_NUM_THREADS": "1",
            **({} if args.models else {"TRIAGE_DATABASE_URL": database_url}),
        }
        model = (
            f"the live bundle of {args.models}"
            if args.models
            else f"`triage train` on the public training file ({train_public_model(folder, env)})"
        )
        rows = []
        outputs = {}
        for jobs in (os.cpu_count() or 1, 1):
            outputs[jobs] = folder / f"out-{jobs}.csv"
            seconds = min(time_cli(path, outputs[jobs], jobs, env) for _ in range(2))
            rows.append(
                [
                    f"`triage classify --input` (--jobs {jobs})",
                    len(texts),
                    f"{seconds:.1f} s",
                    f"{len(texts) / seconds:,.0f}/s",
                ]
            )
        identical = filecmp.cmp(*outputs.values(), shallow=False)
        if args.models:
            database_url = os.environ.get("TRIAGE_DATABASE_URL", database_url)
        for workers in (1, os.cpu_count() or 1):
            for reasons, seconds in time_batch_api(models, database_url, texts, workers).items():
                rows.append(
                    [
                        f"`POST /classify/batch` (1,000 per call, reasons {'on' if reasons else 'off'}, "
                        f"{workers} server worker{'s' if workers > 1 else ''}, {workers} client{'s' if workers > 1 else ''})",
                        len(texts),
                        f"{seconds:.1f} s",
                        f"{len(texts) / seconds:,.0f}/s",
                    ]
                )
    body = table(["what", "petitions", "time (whole process / all calls)", "rate"], rows)
    body += (
        f"\n\nThe CLI's outputs with one process and with one per core are identical: **{identical}**. "
        f"Model: {model}. "
        "The CLI times include Python's start, reading the file and writing the output; the API time is "
        "the batch calls only, through a real `triage serve` with the default settings (one worker) and with "
        "`--workers 2`, the batches shared between as many clients sending at once (each client keeps its "
        "connection open; with several workers the server closes it after each batch, so that the next "
        "batch goes to a free worker: before it did, both clients' connections could land on one worker, "
        "and two workers answered 2,250 a second, fewer than one). The clients run on the same two cores."
    )
    print(body)
    write_section("backlog", "Re-routing a backlog (issue 19)", COMMAND, body)


if __name__ == "__main__":
    main()
