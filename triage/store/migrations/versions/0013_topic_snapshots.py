"""topics in the store: snapshots of the topic model written by one host at a time (a lease)

Revision ID: 0013_topic_snapshots
Revises: 0012_history_imports
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_topic_snapshots"
down_revision = "0012_history_imports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "topic_snapshots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("read_through", sa.DateTime()),
        sa.Column("writer", sa.String(128)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    leases = op.create_table(
        "store_leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(128)),
        sa.Column("until", sa.DateTime()),
    )
    op.bulk_insert(leases, [{"name": "topics", "holder": None, "until": None}])


def downgrade() -> None:
    op.drop_table("store_leases")
    op.drop_table("topic_snapshots")
