"""Rebuilding a host's caches from the case store at 100,000 cases (issue 17).

    python -m benchmarks.rebuild [--n 100000]

A store (PostgreSQL at TRIAGE_TEST_POSTGRES_URL in its own schema, else a SQLite file) is seeded
with `--n` cases, about 65 % closed with their sent replies (benchmarks/seed_cases.py), then
`triage bootstrap` runs on it as `make run` does (model, answers, sample history, into the store
and the artifact location). Each figure is a child process on an empty cache folder, with the
shipped defaults, so its time and peak memory are its own:

- the duplicate index, the topic model (the first host builds it and writes the store's snapshot;
  another host loads that snapshot), the drafting history (BM25 over every sent reply);
- a whole host: `create_app` on an empty folder (a lost cache: the model fetched from the artifact
  location and checked, every index rebuilt) and again on the folder it left (a restart).

Writes the section "rebuild" of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.catch_up import database
from benchmarks.seed_cases import seed
from training.bench import table, write_section

COMMAND = "python -m benchmarks.rebuild"
ROOT = Path(__file__).resolve().parent.parent
STEPS = {
    "duplicates": "duplicate index (every case)",
    "topics": "topic model, first host (builds it, writes the snapshot)",
    "topics-snapshot": "topic model, another host (loads the snapshot)",
    "history": "drafting history (every sent reply, BM25)",
    "app-cold": "whole host, empty cache folder (`create_app`)",
    "app-warm": "whole host, restart on its folder (`create_app`)",
}


def child(step: str, cache: Path) -> dict:
    """One rebuild in this process (the environment names the store and the folders)."""
    from triage.settings import get_settings
    from triage.store.engine import Store

    settings = get_settings()
    store = Store(settings.database_url)
    started = time.perf_counter()
    items = None
    if step == "duplicates":
        from triage.topics import TopicState
        from triage.topics.store_feed import DuplicateFeed

        state = TopicState.open(cache / "topics")
        items = DuplicateFeed(store, state).catch_up()
        state.save()
    elif step in ("topics", "topics-snapshot"):
        from triage.topics import TopicState
        from triage.topics.shared import SharedTopics

        state = TopicState.open(cache / "topics")
        SharedTopics(store, state).catch_up()
        items = state.topics.case_count()
    elif step == "history":
        from triage.retrieval.history import HistoryIndex
        from triage.retrieval.store_feed import HistoryFeed

        history = HistoryIndex(cache / "history")
        items = HistoryFeed(store, history).catch_up()
    else:
        from api.app import create_app

        create_app(settings)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": round(seconds, 2), "items": items, "peak_mb": round(peak_mb)}


def run_child(step: str, cache: Path, env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.rebuild", "--child", step, "--cache", str(cache)],
        env={**os.environ, **env, "TRIAGE_MODELS_DIR": str(cache)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{step} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--child", choices=list(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.cache)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url, drop = database(folder)
        try:
            seeded = seed(url, args.n, replies=True)
            print("seeded", seeded, flush=True)
            env = {
                "TRIAGE_DATABASE_URL": url,
                "TRIAGE_ARTIFACTS": str(folder / "artifacts"),
                "OMP_NUM_THREADS": "1",
            }
            subprocess.run(
                [str(Path(sys.executable).parent / "triage"), "bootstrap"],
                env={**os.environ, **env, "TRIAGE_MODELS_DIR": str(folder / "setup")},
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            results = {}
            for step in STEPS:
                cache = folder / ("host" if step.startswith("app") else step)
                results[step] = run_child(step, cache, env)
                print(step, results[step], flush=True)
        finally:
            drop()
    render(results, seeded, "postgresql" in url)


def render(results: dict, seeded: dict, pg: bool) -> None:
    rows = [
        [
            STEPS[step],
            f"{r['items']:,}" if r["items"] is not None else "",
            f"{r['seconds']:.1f} s",
            f"{r['peak_mb']} MB",
        ]
        for step, r in results.items()
    ]
    body = table(["cache rebuilt from the store", "items", "time", "peak memory"], rows)
    body += (
        f"\n\nStore: {'PostgreSQL' if pg else 'SQLite'}, {seeded['cases']:,} cases ({seeded['closed']:,} closed "
        "with a sent reply the quality check passed), plus what `triage bootstrap` adds (the sample's "
        "model, curated answers and history). Each row is a child process on an empty folder with the "
        "shipped defaults; the topic snapshot row reads what the row above it wrote. The whole-host "
        "rows include fetching the live model from the artifact location and checking its sha256, "
        "the answer library and its embeddings, and every index above; a restart reads its folder "
        "and asks the store only for what changed since."
    )
    print(body)
    write_section("rebuild", "Rebuilding a host's caches from the store (issue 17)", COMMAND, body)


if __name__ == "__main__":
    main()
