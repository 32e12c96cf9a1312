"""The case store: petitions as cases, their routings, replies and audit trail, API keys, jobs.

`TRIAGE_DATABASE_URL` picks the database (a SQLite file by default, PostgreSQL by URL); the
schema is created and upgraded by the Alembic migrations in `migrations/`, run from code.
"""

from triage.store.engine import Store, StoreUnavailable, migrate

__all__ = ["Store", "StoreUnavailable", "migrate"]
