"""An open-loop HTTP load generator: a second process that sends requests at a steady rate.

Open loop (requests leave on schedule whether or not earlier ones have answered) so a slow server
shows up as latency instead of silently lowering the offered rate. Bounded in count and seconds.

    python -m benchmarks.load --url http://127.0.0.1:8000/classify --rate 200 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

import httpx

from training.bench import percentiles


async def _run(
    url: str,
    payloads: Sequence[dict[str, Any]],
    rate: float,
    seconds: float,
    headers: dict,
    unique: str | None = None,
) -> dict:
    total = int(rate * seconds)
    run_id = f"{time.time_ns():x}"
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(timeout=10.0, limits=limits, headers=headers) as client:

        async def one(i: int) -> None:
            nonlocal errors
            start = time.perf_counter()
            try:
                payload = payloads[i % len(payloads)]
                if unique:  # e.g. POST /cases is idempotent on external_id: make each request new
                    payload = {**payload, unique: f"{payload.get(unique, 'load')}-{run_id}-{i}"}
                r = await client.post(url, json=payload)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code >= 400:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append((time.perf_counter() - start) * 1000)

        begin = time.perf_counter()
        tasks = []
        for i in range(total):
            delay = begin + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - begin
    return {
        "requests": total,
        "offered_rate": rate,
        "achieved_rate": round(total / elapsed, 1),
        "errors": errors,
        "error_share": round(errors / max(total, 1), 4),
        "statuses": statuses,
        **percentiles(latencies or [0.0]),
    }


def run_load(
    url: str,
    payloads: Sequence[dict[str, Any]],
    rate: float,
    seconds: float,
    headers: dict | None = None,
    unique: str | None = None,
) -> dict:
    return asyncio.run(_run(url, payloads, rate, seconds, headers or {}, unique))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--payloads", required=True, help="JSON file: a list of request bodies")
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--header", action="append", default=[], help="Name: value")
    parser.add_argument("--unique-field", help="payload field made unique per request (e.g. external_id)")
    args = parser.parse_args()
    payloads = json.load(open(args.payloads, encoding="utf-8"))
    headers = dict(h.split(": ", 1) for h in args.header)
    print(json.dumps(run_load(args.url, payloads, args.rate, args.seconds, headers, args.unique_field)))


if __name__ == "__main__":
    main()
