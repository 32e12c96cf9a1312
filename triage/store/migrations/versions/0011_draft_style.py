"""where a suggested draft's fixed sentences came from (the house style it was written in)

Revision ID: 0011_draft_style
Revises: 0010_model_registry
Create Date: 2026-12-06 21:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_draft_style"
down_revision = "0010_model_registry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("replies", sa.Column("style", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("replies") as batch:
        batch.drop_column("style")
