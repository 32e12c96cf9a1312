"""Per-key rate limiting: a token bucket per API key (per client address without one).

The bucket is keyed by the key's database id when the key has already been verified (api.auth
caches verified keys under the SHA-256 of the token), so a platform cannot dodge its limit by
spreading requests over connections, and a stranger sending made-up keys cannot drain a real
key's bucket: unverified tokens count against the sender's address instead.

Buckets live in each worker process: with N workers behind one port a key gets up to N times
the configured rate. That is acceptable for a limit whose job is to stop a runaway client, not
to meter billing; the 429 says how long to wait.
"""

from __future__ import annotations

import hashlib
import json
import math
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
        self, app: ASGIApp, *, rate: float, burst: int, exempt: frozenset[str] = frozenset()
    ) -> None:
        self.app = app
        self.limiter = RateLimiter(rate, burst) if rate > 0 else None
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
