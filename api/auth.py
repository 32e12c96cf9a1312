"""Who may call what: bearer API keys with roles platform, staff and admin.

One policy table names the roles allowed on each route, and one app-level dependency enforces it,
so routers written by anyone get authentication without knowing about it, and a route nobody
listed is admin-only rather than open. `/health`, the OpenAPI docs and the paths in
`app.state.public_paths` (the staff page's HTML and static files) stay open; the page then calls
the API with the key the clerk signed in with.

Keys are checked with scrypt (see triage.store.keys); a successful check is cached in memory for
`CACHE_SECONDS` under the SHA-256 of the key, so a revoked key stops working within that time.

A key in steady use is checked again ahead of its expiry: the first request that finds its entry
older than `CACHE_SECONDS - REFRESH_AHEAD_SECONDS` is answered from the cache and starts one
check in a background thread, which renews the entry (valid key) or drops it (revoked). Without
this, every 30 s the entry ran out and every request of that key waited for one scrypt (tens of
milliseconds): under load, a stall that alone pushed /classify's p99 past 50 ms. The promise is
unchanged: a renewed entry lasts `CACHE_SECONDS` from the check that renewed it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from fastapi import HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from triage.store.keys import Identity, verify_key

CACHE_SECONDS = 30.0
REFRESH_AHEAD_SECONDS = 10.0
log = logging.getLogger("triage.auth")

PLATFORM, STAFF, ADMIN = "platform", "staff", "admin"
READ = frozenset({"GET", "HEAD", "OPTIONS"})
ANY = None

# (methods or ANY, path template or prefix ending in "*", roles besides admin). First match wins.
POLICY: list[tuple[frozenset[str] | None, str, tuple[str, ...]]] = [
    (ANY, "/health", ("*",)),
    (frozenset({"POST"}), "/cases", (PLATFORM, STAFF)),
    (frozenset({"POST"}), "/classify", (PLATFORM,)),
    (frozenset({"POST"}), "/classify/batch", (PLATFORM,)),
    (ANY, "/cases*", (STAFF,)),
    (ANY, "/platform*", (PLATFORM,)),  # a platform's own cases only (api/routers/platform.py)
    (ANY, "/stats*", (STAFF,)),
    (ANY, "/draft*", (STAFF,)),
    (ANY, "/check*", (STAFF,)),
    (ANY, "/answers*", (STAFF,)),  # staff write and maintain the curated library
    (READ, "/topics*", (STAFF,)),
    (frozenset({"POST"}), "/duplicates/check", (STAFF,)),
    (ANY, "/admin*", ()),
    (ANY, "/models*", ()),
]


def allowed_roles(method: str, path: str) -> tuple[str, ...]:
    """Roles allowed on `method path` besides admin; ("*",) means open to everyone.

    `path` is the request's path ("/cases/12"); a pattern ending in "*" covers the path itself and
    everything under it ("/cases*" covers "/cases" and "/cases/12/reply", not "/casesx").
    """
    for methods, pattern, roles in POLICY:
        if methods is not None and method not in methods:
            continue
        if pattern.endswith("*"):
            stem = pattern[:-1]
            if path == stem or path.startswith(stem + "/"):
                return roles
        elif path == pattern:
            return roles
    return ()


class KeyCache:
    """Successful key checks by SHA-256 of the key: (identity, renew after, expires at)."""

    def __init__(self, seconds: float = CACHE_SECONDS, refresh_ahead: float = REFRESH_AHEAD_SECONDS) -> None:
        self.seconds = seconds
        self.refresh_ahead = min(refresh_ahead, seconds)
        self._items: dict[str, tuple[Identity, float, float]] = {}
        self._pending: dict[str, threading.Lock] = {}
        self._renewing: set[str] = set()
        self._lock = threading.Lock()

    def get(self, digest: str) -> Identity | None:
        with self._lock:
            hit = self._items.get(digest)
            if hit is None or hit[2] < time.monotonic():
                self._items.pop(digest, None)
                return None
            return hit[0]

    def put(self, digest: str, identity: Identity) -> None:
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            now = time.monotonic()
            self._items[digest] = (identity, now + self.seconds - self.refresh_ahead, now + self.seconds)
            self._renewing.discard(digest)

    def claim_renewal(self, digest: str) -> bool:
        """True once per entry that is due for renewal: the caller starts the check."""
        with self._lock:
            hit = self._items.get(digest)
            if hit is None or hit[1] > time.monotonic() or digest in self._renewing:
                return False
            self._renewing.add(digest)
            return True

    def renewal_failed(self, digest: str) -> None:
        """The check could not run (e.g. the database is down): the entry runs out as usual."""
        with self._lock:
            self._renewing.discard(digest)

    def discard(self, digest: str) -> None:
        with self._lock:
            self._items.pop(digest, None)
            self._renewing.discard(digest)

    def verifying(self, digest: str) -> threading.Lock:
        with self._lock:
            if len(self._pending) > 1000:
                self._pending.clear()
            return self._pending.setdefault(digest, threading.Lock())

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._renewing.clear()


def _verify(store, token: str) -> Identity | None:
    """The key's identity from the store (one scrypt and a read), None when unknown or revoked."""
    with store.session() as session:
        return verify_key(session, token)


_renewals = ThreadPoolExecutor(max_workers=1, thread_name_prefix="key-renewal")


def _renew(store, cache: KeyCache, digest: str, token: str) -> None:
    """Check a cached key again off the request path; drop it when it was revoked."""
    try:
        identity = _verify(store, token)
    except Exception as exc:  # noqa: BLE001 - the entry then expires at its usual time
        log.warning("could not re-check a cached API key: %s", exc)
        cache.renewal_failed(digest)
        return
    if identity is None:
        cache.discard(digest)
    else:
        cache.put(digest, identity)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing API key: send 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "malformed Authorization header: use 'Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def authenticate(request: Request) -> Identity:
    """The caller's identity from the bearer key (cached per request and for a short time)."""
    identity = _cached_identity(request)
    if identity is not None:
        return identity
    token = _bearer(request)
    digest = _digest(token)
    cache: KeyCache = request.app.state.key_cache
    with cache.verifying(digest):  # a burst with a new key pays for one scrypt, not one each
        identity = cache.get(digest)
        if identity is None:
            identity = _verify(request.app.state.store, token)
            if identity is None:
                raise HTTPException(
                    status.HTTP_401_UNAUTHORIZED,
                    "invalid or revoked API key",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            cache.put(digest, identity)
    request.state.identity = identity
    return identity


def _check(identity: Identity, roles: tuple[str, ...], what: str) -> None:
    if identity.role != ADMIN and identity.role not in roles:
        need = " or ".join((*roles, ADMIN))
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"a {identity.role} key may not {what}; this needs a {need} key"
        )


def require_role(*roles: str) -> Callable[[Request], Identity]:
    """A dependency admitting the given roles (admin always); 401 without a valid key, 403 otherwise."""

    def dependency(request: Request) -> Identity:
        identity = authenticate(request)
        _check(identity, roles, f"call {request.method} {request.url.path}")
        return identity

    return dependency


async def authorize(request: Request) -> None:
    """The app-wide check: looks up the request's path in POLICY (patterns match concrete paths).

    Async so a key found in the cache is checked on the event loop: as a plain `def`, FastAPI
    ran it in a worker thread on every request, which cost more CPU than the check itself
    (about 0.4 ms per /classify). Only a cache miss (scrypt and a database read) goes to a thread.
    """
    path = request.scope.get("path") or request.url.path
    if path in getattr(request.app.state, "public_paths", ()) or any(
        path.startswith(p.rstrip("*"))
        for p in getattr(request.app.state, "public_paths", ())
        if p.endswith("*")
    ):
        return
    roles = allowed_roles(request.method, path)
    if roles == ("*",):
        return
    identity = _cached_identity(request) or await run_in_threadpool(authenticate, request)
    _check(identity, roles, f"call {request.method} {path}")


def _cached_identity(request: Request) -> Identity | None:
    """The caller's identity when this request or the key cache already has it; else None."""
    identity = getattr(request.state, "identity", None)
    if identity is None:
        token = _bearer(request)
        digest = _digest(token)
        cache: KeyCache = request.app.state.key_cache
        identity = cache.get(digest)
        if identity is not None:
            request.state.identity = identity
            if cache.claim_renewal(digest):
                _renewals.submit(_renew, request.app.state.store, cache, digest, token)
    return identity


def actor(request: Request) -> str | None:
    identity = getattr(request.state, "identity", None)
    return identity.actor if identity else None
