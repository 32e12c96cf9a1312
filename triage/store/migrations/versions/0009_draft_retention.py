"""how much of the suggested draft each sent reply kept

Revision ID: 0009_draft_retention
Revises: 0008_job_leases
Create Date: 2026-12-06 07:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_draft_retention"
down_revision = "0008_job_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("replies", sa.Column("draft_retention", sa.Float()))


def downgrade() -> None:
    with op.batch_alter_table("replies") as batch:
        batch.drop_column("draft_retention")
