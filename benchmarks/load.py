"""An open-loop HTTP load generator: a second process that sends requests at a steady rate.

Open loop (requests leave on schedule whether or not earlier ones have answered) so a slow server
shows up as latency instead of silently lowering the offered rate. Bounded in count and seconds.

    python -m benchmarks.load --url http://127.0.0.1:8000/classify --rate 200 --seconds 10 [--client raw]

The load generator shares the machine's two cores with the server, so its own cost is part of
what the server is measured against. httpx's AsyncClient spends ~2 ms of CPU per request (as
much as a /classify call itself), which at 300 req/s took more than half a core from the server.
The default client (`raw`) is a minimal keep-alive HTTP/1.1 client on asyncio protocols
(uvloop): requests built once as bytes, responses read by Content-Length, ~0.1 ms per request.
It understands only what the benchmarks need (POST, JSON bodies, Content-Length framing); a
response it cannot frame counts as an error. `--client httpx` keeps the old client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from training.bench import percentiles

CLIENTS = ("raw", "httpx")
MAX_CONNECTIONS = 256
TIMEOUT_SECONDS = 10.0


class FramingError(ConnectionError):
    """A response without the Content-Length framing the raw client reads."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, its response framed by Content-Length."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.status = 0
        self.end: int | None = None  # where the current response ends in the buffer
        self.reusable = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is not None and not self.waiter.done():
            try:
                self._frame()
            except (FramingError, ValueError, IndexError) as exc:
                self.reusable = False
                self.waiter.set_exception(FramingError(f"cannot read the response: {exc}"))

    def _frame(self) -> None:
        if self.end is None:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            lines = bytes(self.buffer[:head_end]).decode("latin-1").split("\r\n")
            self.status = int(lines[0].split(" ", 2)[1])
            length = None
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "connection" and value.strip().lower() == "close":
                    self.reusable = False
            if length is None:
                raise FramingError("no Content-Length")
            self.end = head_end + 4 + length
        if len(self.buffer) >= self.end:
            del self.buffer[: self.end]
            self.end = None
            assert self.waiter is not None
            self.waiter.set_result(self.status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection closed: {exc}"))

    async def send(self, request: bytes) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


class RawClient:
    """POSTs over a pool of at most `max_connections` keep-alive connections to one host."""

    def __init__(self, url: str, headers: dict[str, str], max_connections: int = MAX_CONNECTIONS) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\n{extra}Content-Length: "
        ).encode("latin-1")
        self.idle: list[_Connection] = []
        self.slots = asyncio.Semaphore(max_connections)

    def request(self, body: bytes) -> bytes:
        return self.head + str(len(body)).encode() + b"\r\n\r\n" + body

    async def post(self, request: bytes) -> int:
        async with self.slots:
            conn = self._idle_connection() or await self._connect()
            try:
                status = await conn.send(request)
            except BaseException:
                conn.reusable = False
                raise
            finally:
                if not conn.reusable and conn.transport is not None:
                    conn.transport.close()
            if conn.reusable:
                self.idle.append(conn)
            return status

    def _idle_connection(self) -> _Connection | None:
        """An open idle connection; ones the server closed meanwhile (keep-alive timeout) are dropped."""
        while self.idle:
            conn = self.idle.pop()
            if conn.reusable and conn.transport is not None and not conn.transport.is_closing():
                return conn
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(_Connection, self.host, self.port)
        return conn

    def close(self) -> None:
        for conn in self.idle:
            if conn.transport is not None:
                conn.transport.close()
        self.idle.clear()


def _body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


async def _run(
    url: str,
    payloads: Sequence[dict[str, Any]],
    rate: float,
    seconds: float,
    headers: dict,
    unique: str | None = None,
    client: str = "raw",
) -> dict:
    if client not in CLIENTS:
        raise ValueError(f"client must be one of {CLIENTS}, not {client!r}")
    total = int(rate * seconds)
    run_id = f"{time.time_ns():x}"

    def payload(i: int) -> dict[str, Any]:
        p = payloads[i % len(payloads)]
        if unique:  # e.g. POST /cases is idempotent on external_id: make each request new
            p = {**p, unique: f"{p.get(unique, 'load')}-{run_id}-{i}"}
        return p

    if client == "raw":
        raw = RawClient(url, headers)
        bodies = {} if unique else {i: raw.request(_body(p)) for i, p in enumerate(payloads)}

        async def post(i: int) -> int:
            request = bodies.get(i % len(payloads)) if not unique else None
            return await raw.post(request or raw.request(_body(payload(i))))

        try:
            return await _schedule(post, total, rate)
        finally:
            raw.close()
    limits = httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS)
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, limits=limits, headers=headers) as session:

        async def post_httpx(i: int) -> int:
            return (await session.post(url, json=payload(i))).status_code

        return await _schedule(post_httpx, total, rate)


async def offer_open_loop(one: Callable[[int], Awaitable[None]], total: int, rate: float) -> float:
    """Start `one(i)` on schedule, `rate` a second, whether or not earlier calls have answered.

    Open loop, so an overloaded server shows as latency and errors, not as a quietly lower rate.
    Returns the seconds from the first start until the last call finished.
    """
    begin = time.perf_counter()
    tasks = []
    for i in range(total):
        delay = begin + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    return time.perf_counter() - begin


async def _schedule(post: Callable[[int], Awaitable[int]], total: int, rate: float) -> dict:
    """Start request i at i / rate seconds, whatever the earlier ones are doing."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0

    async def one(i: int) -> None:
        nonlocal errors
        start = time.perf_counter()
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                code = await post(i)
            statuses[code] = statuses.get(code, 0) + 1
            if code >= 400:
                errors += 1
        except (OSError, TimeoutError, httpx.HTTPError):
            errors += 1
        latencies.append((time.perf_counter() - start) * 1000)

    elapsed = await offer_open_loop(one, total, rate)
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
    client: str = "raw",
) -> dict:
    return _event_loop_run(_run(url, payloads, rate, seconds, headers or {}, unique, client))


def run_closed_loop(
    url: str,
    payloads: Sequence[dict[str, Any]],
    concurrency: int,
    seconds: float,
    headers: dict | None = None,
    unique: str | None = None,
) -> dict:
    """Throughput: `concurrency` clients, each sending its next request as soon as the last one
    answered, for `seconds`. Closed loop, so the rate is what the server sustains."""
    return _event_loop_run(_closed(url, payloads, concurrency, seconds, headers or {}, unique))


async def _closed(
    url: str,
    payloads: Sequence[dict[str, Any]],
    concurrency: int,
    seconds: float,
    headers: dict,
    unique: str | None,
) -> dict:
    raw = RawClient(url, headers, max_connections=concurrency)
    run_id = f"{time.time_ns():x}"
    latencies: list[float] = []
    errors = 0
    sent = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal errors, sent
        while time.perf_counter() < deadline:
            i = sent
            sent += 1
            p = payloads[i % len(payloads)]
            if unique:
                p = {**p, unique: f"{p.get(unique, 'load')}-{run_id}-{i}"}
            start = time.perf_counter()
            try:
                async with asyncio.timeout(TIMEOUT_SECONDS):
                    code = await raw.post(raw.request(_body(p)))
                errors += code >= 400
            except (OSError, TimeoutError):
                errors += 1
            latencies.append((time.perf_counter() - start) * 1000)

    begin = time.perf_counter()
    try:
        await asyncio.gather(*(client() for _ in range(concurrency)))
    finally:
        raw.close()
    elapsed = time.perf_counter() - begin
    return {
        "requests": sent,
        "rate": round(sent / elapsed, 1),
        "errors": errors,
        "concurrency": concurrency,
        **percentiles(latencies or [0.0]),
    }


def _event_loop_run(coro: Awaitable[dict]) -> dict:
    """On uvloop when installed (cheaper per request, like the server's own loop)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)  # type: ignore[arg-type]
    return uvloop.run(coro)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--payloads", required=True, help="JSON file: a list of request bodies")
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--header", action="append", default=[], help="Name: value")
    parser.add_argument("--unique-field", help="payload field made unique per request (e.g. external_id)")
    parser.add_argument("--client", choices=CLIENTS, default="raw", help="HTTP client (default raw)")
    args = parser.parse_args()
    payloads = json.load(open(args.payloads, encoding="utf-8"))
    headers = dict(h.split(": ", 1) for h in args.header)
    print(
        json.dumps(
            run_load(args.url, payloads, args.rate, args.seconds, headers, args.unique_field, args.client)
        )
    )


if __name__ == "__main__":
    main()
