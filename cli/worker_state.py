"""State the workers of `triage serve --workers N` share on this host: metrics and rate limits.

A fresh folder per run, owned by the serving process and removed when it stops: prometheus_client
requires its multiprocess folder to be empty at start (old files would be summed into the new
run's counts), and the rate-limit slots of a previous run mean nothing to this one. The variables
are set before the workers are spawned, so each worker's prometheus_client picks multiprocess
mode at import and `api.ratelimit` opens the shared bucket file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

VARIABLES = ("PROMETHEUS_MULTIPROC_DIR", "TRIAGE_RATE_LIMIT_FILE", "TRIAGE_SERVE_WORKERS")


@contextmanager
def shared_worker_state(workers: int) -> Iterator[Path]:
    """Set `PROMETHEUS_MULTIPROC_DIR` and `TRIAGE_RATE_LIMIT_FILE` to a new folder for the block,
    and `TRIAGE_SERVE_WORKERS` to how many workers share the port."""
    root = Path(tempfile.mkdtemp(prefix="triage-workers-"))
    metrics = root / "metrics"
    metrics.mkdir()
    previous = {name: os.environ.get(name) for name in VARIABLES}
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    os.environ["TRIAGE_RATE_LIMIT_FILE"] = str(root / "ratelimit.slots")
    os.environ["TRIAGE_SERVE_WORKERS"] = str(workers)
    try:
        yield root
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(root, ignore_errors=True)
