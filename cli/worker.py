"""`triage worker`: runs the jobs (retraining) that servers queue in the case store.

Run one or more on any host that reaches the store and the models folder (`make run` starts one
beside the server). A worker that is killed mid-job stops renewing its lease; the job is marked
failed once the lease runs out, and the live model is never changed half-way.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from cli.common import settings
from training.jobs import Worker
from training.retrain_job import handlers
from triage.store.engine import Store, StoreUnavailable


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("worker", help="run queued jobs (retraining) from the case store")
    p.add_argument("--once", action="store_true", help="run the jobs waiting now, then exit")
    p.add_argument("--poll", type=float, default=1.0, help="seconds between looks for new jobs")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cli import CommandError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = settings()
    store = Store(config.database_url)
    try:
        store.ensure_schema()
    except StoreUnavailable as exc:
        raise CommandError(str(exc)) from None
    worker = Worker(store, handlers(store, config), lease_seconds=config.job_lease_seconds)
    if args.once:
        ran = 0
        while worker.run_once() is not None:
            ran += 1
        print(f"ran {ran} job(s)")
        return 0
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"worker {worker.owner} on {store.safe_url()}: waiting for jobs", flush=True)
    worker.run_forever(args.poll, stop)
    return 0
