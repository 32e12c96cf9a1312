"""A local cache catching up with rows the case store gained: the read-through mark and its rule.

A cache on one host's disk (the drafting history, the duplicate index) learns from rows that
other processes and hosts write. It remembers, beside itself, the time it has read through and
which store that was; each look reads again from `OVERLAP` before that mark, because a row's time
is set before its transaction commits (on PostgreSQL a transaction that commits late can carry an
earlier time than rows already read). Applying a row twice must be harmless: the caches skip ids
they hold. A cache with no mark, or a mark from another store, reads everything.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from triage.atomic import write_atomic
from triage.store.engine import Store, StoreUnavailable

log = logging.getLogger("triage.feed")

OVERLAP = timedelta(minutes=10)
PAGE = 5000


class CatchUp(ABC):
    """A local cache of what the store holds, remembered in `state_path` for this store
    (`identity`; None for a cache that keeps its mark in the store); it looks for news at most
    every `check_seconds`."""

    def __init__(self, store: Store, state_path: Path | None, check_seconds: float = 1.0) -> None:
        self.store = store
        self.state_path = Path(state_path) if state_path is not None else None
        self.check_seconds = check_seconds
        self.identity = hashlib.sha256(store.safe_url().encode()).hexdigest()[:16]
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    @abstractmethod
    def catch_up(self) -> int:
        """Apply what the cache lacks; how many rows were new."""

    def maybe_catch_up(self) -> int:
        """`catch_up` at most every `check_seconds`; a look already under way is not waited for."""
        if time.monotonic() - self._checked_at < self.check_seconds:
            return 0
        if not self._lock.acquire(blocking=False):
            return 0
        try:
            self._checked_at = time.monotonic()
            return self.catch_up()
        finally:
            self._lock.release()

    def expire(self) -> None:
        """Look at the store at the next use instead of after the interval (the store announced
        a change: triage/store/changes.py)."""
        self._checked_at = float("-inf")


class StoreFeed(CatchUp):
    """Subclasses say which rows to read (`fetch`), their time (`stamp`) and how to apply them."""

    name = "cache"

    @abstractmethod
    def fetch(self, session: Session, since: datetime | None, limit: int) -> Sequence[Any]:
        """Rows stamped at or after `since` (all when None), oldest first, at most `limit`."""

    @abstractmethod
    def stamp(self, row: Any) -> datetime: ...

    @abstractmethod
    def apply(self, rows: Sequence[Any]) -> int:
        """Put the rows into the cache (skipping those it holds); how many were new."""

    def settle(self) -> None:
        """After a look that added rows: whatever the cache does once rather than per page
        (the drafting history merges its index once, not after every page of a rebuild)."""

    def read_through(self) -> datetime | None:
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
            if state.get("store") == self.identity:
                return datetime.fromisoformat(state["read_through"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
        return None

    def _mark(self, through: datetime) -> None:
        payload = json.dumps({"store": self.identity, "read_through": through.isoformat()}).encode("utf-8")
        write_atomic(self.state_path, lambda fh: fh.write(payload))

    def catch_up(self) -> int:
        """Apply what the cache lacks; returns how many rows were new. A store that does not
        answer is logged and tried again at the next look."""
        through = self.read_through()
        since = None if through is None else through - OVERLAP
        added = 0
        try:
            while True:
                with self.store.session() as session:
                    page = self.fetch(session, since, PAGE)
                if not page:
                    break
                added += self.apply(page)
                newest = self.stamp(page[-1])
                if through is None or newest > through:
                    through = newest
                    self._mark(through)
                if len(page) < PAGE or since == newest:
                    break
                since = newest
        except (StoreUnavailable, SQLAlchemyError) as exc:
            log.warning("%s not caught up with the store: %s", self.name, exc)
        if added:
            self.settle()
            log.info("%s: %d rows added from the store", self.name, added)
        return added
