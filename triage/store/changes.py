"""Telling every host at once that the store changed (PostgreSQL LISTEN/NOTIFY).

The local caches (the live model, the routing table, the answer library, the drafting history,
the duplicate index, the topics) look at the store at most every `TRIAGE_MODEL_CHECK_SECONDS`;
that polling stays, as the fallback and the only way on SQLite. On PostgreSQL every write
transaction also sends, as it commits, the names of the tables it wrote on one channel
(`announce`), and each serving process listens on it (`ChangeListener`): a cache that depends on
one of those tables is told to look again at its next use instead of after its interval, so a
change made on host A is served by host B within a request instead of within a second.

A notification is sent only when the transaction commits (PostgreSQL's rule) and carries no data:
the cache still reads the store itself, so a lost or repeated notification costs nothing but the
old polling delay.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

log = logging.getLogger("triage.changes")

CHANNEL = "triage_changes"
_TABLES = "triage_changed_tables"  # the key of a session's written tables in `session.info`


def announce(writer: sessionmaker) -> None:
    """Make every transaction of `writer` (a PostgreSQL store's write sessions) notify CHANNEL
    with the tables it wrote, comma-separated, as it commits."""
    event.listen(writer, "after_flush", _flushed)
    event.listen(writer, "do_orm_execute", _executed)
    event.listen(writer, "before_commit", _notify)
    event.listen(writer, "after_rollback", _forget)


def _written(session: Session) -> set[str]:
    return session.info.setdefault(_TABLES, set())


def _flushed(session: Session, _context: object) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__table__", None)
        if table is not None:
            _written(session).add(table.name)


def _executed(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if table is not None:
            _written(state.session).add(table.name)


def _notify(session: Session) -> None:
    tables = session.info.pop(_TABLES, None)
    if session.new or session.dirty or session.deleted:  # what the commit's own flush will write
        tables = (tables or set()) | {
            o.__table__.name for o in (*session.new, *session.dirty, *session.deleted)
        }
    if tables:
        session.execute(
            text("SELECT pg_notify(:channel, :tables)"),
            {"channel": CHANNEL, "tables": ",".join(sorted(tables))},
        )


def _forget(session: Session) -> None:
    session.info.pop(_TABLES, None)


class ChangeListener:
    """One thread per process listening on CHANNEL; `on(tables, callback)` runs `callback()` when
    a committed transaction wrote any of `tables`. It reconnects after a lost connection (the
    caches poll meanwhile) and stops with `close`."""

    def __init__(self, url: str, reconnect_seconds: float = 2.0) -> None:
        self.url = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.reconnect_seconds = reconnect_seconds
        self._callbacks: list[tuple[frozenset[str], Callable[[], None]]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()  # set while LISTEN is in force (tests and /health wait on it)

    def on(self, tables: Iterable[str], callback: Callable[[], None]) -> None:
        self._callbacks.append((frozenset(tables), callback))

    def start(self) -> ChangeListener:
        self._thread = threading.Thread(target=self._run, name="store-changes", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def dispatch(self, payload: str) -> None:
        """Run the callbacks of the tables named in one notification's payload."""
        tables = set(payload.split(","))
        for wanted, callback in self._callbacks:
            if wanted & tables:
                try:
                    callback()
                except Exception:
                    log.exception("change callback failed for %s", sorted(wanted))

    def _run(self) -> None:
        import psycopg  # only processes on PostgreSQL listen

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self.dispatch(note.payload)
            except Exception as exc:  # noqa: BLE001 - polling carries on; try again shortly
                if not self._stop.is_set():
                    log.warning("not listening for store changes (%s); polling meanwhile", exc)
            self.listening.clear()
            self._stop.wait(self.reconnect_seconds)
