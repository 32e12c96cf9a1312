"""urgent cases: a flag the queue sorts on and the emergency's reason, evidence and transfer line

Revision ID: 0003_urgent
Revises: 0002
Create Date: 2026-12-06 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_urgent"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN on both databases: a batch copy of `cases` would drop the
    # text-search triggers migration 0002 put on it in SQLite.
    op.add_column("cases", sa.Column("is_urgent", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("cases", sa.Column("urgent", sa.JSON(none_as_null=True), nullable=True))
    op.create_index("ix_cases_urgent_status_due", "cases", ["is_urgent", "status", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_urgent_status_due", table_name="cases")
    op.drop_column("cases", "urgent")
    op.drop_column("cases", "is_urgent")
