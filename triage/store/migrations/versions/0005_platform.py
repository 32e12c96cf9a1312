"""the platform hears back: who submitted a case, contact and attachments, supplements, webhook outbox

`cases.submitted_by` is filled for existing cases from their `created` event's actor, so a
platform can read back the cases it submitted before this revision too.

Revision ID: 0005_platform
Revises: 0004_merge
Create Date: 2026-12-06 06:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_platform"
down_revision = "0004_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submitted_by", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("contact", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("attachments", sa.JSON(), nullable=True))
        batch_op.create_index("ix_cases_submitted_by", ["submitted_by"], unique=False)
    op.execute(
        "UPDATE cases SET submitted_by = (SELECT e.actor FROM events e WHERE e.case_id = cases.id "
        "AND e.kind = 'created' ORDER BY e.id LIMIT 1) WHERE submitted_by IS NULL"
    )
    op.create_table(
        "supplements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_supplements_case_id", "supplements", ["case_id"], unique=False)
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("log", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_webhook_deliveries_case_id", "webhook_deliveries", ["case_id"], unique=False)
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_case_id", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_supplements_case_id", table_name="supplements")
    op.drop_table("supplements")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_submitted_by")
        batch_op.drop_column("attachments")
        batch_op.drop_column("contact")
        batch_op.drop_column("submitted_by")
