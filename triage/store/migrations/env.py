"""Alembic environment: runs on the connection the store hands over (see engine.migrate).

Also usable from the `alembic` command with `sqlalchemy.url` set, for a developer writing the
next revision. On PostgreSQL an advisory lock keeps two server processes from migrating at once.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool, text

from triage.store.models import Base

MIGRATION_LOCK = 73_524_901


def run(connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.begin() as conn:
        run(conn)


main()
