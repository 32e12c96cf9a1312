"""Start and stop a real uvicorn server in a child process for HTTP benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx


def start_server(
    models_dir: Path,
    port: int,
    workers: int = 1,
    extra_env: dict | None = None,
    *,
    database_url: str | None = None,
    log_file=None,
    log_level: str = "warning",
    cwd: Path | None = None,
) -> tuple[str, subprocess.Popen]:
    """`triage serve` on 127.0.0.1:`port`, once `/health` answers 200: its URL and process.

    The server and its workers are a process group of their own (`stop_server` ends them all;
    `kill_server` is a power cut for all of them). `database_url` is the case store (default:
    TRIAGE_DATABASE_URL from the environment); `log_file` (an open file) gets stdout+stderr;
    `cwd` is the checkout whose code serves (default: this one).
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
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT if log_file else None,
        start_new_session=True,
        cwd=cwd,
    )
    try:
        deadline = time.time() + 90
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
            raise RuntimeError("server did not become healthy in 90 s")
    except BaseException:
        stop_server(proc)
        raise
    return f"http://127.0.0.1:{port}", proc


def stop_server(proc: subprocess.Popen) -> None:
    """SIGTERM to the server's group (its workers finish their requests and save), SIGKILL after 15 s."""
    _signal_group(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        kill_server(proc)


def kill_server(proc: subprocess.Popen) -> None:
    """SIGKILL to the server and every worker it started: nothing runs a cleanup handler."""
    _signal_group(proc, signal.SIGKILL)
    proc.wait(timeout=30)


def group_rss_mb(proc: subprocess.Popen) -> float:
    """Resident memory of the server and all its workers (its process group), in MB (Linux)."""
    total_kb = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            pgrp = int(stat[stat.rindex(")") + 2 :].split()[2])
            if pgrp != proc.pid:
                continue
            status = (entry / "status").read_text()
        except (OSError, ValueError):
            continue  # gone meanwhile, or not ours to read
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


@contextmanager
def running_server(models_dir: Path, port: int, workers: int = 1, extra_env: dict | None = None, **options):
    """Serve on 127.0.0.1:`port` until the block ends (`start_server`, with the same options)."""
    url, proc = start_server(models_dir, port, workers, extra_env, **options)
    try:
        yield url, proc
    finally:
        stop_server(proc)
