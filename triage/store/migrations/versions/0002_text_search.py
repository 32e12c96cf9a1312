"""an index for the queue's text search (titles and bodies)

The queue's `q` filter is a substring search over Chinese text, which word tokenisers get wrong
(a clerk types 垃圾堆 and expects 小区门口垃圾堆积 to match), so both databases index character
trigrams: SQLite an external-content FTS5 table kept in step by triggers, PostgreSQL pg_trgm GIN
indexes that its planner uses for `LIKE '%…%'` directly. Where neither is available (an old
SQLite, a PostgreSQL role that may not create the extension) nothing fails: the search stays a
scan, as before.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 08:20:00
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

log = logging.getLogger("triage.store")

SQLITE_UP = [
    "CREATE VIRTUAL TABLE cases_text USING fts5("
    "title, body, content='cases', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER cases_text_insert AFTER INSERT ON cases BEGIN "
    "INSERT INTO cases_text(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER cases_text_delete AFTER DELETE ON cases BEGIN "
    "INSERT INTO cases_text(cases_text, rowid, title, body) VALUES ('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER cases_text_update AFTER UPDATE OF title, body ON cases BEGIN "
    "INSERT INTO cases_text(cases_text, rowid, title, body) VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO cases_text(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "INSERT INTO cases_text(cases_text) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS cases_text_update",
    "DROP TRIGGER IF EXISTS cases_text_delete",
    "DROP TRIGGER IF EXISTS cases_text_insert",
    "DROP TABLE IF EXISTS cases_text",
]
# {ops}: the operator class qualified by the extension's schema, which need not be on the
# search_path of the schema the tables live in.
POSTGRES_UP = [
    "CREATE INDEX IF NOT EXISTS ix_cases_title_trgm ON cases USING gin (title {ops})",
    "CREATE INDEX IF NOT EXISTS ix_cases_body_trgm ON cases USING gin (body {ops})",
]
TRGM_SCHEMA = (
    "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
    "WHERE e.extname = 'pg_trgm'"
)


def _sqlite_has_trigram(bind: sa.engine.Connection) -> bool:
    try:
        bind.exec_driver_sql("CREATE VIRTUAL TABLE temp.trigram_probe USING fts5(x, tokenize='trigram')")
    except sa.exc.OperationalError:
        return False
    bind.exec_driver_sql("DROP TABLE temp.trigram_probe")
    return True


def _postgres_trgm_schema(bind: sa.engine.Connection) -> str | None:
    """The schema of pg_trgm, created (in public, shared by every schema) when missing.

    A role that may not create extensions gets no index, not a failed migration: the attempt is
    rolled back to a savepoint.
    """
    found = bind.exec_driver_sql(TRGM_SCHEMA).scalar()
    if found:
        return found
    for statement in (
        "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public",
        "CREATE EXTENSION pg_trgm",
    ):
        try:
            with bind.begin_nested():
                bind.exec_driver_sql(statement)
            return bind.exec_driver_sql(TRGM_SCHEMA).scalar()
        except sa.exc.DBAPIError as exc:
            problem = exc.orig
    log.warning("text search stays a scan: pg_trgm cannot be created here (%s)", problem)
    return None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        if not _sqlite_has_trigram(bind):
            log.warning("text search stays a scan: this SQLite has no FTS5 trigram tokenizer")
            return
        for statement in SQLITE_UP:
            bind.exec_driver_sql(statement)
    elif bind.dialect.name == "postgresql" and (schema := _postgres_trgm_schema(bind)):
        ops = f'"{schema}".gin_trgm_ops'
        for statement in POSTGRES_UP:
            bind.exec_driver_sql(statement.format(ops=ops))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            bind.exec_driver_sql(statement)
    elif bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP INDEX IF EXISTS ix_cases_body_trgm")
        bind.exec_driver_sql("DROP INDEX IF EXISTS ix_cases_title_trgm")
