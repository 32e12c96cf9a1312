"""imported drafting history: batches of answered petitions, the source every host's index reads

Revision ID: 0012_history_imports
Revises: 0011_draft_style
Create Date: 2026-12-06 21:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_history_imports"
down_revision = "0011_draft_style"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "history_batches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("actor", sa.String(128)),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "history_imports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "batch_id", sa.Integer(), sa.ForeignKey("history_batches.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("case_id", sa.String(255), nullable=False, unique=True),
        sa.Column("department", sa.String(255), nullable=False),
        sa.Column("day", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("tokens", sa.Text(), nullable=False),
    )
    op.create_index("ix_history_imports_batch_id", "history_imports", ["batch_id"])


def downgrade() -> None:
    op.drop_index("ix_history_imports_batch_id", "history_imports")
    op.drop_table("history_imports")
    op.drop_table("history_batches")
