"""the model registry: versions with their sha256, and the live pointer per model kind

Revision ID: 0010_model_registry
Revises: 0009_draft_retention
Create Date: 2026-12-06 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_model_registry"
down_revision = "0009_draft_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("kind", "version", name="uq_model_versions_kind_version"),
    )
    op.create_table(
        "model_pointers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("live", sa.String(64)),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_model_pointers_kind", "model_pointers", ["kind"])


def downgrade() -> None:
    op.drop_index("ix_model_pointers_kind", "model_pointers")
    op.drop_table("model_pointers")
    op.drop_table("model_versions")
