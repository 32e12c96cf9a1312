"""jobs run in a worker under a lease; uploads kept in the store

Retraining ran in a thread of the serving process, and a restart marked "running" jobs failed
when their process id was not alive on that host: wrong across hosts and in containers. A worker
now claims a job with a lease it renews; an expired lease fails the job. An uploaded CSV waits in
the store instead of the serving host's /tmp.

Revision ID: 0008_job_leases
Revises: 0007_routing_tables
Create Date: 2026-12-06 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_job_leases"
down_revision = "0007_routing_tables"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(128)))
        batch.add_column(sa.Column("lease_until", sa.DateTime()))
    op.create_table(
        "job_uploads",
        sa.Column("job_id", sa.String(36), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("job_uploads")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("lease_owner")
