"""Engines and sessions from `TRIAGE_DATABASE_URL`, and schema migrations run from code.

SQLite is the zero-setup default. Its writers take the database lock at BEGIN (`BEGIN
IMMEDIATE`) instead of at their first write: a request that read a case and then writes it would
otherwise fail with "database is locked" when a colleague committed in between, instead of
waiting its turn and seeing the colleague's change. PostgreSQL needs nothing special: the
version column turns a conflicting update into a clean conflict.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest migration's revision (tests/test_store.py holds it to alembic's head): a database
# already there needs no migration, so a command that only reads (`triage classify`) does not
# import alembic (0.25 s) to find that out. A database anywhere else is migrated as before.
SCHEMA_HEAD = "0014_draft_missing"


class StoreUnavailable(RuntimeError):
    """The database cannot be reached or migrated; requests answer 503 with this message."""


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def make_engine(url: str, *, immediate: bool = False) -> Engine:
    """An engine for `url`; SQLite files get their folder, WAL, a busy timeout and foreign keys."""
    path = _sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn, _record) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=10, connect_args={"connect_timeout": 5}
    )


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    """`alembic upgrade head` on `engine`; safe to call from several processes at once."""
    if schema_version(engine) == SCHEMA_HEAD:
        return
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        conn.commit()


def schema_version(engine: Engine) -> str | None:
    """The revision the database is at; None for a new database (no version table yet)."""
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError as exc:
        if "alembic_version" in str(exc):  # no such table / relation: a database never migrated
            return None
        raise


class Store:
    """The database of one app or command: a read engine, a write engine and migrations once."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = _sqlite_file(url) is not None or make_url(url).get_backend_name() == "sqlite"
        self.engine = make_engine(url)
        self.write_engine = make_engine(url, immediate=True) if self.is_sqlite else self.engine
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(self.write_engine, expire_on_commit=False)
        if not self.is_sqlite:  # every host hears of a commit at once (LISTEN/NOTIFY)
            from triage.store.changes import announce

            for maker in (self._reader, self._writer):
                announce(maker)
        self._migrated = False
        self._lock = threading.Lock()
        self.last_error: str | None = None

    def ensure_schema(self) -> None:
        """Migrate on first use; a database that was down at start is migrated when it returns."""
        if self._migrated:
            return
        with self._lock:
            if self._migrated:
                return
            try:
                migrate(self.write_engine)
            except DBAPIError as exc:
                self.last_error = f"database unavailable ({self.safe_url()}): {_first_line(exc)}"
                raise StoreUnavailable(self.last_error) from exc
            self._migrated = True
            self.last_error = None

    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def session(self, write: bool = False) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any error."""
        self.ensure_schema()
        maker = self._writer if write else self._reader
        with maker() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
