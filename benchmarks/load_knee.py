"""The load knee: rising request rates until p99 passes 100 ms or errors appear, 1 and 2 workers.

    python -m benchmarks.load_knee [--seconds 4] [--workers 1,2] [--endpoints classify,batch,cases]

A real uvicorn server (benchmarks/server.py) on loopback, started as `triage serve` would run
it (JSON access log on, rate limiter on with a limit far above the offered rate so its cost is
measured but it never refuses), and a second process (benchmarks/load.py) offering an
open-loop rate: requests leave on schedule whether or not earlier ones have answered, so an
overloaded server shows up as latency and errors, not as a quietly lower rate. Each step is
bounded in seconds and requests; the ladder stops at the first step past the knee.

Every request carries a petition the server has not seen in that run (see `PetitionPool`): the
per-text caches of triage/text.py (normalisation, segmentation) would otherwise hit and hide the
segmenter's cost, which real traffic (all new petitions) pays on every request.

The knee is the highest offered rate with p99 ≤ 100 ms and no errors. For /classify the
table also marks the highest rate with p99 ≤ 25 ms (the per-worker target is ≥ 300 req/s there).
Memory is the resident set of the server's processes (master and workers) after each endpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.server import running_server
from cli.bootstrap import sample_data
from datasets import load_msgabench_messages, load_sample, load_taidi_raw, shared_datasets_dir
from training.bench import table, write_section
from training.bundles import ModelRegistry
from training.request_type import ensure_request_type_model
from training.train import train_bundle

KNEE_P99_MS = 100.0
TARGET_P99_MS = 25.0
BATCH_SIZE = 10

# Low first steps so a knee is found even on a busy machine; the ladder stops past the knee.
LADDERS = {
    "classify": [25, 50, 100, 150, 200, 300, 400, 500, 600, 800, 1000, 1200, 1500, 2000],
    "batch": [2, 5, 10, 20, 40, 60, 80, 120, 160],
    "cases": [2, 5, 10, 20, 40, 60, 80, 120],
}
PATHS = {"classify": "/classify", "batch": "/classify/batch", "cases": "/cases"}


# raw taidi2020c messages (title + body) read as new petitions; msgabench messages are body only
TAIDI_RAW_FILES = (
    "messages_gold_raw_1378.csv",
    "messages_unlabelled_2801.csv",
    "hot_messages_4326.csv",
    "replies_2816.csv",
)


class PetitionPool:
    """Hands out petitions in order, never the same text twice within a wide window.

    With ../shared/datasets: the distinct raw messages of taidi2020c and msgabench (about 20,000),
    in a cycle far longer than any cache of 512 texts. Without: the bundled sample petitions,
    each made new by a running number appended to its body, so no text ever repeats.
    """

    def __init__(self) -> None:
        self.cursor = 0
        self.petitions = shared_petitions()
        self.numbered = not self.petitions
        if self.numbered:
            self.petitions = [{"title": r["title"], "body": r["body"]} for r in load_sample()]

    def describe(self) -> str:
        if self.numbered:
            return (
                f"the {len(self.petitions)} bundled sample petitions, each sent with a running number "
                "appended to its body (../shared/datasets absent), so every request's text is new"
            )
        return (
            f"{len(self.petitions):,} distinct raw petitions of ../shared/datasets (taidi2020c messages "
            "and msgabench messages), taken in turn: a text recurs only after all the others"
        )

    def take(self, n: int) -> list[dict]:
        out = []
        for _ in range(n):
            p = self.petitions[self.cursor % len(self.petitions)]
            if self.numbered:
                p = {**p, "body": f"{p['body']}（第{self.cursor + 1}件）"}
            out.append(p)
            self.cursor += 1
        return out


def shared_petitions() -> list[dict]:
    """Distinct raw petitions of ../shared/datasets; empty when the folder is absent."""
    if shared_datasets_dir() is None:
        return []
    seen: set[str] = set()
    out: list[dict] = []
    rows = [r for name in TAIDI_RAW_FILES for r in load_taidi_raw(name)]
    rows += [{"title": "", "body": r["body"]} for r in load_msgabench_messages()]
    for r in rows:
        key = r["title"] + "\n" + r["body"]
        if r["body"] and key not in seen:
            seen.add(key)
            out.append({"title": r["title"], "body": r["body"]})
    return out


def requests_in(rate: float, seconds: float) -> int:
    return int(rate * seconds)  # as benchmarks/load.py counts them


def payloads(kind: str, petitions: list[dict]) -> list[dict]:
    if kind == "classify":
        return petitions
    if kind == "batch":
        return [
            {"items": petitions[i : i + BATCH_SIZE]}
            for i in range(0, len(petitions) - BATCH_SIZE + 1, BATCH_SIZE)
        ]
    return [{"external_id": f"load-{i}", **p} for i, p in enumerate(petitions)]


def _family(pid: int) -> list[int]:
    pids = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            pids += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        pass
    return pids


def cpu_seconds(pid: int) -> float:
    """User + system CPU time used so far by `pid` and its children (the server's own work).

    Unlike latency, this does not grow when other processes compete for the cores, so CPU
    milliseconds per request give the capacity of an idle core: 1000 / ms requests per second.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in _family(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / ticks


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` and its children (uvicorn's master and workers)."""
    total = 0
    for p in _family(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return round(total / 1024, 1)


def step(url: str, path: str, body_file: Path, key: str, rate: float, seconds: float, unique: bool) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.load", "--url", url + path, "--payloads", str(body_file)]
    cmd += ["--rate", str(rate), "--seconds", str(seconds), "--header", f"Authorization: Bearer {key}"]
    if unique:
        cmd += ["--unique-field", "external_id"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=seconds * 4 + 60)
    return json.loads(out.stdout)


def step_payloads(kind: str, pool: PetitionPool, requests: int, body_file: Path) -> Path:
    """A payload file with fresh petitions for every request of one step."""
    per_request = BATCH_SIZE if kind == "batch" else 1
    body_file.write_text(
        json.dumps(payloads(kind, pool.take(max(requests, 1) * per_request)), ensure_ascii=False),
        encoding="utf-8",
    )
    return body_file


def ladder(
    url: str, pid: int, kind: str, pool: PetitionPool, root: Path, key: str, seconds: float
) -> list[dict]:
    warm = step_payloads(kind, pool, requests_in(20, 1.0), root / f"{kind}-warm.json")
    step(url, PATHS[kind], warm, key, 20, 1.0, kind == "cases")  # warm-up: models, pools
    results = []
    for rate in LADDERS[kind]:
        body_file = step_payloads(kind, pool, requests_in(rate, seconds), root / f"{kind}-{rate}.json")
        cpu_before = cpu_seconds(pid)
        r = step(url, PATHS[kind], body_file, key, rate, seconds, kind == "cases")
        r["server_cpu_ms_per_request"] = round(
            (cpu_seconds(pid) - cpu_before) * 1000 / max(r["requests"], 1), 2
        )
        r["kind"] = kind
        r["load_avg"] = round(os.getloadavg()[0], 2)  # the machine's 1-minute load: the noise
        results.append(r)
        print(json.dumps(r), flush=True)
        if r["p99"] > KNEE_P99_MS or r["errors"] > 0:
            break
    return results


def capacity(results: list[dict]) -> str:
    """Median server CPU time per request over the ladder, and what one idle core would serve."""
    ms = sorted(r["server_cpu_ms_per_request"] for r in results)[len(results) // 2]
    return f"{ms:.1f} ms → ~{1000 / ms:.0f} req/s" if ms > 0 else "—"


def knee(results: list[dict], p99_limit: float) -> dict | None:
    """The highest step such that it and every lower step had p99 within the limit and no errors.

    A rate that passes above one that failed is not a rate the service holds "up to".
    """
    held = None
    for r in sorted(results, key=lambda r: r["offered_rate"]):
        if r["p99"] > p99_limit or r["errors"] > 0:
            break
        held = r
    return held


def make_key(database_url: str) -> str:
    from triage.store.engine import Store
    from triage.store.keys import create_key

    store = Store(database_url)
    with store.session(write=True) as s:
        key, _ = create_key(s, "platform", "load-knee")
    store.dispose()
    return key


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=4.0, help="per rate step (default 4)")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--endpoints", default="classify,batch,cases")
    parser.add_argument("--port", type=int, default=8771)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    kinds = [k for k in args.endpoints.split(",") if k]
    worker_counts = [int(w) for w in args.workers.split(",")]

    sample = sample_data()
    pool = PetitionPool()
    rows, knee_rows, raw = [], [], {}
    with tempfile.TemporaryDirectory(prefix="load-knee-") as tmp:
        root = Path(tmp)
        models = root / "models"
        train_bundle(
            sample, ModelRegistry(models), label_col="department", text_cols=["title", "body"], promote=True
        )
        ensure_request_type_model(models)  # as `triage bootstrap` does: /classify runs both models
        for workers in worker_counts:
            db = f"sqlite:///{root / f'cases-{workers}.db'}"
            key = make_key(db)
            env = {"TRIAGE_RATE_LIMIT_PER_SECOND": "1000000", "TRIAGE_RATE_LIMIT_BURST": "1000000"}
            with (
                open(root / f"server-{workers}.log", "w") as log,
                running_server(
                    models, args.port, workers, env, database_url=db, log_file=log, log_level="info"
                ) as (
                    url,
                    proc,
                ),
            ):
                for kind in kinds:
                    results = ladder(url, proc.pid, kind, pool, root, key, args.seconds)
                    memory = rss_mb(proc.pid)
                    raw[f"{kind}-{workers}"] = results
                    for r in results:
                        rows.append(
                            (
                                PATHS[kind],
                                workers,
                                r["offered_rate"],
                                r["achieved_rate"],
                                r["requests"],
                                r["p50"],
                                r["p99"],
                                f"{r['error_share']:.2%}",
                                r["server_cpu_ms_per_request"],
                                r["load_avg"],
                            )
                        )
                    k = knee(results, KNEE_P99_MS)
                    t = knee(results, TARGET_P99_MS) if kind == "classify" else None
                    last = results[-1]
                    past = (
                        f"{last['offered_rate']:.0f} req/s: p99 {last['p99']:.1f} ms, errors {last['error_share']:.2%}"
                        if last is not k
                        else "not reached (ladder ended)"
                    )
                    knee_rows.append(
                        (
                            PATHS[kind] + (f" ({BATCH_SIZE} per call)" if kind == "batch" else ""),
                            workers,
                            f"{k['offered_rate']:.0f}" if k else "< first step",
                            f"{k['p50']:.1f} / {k['p99']:.1f}" if k else "—",
                            f"{t['offered_rate']:.0f}"
                            if t
                            else ("—" if kind != "classify" else "< first step"),
                            past,
                            capacity(results),
                            memory,
                        )
                    )
    knees = table(
        [
            "endpoint",
            "workers",
            "knee req/s (p99 ≤ 100 ms, no errors)",
            "p50 / p99 at knee (ms)",
            "≤ 25 ms p99 up to",
            "first step past the knee",
            "server CPU per request → idle-core capacity",
            "server RSS MB",
        ],
        knee_rows,
    )
    steps = table(
        [
            "endpoint",
            "workers",
            "offered req/s",
            "achieved",
            "requests",
            "p50 ms",
            "p99 ms",
            "errors",
            "server CPU ms/request",
            "load avg (1 min)",
        ],
        rows,
    )
    body = f"""
Open-loop load from a second process on loopback, {args.seconds:g} s per step, rates rising until p99 > {KNEE_P99_MS:.0f} ms
or an error. Server as `triage serve` runs it: JSON access log on (to a file), rate limiter on (limit far above the
offered rate), SQLite case store, department and request-type models trained on the bundled sample (as
`triage bootstrap` leaves them; before 2026-11-22 08:45 only the department model ran here). The load generator shares the machine's 2 cores
with the server, and other work on the machine adds noise: read the knees as lower bounds. The server's own CPU time
per request (from /proc, for the master and its workers) does not depend on that noise: 1000 / it is what one idle
core would serve. The load average (1 min, 2 cores) after each step says how busy the machine was.

Petitions sent: {pool.describe()}. No request repeats a text the server has just seen, so the per-text caches
(normalisation, segmentation) miss, as they do for real traffic; before 2026-11-22 09:30 the 373 sample petitions
were sent over and over and those caches hid most of the segmenter's cost.

{knees}

Every step:

{steps}
"""
    print(body)
    if not args.no_write:
        write_section("reliability-load", "Load knee (issue 6)", "python -m benchmarks.load_knee", body)
    Path(tempfile.gettempdir(), "load_knee.json").write_text(json.dumps(raw, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
