"""Per-key rate limiting: a token bucket per API key (per client address without one).

The bucket is keyed by the key's database id when the key has already been verified (api.auth
caches verified keys under the SHA-256 of the token), so a platform cannot dodge its limit by
spreading requests over connections, and a stranger sending made-up keys cannot drain a real
key's bucket: unverified tokens count against the sender's address instead.

One process keeps its buckets in a dict. With several workers (`triage serve --workers N`)
`TRIAGE_RATE_LIMIT_FILE` names a file of fixed slots that every worker on the host maps into
memory (`SharedRateLimiter`), so a key gets its rate once, not N times: a key hashes to a group
of slots, and the group's bytes are locked with `fcntl.lockf` (a POSIX record lock: other groups
stay free) while its bucket is read, refilled, taken from and written back. That costs a few
microseconds per request (docs/reliability.md, section 5).

Across hosts neither is enough: with `TRIAGE_REDIS_URL` set, `RedisRateLimiter` keeps one budget
per key in Redis through the maintained `limits` library (a sliding-window counter: `burst`
requests per `burst / rate` seconds), so every worker of every host draws on the same budget.
"""

from __future__ import annotations

import fcntl
import hashlib
import inspect
import json
import logging
import math
import mmap
import os
import struct
import threading
import time

from starlette.types import ASGIApp, Receive, Scope, Send

MAX_BUCKETS = 50_000


class TokenBucket:
    """`rate` tokens per second up to `burst`; plain object so it can be tested on its own."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = now

    def take(self, now: float) -> float:
        """0 when a token was taken, else the seconds until one is available."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def full(self, now: float) -> bool:
        return self.tokens + (now - self.stamp) * self.rate >= self.burst


class RateLimiter:
    def __init__(self, rate: float, burst: int, clock=time.monotonic) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self.clock = clock
        self.buckets: dict[str, TokenBucket] = {}

    def check(self, key: str) -> float:
        """0 if `key` may go ahead now, else the seconds it has to wait."""
        now = self.clock()
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= MAX_BUCKETS:
                self._prune(now)
            bucket = self.buckets[key] = TokenBucket(self.rate, self.burst, now)
        return bucket.take(now)

    def _prune(self, now: float) -> None:
        """Forget buckets that have refilled (they behave exactly like new ones)."""
        self.buckets = {k: b for k, b in self.buckets.items() if not b.full(now)}
        if len(self.buckets) >= MAX_BUCKETS:  # all busy: a flood of addresses; start over
            self.buckets.clear()


# One slot: the key's 64-bit hash (0 = empty), its tokens, and when they were counted (monotonic
# clock: one per host, shared by all processes). A group of slots is what one lock covers.
_SLOT = struct.Struct("<Qdd")
SLOTS_PER_GROUP = 8
GROUPS = 8192  # 65,536 slots, 1.5 MB
_GROUP = struct.Struct("<" + "Qdd" * SLOTS_PER_GROUP)
_GROUP_BYTES = _GROUP.size
_PROCESS_LOCK = threading.Lock()  # POSIX record locks do not exclude threads of one process


class SharedRateLimiter:
    """Token buckets in a memory-mapped file, shared by every process on the host that opens it.

    Same contract as `RateLimiter.check`. When all slots of a key's group hold other keys'
    buckets, the one counted longest ago is reused (the key starts with a full bucket, as
    `RateLimiter` does when its table overflows).
    """

    def __init__(self, path: str | os.PathLike, rate: float, burst: int, clock=time.monotonic) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self.clock = clock
        self.path = os.fspath(path)
        size = GROUPS * _GROUP_BYTES
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < size:
            os.ftruncate(self._fd, size)  # zeros: every slot empty; a second worker doing it too is harmless
        self._map = mmap.mmap(self._fd, size)

    @staticmethod
    def _hash(key: str) -> int:
        return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") or 1

    def check(self, key: str) -> float:
        """0 if `key` may go ahead now, else the seconds it has to wait."""
        h = self._hash(key)
        offset = (h % GROUPS) * _GROUP_BYTES
        with _PROCESS_LOCK:
            fcntl.lockf(self._fd, fcntl.LOCK_EX, _GROUP_BYTES, offset)
            try:
                now = self.clock()
                fields = _GROUP.unpack_from(self._map, offset)
                slot, tokens, stamp = self._find(fields, h)
                tokens = (
                    min(self.burst, tokens + (now - stamp) * self.rate) if stamp is not None else self.burst
                )
                wait = 0.0
                if tokens >= 1.0:
                    tokens -= 1.0
                else:
                    wait = (1.0 - tokens) / self.rate
                _SLOT.pack_into(self._map, offset + slot * _SLOT.size, h, tokens, now)
                return wait
            finally:
                fcntl.lockf(self._fd, fcntl.LOCK_UN, _GROUP_BYTES, offset)

    @staticmethod
    def _find(fields: tuple, h: int) -> tuple[int, float, float | None]:
        """(slot, tokens, stamp) of `h`'s bucket; stamp None for a slot taken afresh."""
        free = oldest = None
        for i in range(SLOTS_PER_GROUP):
            slot_hash, tokens, stamp = fields[3 * i : 3 * i + 3]
            if slot_hash == h:
                return i, tokens, stamp
            if slot_hash == 0:
                if free is None:
                    free = i
            elif oldest is None or stamp < fields[3 * oldest + 2]:
                oldest = i
        return (free if free is not None else oldest), 0.0, None

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)


log = logging.getLogger("triage.ratelimit")


class RedisRateLimiter:
    """One budget per key across hosts, kept in Redis by the `limits` library.

    Same contract as `RateLimiter.check`, but awaitable: the counter lives one network round
    trip away and the event loop must not wait on it. When Redis does not answer, requests go
    ahead (a rate limit is a guard, not a gate: an outage of it must not stop the hotline) and
    the failure is logged at most once every `WARN_EVERY` seconds.
    """

    WARN_EVERY = 60.0

    def __init__(self, url: str, rate: float, burst: int, clock=time.monotonic) -> None:
        from limits import RateLimitItemPerSecond
        from limits.aio.strategies import SlidingWindowCounterRateLimiter
        from limits.storage import storage_from_string

        self.rate = rate
        self.burst = max(1, burst)
        self.clock = clock
        scheme_url = url if url.startswith("async+") else "async+" + url
        self._storage = storage_from_string(scheme_url, implementation="redispy", key_prefix="triage")
        self._strategy = SlidingWindowCounterRateLimiter(self._storage)
        self._item = RateLimitItemPerSecond(self.burst, max(1, math.ceil(self.burst / rate)))
        self._warned_at: float | None = None

    async def check(self, key: str) -> float:
        """0 if `key` may go ahead now, else the seconds it has to wait."""
        try:
            if await self._strategy.hit(self._item, key):
                return 0.0
            stats = await self._strategy.get_window_stats(self._item, key)
            return max(stats.reset_time - time.time(), 1.0 / self.rate)
        except Exception as exc:  # noqa: BLE001 - any storage failure: let the request through
            now = self.clock()
            if self._warned_at is None or now - self._warned_at >= self.WARN_EVERY:
                self._warned_at = now
                log.warning("rate limit store unreachable, requests are not limited: %s", exc)
            return 0.0


Limiter = RateLimiter | SharedRateLimiter | RedisRateLimiter


def make_limiter(rate: float, burst: int, redis_url: str | None = None) -> Limiter | None:
    """Redis when configured (one budget across hosts); else shared buckets when `triage serve`
    named a file for its workers; else this process's own."""
    if rate <= 0:
        return None
    if redis_url:
        return RedisRateLimiter(redis_url, rate, burst)
    path = os.environ.get("TRIAGE_RATE_LIMIT_FILE")
    return SharedRateLimiter(path, rate, burst) if path else RateLimiter(rate, burst)


def _bearer_digest(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            token = token.strip()
            if scheme.lower() == b"bearer" and token:
                return hashlib.sha256(token).hexdigest()
            return None
    return None


class RateLimitMiddleware:
    """Answers 429 with Retry-After once a key (or address) has used up its bucket."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        rate: float,
        burst: int,
        exempt: frozenset[str] = frozenset(),
        redis_url: str | None = None,
    ) -> None:
        self.app = app
        self.limiter = make_limiter(rate, burst, redis_url)
        self.exempt = exempt

    def key_of(self, scope: Scope) -> tuple[str, str]:
        """(bucket key, how the 429 names the caller)."""
        digest = _bearer_digest(scope)
        if digest is not None:
            cache = getattr(scope["app"].state, "key_cache", None) if "app" in scope else None
            identity = cache.get(digest) if cache is not None else None
            if identity is not None:
                return f"key:{identity.key_id}", f"API key {identity.name!r}"
        client = scope.get("client")
        address = client[0] if client else "unknown"
        return f"ip:{address}", f"client {address}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.limiter is None or scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        key, who = self.key_of(scope)
        wait = self.limiter.check(key)
        if inspect.isawaitable(wait):
            wait = await wait
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        retry = max(1, math.ceil(wait))
        detail = (
            f"rate limit exceeded for {who}: {self.limiter.rate:g} requests per second with bursts "
            f"of {self.limiter.burst}; retry after {retry} s"
        )
        body = json.dumps({"detail": detail}, ensure_ascii=False).encode("utf-8")
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(retry).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
