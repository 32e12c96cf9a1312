"""what a suggested draft leaves for staff: its slots (核查结果 …) and the facts of the past case it
was built from that staff must check (核实：3月12日), as `Draft.missing` names them

Revision ID: 0014_draft_missing
Revises: 0013_topic_snapshots
Create Date: 2026-12-07 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# alembic reads these four as the module's attributes
revision, down_revision = "0014_draft_missing", "0013_topic_snapshots"
branch_labels = depends_on = None


def upgrade() -> None:
    """A nullable column: drafts suggested before it name no slots (the page then lists none)."""
    op.add_column("replies", sa.Column("missing", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("replies") as batch:
        batch.drop_column("missing")
