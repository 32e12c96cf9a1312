"""Case workflow figures: POST /cases end to end, the queue with 100,000 cases, retrain from them.

    python -m benchmarks.cases [--rate 20] [--seconds 30] [--n 100000] [--postgres URL] [--skip-retrain]

POST /cases (store + classify + route + draft, one transaction) is measured against a real
uvicorn server in a child process, loaded open-loop at a fixed rate by this process, on a SQLite
file and on PostgreSQL (its own schema, dropped afterwards). GET /cases is measured on a store
seeded with `--n` cases by benchmarks/seed_cases.py, for the queries the staff page makes.
Retraining from the seeded SQLite store runs in a child process so its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from benchmarks.load import run_load
from benchmarks.seed_cases import seed, source_petitions
from benchmarks.server import running_server
from training.bench import percentiles, table, write_section
from triage.store.engine import Store
from triage.store.keys import create_key

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
WORKERS = 2
QUEUE_QUERIES = {
    "queue, first page": {},
    "open cases": {"status": "open"},
    "one department, open": {"status": "open", "department": None},  # filled with a real label
    "overdue": {"overdue": "true"},
    "manual routing queue": {"abstained": "true", "status": "open"},
    "page 100 (offset 5,000)": {"offset": 5000},
    "search text (q)": {"q": "噪音"},
    "search phrase (q, 4 characters)": {"q": "噪音扰民"},
}


def make_keys(url: str) -> dict[str, str]:
    store = Store(url)
    store.ensure_schema()
    with store.session(write=True) as s:
        keys = {role: create_key(s, role, f"bench-{role}")[0] for role in ("platform", "staff", "admin")}
    store.dispose()
    return keys


class PostgresSchema:
    """A throwaway schema on the PostgreSQL server, so the benchmark never touches other data."""

    def __init__(self, base: str) -> None:
        from sqlalchemy import create_engine

        self.base = base
        self.name = f"bench_{uuid.uuid4().hex[:10]}"
        self.engine = create_engine(base)

    def __enter__(self) -> str:
        from urllib.parse import quote

        with self.engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{self.name}"')
        return f"{self.base}?options={quote(f'-csearch_path={self.name}')}"

    def __exit__(self, *exc) -> None:
        with self.engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{self.name}" CASCADE')
        self.engine.dispose()


def prepare_models(root: Path) -> Path:
    from cli.bootstrap import sample_data
    from training.bundles import ModelRegistry
    from training.train import train_bundle

    models = root / "models"
    train_bundle(
        sample_data(),
        ModelRegistry(models),
        label_col="department",
        text_cols=["title", "body"],
        promote=True,
    )
    return models


def post_cases(models: Path, url: str, port: int, rate: float, seconds: float) -> dict:
    keys = make_keys(url)
    petitions = source_petitions()
    total = int(rate * seconds)
    run = uuid.uuid4().hex[:6]
    payloads = [
        {
            "external_id": f"load-{run}-{i}",
            "title": petitions[i % len(petitions)][0],
            "body": petitions[i % len(petitions)][1],
            "channel": "网站",
        }
        for i in range(total + 10)
    ]
    headers = {"Authorization": f"Bearer {keys['platform']}"}
    with running_server(models, port, workers=WORKERS, extra_env={"TRIAGE_DATABASE_URL": url}) as (
        base,
        _proc,
    ):
        for p in payloads[total:]:  # warm-up: model load, routing table, drafter index
            httpx.post(f"{base}/cases", json=p, headers=headers, timeout=60)
        result = run_load(f"{base}/cases", payloads[:total], rate, seconds, headers)
    return result


def queue_latency(models: Path, url: str, port: int, requests: int) -> dict[str, dict]:
    keys = make_keys(url)
    headers = {"Authorization": f"Bearer {keys['staff']}"}
    out: dict[str, dict] = {}
    with (
        running_server(models, port, workers=WORKERS, extra_env={"TRIAGE_DATABASE_URL": url}) as (
            base,
            _proc,
        ),
        httpx.Client(base_url=base, headers=headers, timeout=30) as client,
    ):
        department = client.get("/cases", params={"status": "open", "limit": 1}).json()["items"][0][
            "department"
        ]
        for name, params in QUEUE_QUERIES.items():
            params = {k: (department if v is None else v) for k, v in params.items()}
            client.get("/cases", params=params)  # warm
            samples, total = [], 0
            for _ in range(requests):
                start = time.perf_counter()
                r = client.get("/cases", params=params)
                samples.append((time.perf_counter() - start) * 1000)
                r.raise_for_status()
                total = r.json()["total"]
            out[name] = {"total": total, **percentiles(samples)}
    return out


def retrain_child(url: str, models: str) -> None:
    """Run in a child process: retrain from the store and print time and peak memory as JSON."""
    from training.bench import peak_rss_mb
    from training.bundles import ModelRegistry
    from training.from_store import retrain_from_store

    start = time.perf_counter()
    result = retrain_from_store(Store(url), ModelRegistry(models))
    print(
        json.dumps(
            {
                "seconds": round(time.perf_counter() - start, 1),
                "peak_rss_mb": peak_rss_mb(),
                "examples": result["data"]["total"],
                "held_out": result["held_out"],
                "new_macro_f1": result["new"]["macro_f1"],
                "live_macro_f1": (result["live"] or {}).get("macro_f1"),
            }
        )
    )


def render(figures: dict, args: argparse.Namespace) -> None:
    """Write the section from the figures (this run's, plus a previous run's for skipped phases)."""
    post_rows = [
        [name, r["requests"], r["achieved_rate"], r["p50"], r["p95"], r["p99"], r["max"], r["errors"]]
        for name in ("SQLite", "PostgreSQL")
        if (r := figures.get(f"post_{name}"))
    ]
    queue_rows = [
        [name, query, r["total"], r["p50"], r["p95"], r["p99"], r["max"]]
        for name in ("SQLite", "PostgreSQL")
        for query, r in figures.get(f"queue_{name}", {}).items()
    ]
    rt = figures.get("retrain")
    retrain_text = (
        table(
            ["labelled cases", "held out", "time (s)", "peak memory (MB)", "macro-F1 new", "macro-F1 live"],
            [
                [
                    rt["examples"],
                    rt["held_out"],
                    rt["seconds"],
                    rt["peak_rss_mb"],
                    rt["new_macro_f1"],
                    rt["live_macro_f1"],
                ]
            ],
        )
        if rt
        else "Not measured in this run."
    )
    loads = ", ".join(f"{k.replace('_', ' ')} {v:.1f}" for k, v in figures.get("load", {}).items())
    carried = (
        f" Phases not in `--phases {args.phases}` (backends `{args.backends}`) carry the figures of an"
        " earlier run of this command, given with `--previous`."
        if args.previous
        else ""
    )
    source = (
        "the real petitions of ../shared/datasets" if len(source_petitions()) > 1000 else "the bundled sample"
    )
    body = f"""
`POST /cases` end to end (authenticate, store, classify, route, draft, one transaction) against a
real uvicorn server ({figures.get("workers", WORKERS)} workers) in a child process, loaded open-loop at
{args.rate:g} requests/s for {args.seconds:g} s by this process; petitions are {source}. Latency in ms.
The machine is shared with other jobs (2 cores; 1-minute load average at the start of each phase:
{loads}), so the figures include waiting for the CPU.{carried}

{table(["database", "requests", "achieved req/s", "p50", "p95", "p99", "max", "errors"], post_rows)}

`GET /cases` on a store of {args.n:,} cases (seeded by `python -m benchmarks.seed_cases`: about
65 % closed, 20 % assigned, 12 % new, 3 % returned; then `ANALYZE`, and on PostgreSQL `VACUUM`,
the state autovacuum reaches), {args.queue_requests} sequential requests per query through the same
server with a staff key, 50 cases per page, the total counted each time. Latency in ms; target p99
≤ 100 ms.

{table(["database", "query", "matching", "p50", "p95", "p99", "max"], queue_rows)}

Text search (`q`) is a substring search over titles and bodies, answered by a character-trigram
index (migration 0002: SQLite FTS5 `tokenize='trigram'`, PostgreSQL `pg_trgm` GIN indexes serving
`LIKE '%…%'`); queries shorter than three characters, and databases without those features, fall
back to a scan. So "search text (q)" (two characters, 噪音) is still a scan, and "search phrase"
(噪音扰民) is answered by the index.

Retraining from the {args.n:,} stored cases on SQLite (labels: the accepted and overridden final
routings; 20 % held out; the live model compared on the same split), in a child process with
`OMP_NUM_THREADS=1`, peak memory of that process:

{retrain_text}

The figures of this table measure cost, not quality: the seeded store reuses each petition about
{max(1, args.n // max(len(source_petitions()), 1))} times (with a varied opening), so the held-out
split holds near-copies of training rows, and the live model it is compared with is the bundled
sample's department model while the seeded labels are the shared data's categories - hence its
0.0. Classifier quality is measured by `python -m benchmarks.classify`.
"""
    write_section("cases", "Cases and workflow", "python -m benchmarks.cases", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queue-requests", type=int, default=200)
    parser.add_argument("--postgres", default=os.environ.get("TRIAGE_TEST_POSTGRES_URL", DEFAULT_PG))
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--phases", default="post,queue,retrain", help="comma-separated subset to run")
    parser.add_argument("--backends", default="SQLite,PostgreSQL", help="comma-separated subset")
    parser.add_argument("--previous", help="figures.json of an earlier run: its figures fill skipped phases")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (the machine has 2 cores)")
    args = parser.parse_args()
    if not args.port:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            args.port = sock.getsockname()[1]
    global WORKERS
    WORKERS = args.workers
    phases = set(args.phases.split(","))
    wanted = set(args.backends.split(","))
    figures: dict = json.loads(Path(args.previous).read_text()) if args.previous else {}
    figures["workers"] = WORKERS
    figures.setdefault("load", {})

    tmp = Path(tempfile.mkdtemp(prefix="bench-cases-"))
    models = prepare_models(tmp)
    backends = [("SQLite", None)] + ([] if args.skip_postgres else [("PostgreSQL", args.postgres)])
    backends = [b for b in backends if b[0] in wanted]
    if "post" in phases:
        for name, pg in backends:
            figures["load"][f"post_{name}"] = os.getloadavg()[0]
            schema = PostgresSchema(pg) if pg else None
            url = schema.__enter__() if schema else f"sqlite:///{tmp / 'post.db'}"
            try:
                figures[f"post_{name}"] = post_cases(models, url, args.port, args.rate, args.seconds)
            finally:
                if schema:
                    schema.__exit__()
            print(name, "POST /cases", figures[f"post_{name}"], flush=True)

    sqlite_store = f"sqlite:///{tmp / 'queue.db'}"
    for name, pg in backends:
        if "queue" not in phases and not (name == "SQLite" and "retrain" in phases):
            continue
        schema = PostgresSchema(pg) if pg else None
        url = schema.__enter__() if schema else sqlite_store
        try:
            print(name, "seeded", seed(url, args.n), flush=True)
            if "queue" in phases:
                figures["load"][f"queue_{name}"] = os.getloadavg()[0]
                figures[f"queue_{name}"] = queue_latency(models, url, args.port, args.queue_requests)
                for query, r in figures[f"queue_{name}"].items():
                    print(name, query, r, flush=True)
        finally:
            if schema:
                schema.__exit__()
    render(figures, args)

    if "retrain" in phases:
        figures["load"]["retrain"] = os.getloadavg()[0]
        code = f"from benchmarks.cases import retrain_child; retrain_child({sqlite_store!r}, {str(models)!r})"
        child = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
            check=True,
        )
        figures["retrain"] = json.loads(child.stdout.strip().splitlines()[-1])
        print("retrain", figures["retrain"], flush=True)
        render(figures, args)
    (tmp / "figures.json").write_text(json.dumps(figures, ensure_ascii=False, indent=2))
    print(f"figures in docs/benchmarks.md (raw: {tmp / 'figures.json'})")


if __name__ == "__main__":
    main()
