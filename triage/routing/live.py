"""The routing engine a server process uses, reloaded when the table changes.

With a case store (the service) the table in force is the store's newest routing-table version:
every process on every host asks for the newest version id at most every `check_seconds` and
loads a new one when it appears; `replace_text` adds a version (with author and comment). An
empty store is seeded from the table file (`config/routing.yaml`); a newer file (a release with
fixed rules) replaces the seed at start only while nobody has edited the table: it never
replaces an admin's table.

Without a store (a command run on a table file), the file is the table: every process notices a
change within `check_seconds` by the file's inode and mtime, and `replace_text` writes a temporary
file and renames it over the old one.

Either way a new table is parsed and validated before it replaces the one in use, so a broken
edit leaves routing working and the error readable in `last_error`.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from triage.routing.engine import Routing, RoutingEngine
from triage.routing.table import RoutingTable, RoutingTableError, parse_table
from triage.store import routing_tables
from triage.store.engine import Store, StoreUnavailable
from triage.store.routing_tables import TableVersion
from triage.workdays import WorkCalendar

log = logging.getLogger("triage.routing")

SEED_AUTHOR = "seed"  # the author of a version taken from the table file, not decided by anyone


class LiveRoutingEngine:
    def __init__(
        self,
        path: str | Path,
        calendar: WorkCalendar | None = None,
        *,
        check_seconds: float = 1.0,
        clock: Callable[[], datetime] | None = None,
        store: Store | None = None,
    ) -> None:
        self.path = Path(path)
        self.calendar = calendar
        self.check_seconds = check_seconds
        self.clock = clock
        self.store = store
        self.last_error: str | None = None
        self.version: TableVersion | None = None  # with a store: the version being served
        self._engine: RoutingEngine | None = None
        self._stamp: tuple[int, int] | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self.refresh()

    # -- the engine in use --------------------------------------------------------------------

    @property
    def engine(self) -> RoutingEngine | None:
        if time.monotonic() - self._checked_at >= self.check_seconds:
            self.refresh()
        return self._engine

    @property
    def table(self) -> RoutingTable | None:
        engine = self.engine
        return engine.table if engine else None

    def expire(self) -> None:
        """Look at the store at the next use instead of after the interval (the store announced
        a change: triage/store/changes.py)."""
        self._checked_at = float("-inf")

    def route(self, *args: Any, **kwargs: Any) -> Routing:
        engine = self.engine
        if engine is None:
            raise RoutingTableError(self.last_error or "no routing table loaded", source=str(self.path))
        return engine.route(*args, **kwargs)

    def _stamp_now(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns)

    def refresh(self) -> None:
        if self.store is not None:
            self._refresh_from_store()
            return
        with self._lock:
            self._checked_at = time.monotonic()
            stamp = self._stamp_now()
            if stamp is not None and stamp == self._stamp:
                return
            self._stamp = stamp
            try:
                text = self.path.read_text(encoding="utf-8")
                self._engine = self._build(parse_table(text, source=str(self.path)))
                self.last_error = None
            except (OSError, UnicodeDecodeError, RoutingTableError) as exc:
                self.last_error = str(exc) if isinstance(exc, RoutingTableError) else f"{self.path}: {exc}"
                log.error("routing table not loaded, keeping the previous one: %s", self.last_error)

    def _refresh_from_store(self) -> None:
        """Serve the store's newest version (seeding an empty store from the file first)."""
        with self._lock:
            self._checked_at = time.monotonic()
            try:
                with self.store.session() as session:  # type: ignore[union-attr]
                    newest = routing_tables.latest_id(session)
                if newest is None:
                    newest = self._seed()
                elif self.version is None:  # at start: a newer seed file replaces an unedited seed
                    newest = self._reseed(newest)
                if self.version is not None and newest == self.version.id:
                    return
                with self.store.session() as session:  # type: ignore[union-attr]
                    version = routing_tables.get(session, newest)
            except (StoreUnavailable, SQLAlchemyError, OSError) as exc:
                self.last_error = f"routing table not refreshed from the store: {exc}"
                log.error("%s; keeping the table in use", self.last_error)
                if self._engine is None:
                    self._load_file_meanwhile()
                return
            if version is None:
                return
            try:
                self._engine = self._build(
                    parse_table(version.text, source=f"routing table version {version.id}")
                )
                self.version = version
                self.last_error = None
            except RoutingTableError as exc:  # only a hand-made row can be broken: keep what works
                self.version = version
                self.last_error = str(exc)
                log.error(
                    "routing table version %s not loaded, keeping the previous one: %s", version.id, exc
                )

    def _seed(self) -> int:
        """An empty store starts from the table file (validated: a broken file seeds nothing)."""
        text = self.path.read_text(encoding="utf-8")
        parse_table(text, source=str(self.path))
        with self.store.session(write=True) as session:  # type: ignore[union-attr]
            newest = routing_tables.latest_id(session)
            if newest is not None:  # another process seeded it first
                return newest
            return routing_tables.add(
                session, text, SEED_AUTHOR, f"seeded from {self.path.name}", audit=False
            ).id

    def _reseed(self, newest: int) -> int:
        """When nobody has edited the table (the store's newest version is a seed) and the seed
        file has changed since (a deployment of a newer release: fixed rules, a new category),
        the file becomes the new version; an admin's edit is never replaced. The newest id."""
        try:
            text = self.path.read_text(encoding="utf-8")
            parse_table(text, source=str(self.path))
        except (OSError, UnicodeDecodeError, RoutingTableError) as exc:
            log.warning("seed file not compared with the store's table: %s", exc)
            return newest
        with self.store.session(write=True) as session:  # type: ignore[union-attr]
            current = routing_tables.get(session, routing_tables.latest_id(session) or newest)
            if current is None or current.author != SEED_AUTHOR or current.text == text:
                return current.id if current is not None else newest
            log.info("routing table: the unedited seed is replaced by the newer %s", self.path.name)
            return routing_tables.add(
                session,
                text,
                SEED_AUTHOR,
                f"seeded again from {self.path.name} (not edited since)",
                audit=False,
            ).id

    def _load_file_meanwhile(self) -> None:
        """The store is down at start: route by the file until it answers, rather than not at all."""
        try:
            self._engine = self._build(
                parse_table(self.path.read_text(encoding="utf-8"), source=str(self.path))
            )
        except (OSError, UnicodeDecodeError, RoutingTableError) as exc:
            log.error("routing table file not loaded either: %s", exc)

    def text(self) -> str | None:
        """The source text of the table in force."""
        if self.store is not None:
            return self.version.text if self.version is not None else None
        try:
            return self.path.read_text(encoding="utf-8")
        except OSError:
            return None

    def _build(self, table: RoutingTable) -> RoutingEngine:
        return RoutingEngine(table, self.calendar, clock=self.clock)

    # -- replacing the table ------------------------------------------------------------------

    def validate(self, text: str, model_labels: Iterable[str] | None = None) -> RoutingTable:
        """Parse and check `text` (against the live model's labels when given); raises RoutingTableError."""
        table = parse_table(text, source="routing table")
        if model_labels is not None:
            table.check_labels(model_labels)
        return table

    def replace_text(
        self,
        text: str,
        model_labels: Iterable[str] | None = None,
        *,
        author: str | None = None,
        comment: str | None = None,
    ) -> RoutingTable:
        """Validate, store (a new version, or the file written atomically), then serve the new
        table; on any error nothing changes."""
        table = self.validate(text, model_labels)
        engine = self._build(table)
        if self.store is not None:
            with self._lock:
                with self.store.session(write=True) as session:
                    version = routing_tables.add(session, text, author, comment)
                self._engine, self.version = engine, version
                self._checked_at = time.monotonic()
                self.last_error = None
            return engine.table
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(text)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self._engine = engine
            self._stamp = self._stamp_now()
            self._checked_at = time.monotonic()
            self.last_error = None
        return engine.table
