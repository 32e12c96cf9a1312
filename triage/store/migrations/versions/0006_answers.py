"""the curated answer library moves into the store

Until now each server process kept the library in `answers.json` and rewrote the whole file from
its own memory on every edit, so with several workers (or hosts) an entry added through one was
erased by another's next edit. The table is the record; each process's search index is a copy
that catches up from it. An installation's existing `answers.json` is imported on first start
(triage.answers), not here: the migration does not know where the models folder is.

Revision ID: 0006_answers
Revises: 0005_platform
Create Date: 2026-12-06 06:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_answers"
down_revision = "0005_platform"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "curated_answers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("department", sa.String(128), nullable=False, server_default=""),
        sa.Column("question", sa.Text(), nullable=False, server_default=""),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.String(10)),
        sa.Column("valid_until", sa.String(10)),
        sa.Column("author", sa.String(128), nullable=False, server_default=""),
        sa.Column("retired", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.UniqueConstraint("fingerprint", name="uq_curated_answers_fingerprint"),
    )


def downgrade() -> None:
    op.drop_table("curated_answers")
