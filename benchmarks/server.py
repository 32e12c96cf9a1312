"""Start and stop a real uvicorn server in a child process for HTTP benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx


@contextmanager
def running_server(
    models_dir: Path,
    port: int,
    workers: int = 1,
    extra_env: dict | None = None,
    *,
    database_url: str | None = None,
    log_file=None,
    log_level: str = "warning",
):
    """Serve on 127.0.0.1:`port` until the block ends; `log_file` (an open file) gets stdout+stderr.

    `database_url` is the case store (default: TRIAGE_DATABASE_URL from the environment).
    """
    # TRIAGE_GC_FREEZE as in production, even when the caller (the test suite) turned it off
    env = {
        **os.environ,
        "TRIAGE_MODELS_DIR": str(models_dir),
        "OMP_NUM_THREADS": "1",
        "TRIAGE_GC_FREEZE": "1",
        **(extra_env or {}),
    }
    if database_url:
        env["TRIAGE_DATABASE_URL"] = database_url
    # `triage serve`, as in production: its shared socket keeps TCP_NODELAY with several workers
    cmd = [
        sys.executable,
        "-m",
        "cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        log_level,
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT if log_file else None)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with status {proc.returncode} before becoming healthy")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError("server did not become healthy in 60 s")
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
