"""routing-table versions in the store

The table used to live only in `config/routing.yaml` inside the checkout, rewritten by
`PUT /admin/routing` on one host's disk. Each version is now a row (text, author, comment, time);
the file seeds an empty store.

Revision ID: 0007_routing_tables
Revises: 0006_answers
Create Date: 2026-12-06 06:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_routing_tables"
down_revision = "0006_answers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "routing_tables",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(128)),
        sa.Column("comment", sa.Text()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("routing_tables")
