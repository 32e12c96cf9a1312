"""CPU cost of what several workers share: rate-limit buckets, multiprocess metrics, history checks.

`python -m benchmarks.worker_state_cost` prints CPU microseconds per call (time.process_time, so
other load on the machine inflates the figures less than wall time would). Each part runs in a
child process because prometheus_client picks multiprocess mode once, at import.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable


def per_call_us(fn: Callable[[], object], n: int) -> float:
    start = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - start) / n * 1e6


def limiter() -> None:
    from api.ratelimit import RateLimiter, SharedRateLimiter

    keys = [f"ip:10.0.{i // 256}.{i % 256}" for i in range(5000)]
    path = os.path.join(tempfile.mkdtemp(), "ratelimit.slots")
    for name, lim in (
        ("per-process dict", RateLimiter(1e9, 10**9)),
        ("shared file", SharedRateLimiter(path, 1e9, 10**9)),
    ):
        one = per_call_us(lambda lim=lim: lim.check("key:17"), 200_000)
        counter = iter(range(10**9))
        many = per_call_us(lambda lim=lim, c=counter: lim.check(keys[next(c) % len(keys)]), 200_000)
        print(f"rate limiter, {name}: {one:.1f} µs per check (one key), {many:.1f} µs (5,000 keys)")


def metrics() -> None:
    from fastapi import FastAPI

    from api.metrics import Metrics, multiprocess_dir

    m = Metrics(FastAPI())
    cost = per_call_us(lambda: m.observe_request("POST", "/classify", 200, 0.004), 100_000)
    print(f"metrics, {'multiprocess' if multiprocess_dir() else 'one process'}: {cost:.1f} µs per request")


def history() -> None:
    from triage.retrieval.history import HistoryIndex, HistoryItem

    folder = tempfile.mkdtemp()
    a, b = HistoryIndex(folder, check_seconds=0), HistoryIndex(folder, check_seconds=0)
    a.add_history(
        HistoryItem(id=f"x{i}", text=f"小区电梯故障第{i}次 物业不修", reply="已督促维修", department="住建局")
        for i in range(3000)
    )
    b.refresh()
    check = per_call_us(b.refresh, 20_000)
    t0 = time.perf_counter()
    a.add_history([HistoryItem(id="new", text="充电桩私拉电线", reply="已拆除", department="住建局")])
    t1 = time.perf_counter()
    b.refresh()
    t2 = time.perf_counter()
    print(
        f"history ({len(b)} cases): change check {check:.1f} µs; adding one case {1000 * (t1 - t0):.1f} ms; "
        f"another instance reading it {1000 * (t2 - t1):.2f} ms"
    )


def main() -> None:
    if len(sys.argv) > 1:
        {"limiter": limiter, "metrics": metrics, "history": history}[sys.argv[1]]()
        return
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    run = [sys.executable, "-m", "benchmarks.worker_state_cost"]
    for part in ("limiter", "metrics", "history"):
        subprocess.run([*run, part], env=env, check=True)
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([*run, "metrics"], env={**env, "PROMETHEUS_MULTIPROC_DIR": folder}, check=True)


if __name__ == "__main__":
    main()
