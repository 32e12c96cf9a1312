"""The routing engine a server process uses, reloaded when the table file changes.

Any worker (or an admin editing the file by hand) may replace the table; every process notices
within `check_seconds` by the file's inode and mtime. A new table is parsed and validated before
it replaces the one in use, so a broken edit leaves routing working and the error readable in
`last_error`. Replacing through `replace_text` writes a temporary file and renames it over the
old one: readers see the old table or the new one, never half of either.
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

from triage.routing.engine import Routing, RoutingEngine
from triage.routing.table import RoutingTable, RoutingTableError, parse_table
from triage.workdays import WorkCalendar

log = logging.getLogger("triage.routing")


class LiveRoutingEngine:
    def __init__(
        self,
        path: str | Path,
        calendar: WorkCalendar | None = None,
        *,
        check_seconds: float = 1.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.path = Path(path)
        self.calendar = calendar
        self.check_seconds = check_seconds
        self.clock = clock
        self.last_error: str | None = None
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

    def _build(self, table: RoutingTable) -> RoutingEngine:
        return RoutingEngine(table, self.calendar, clock=self.clock)

    # -- replacing the table ------------------------------------------------------------------

    def validate(self, text: str, model_labels: Iterable[str] | None = None) -> RoutingTable:
        """Parse and check `text` (against the live model's labels when given); raises RoutingTableError."""
        table = parse_table(text, source="routing table")
        if model_labels is not None:
            table.check_labels(model_labels)
        return table

    def replace_text(self, text: str, model_labels: Iterable[str] | None = None) -> RoutingTable:
        """Validate, write atomically, then serve the new table; on any error nothing changes."""
        table = self.validate(text, model_labels)
        engine = self._build(table)
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
