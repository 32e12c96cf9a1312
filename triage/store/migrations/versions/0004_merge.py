"""merging repeated petitions (并单) and the possible-duplicate link on the case row

`merged_into` points a repeat at the case whose reply answers it; `duplicate_of` and
`duplicate_similarity` copy the suggestion's `possible_duplicate` onto the case so the queue can
show it without reading every case's suggestion. Columns are added in place (no table rebuild):
on SQLite a rebuild would drop the text-search triggers of 0002. Existing cases get their
duplicate link back-filled from the stored suggestions.

Revision ID: 0004_merge
Revises: 0003_urgent
Create Date: 2026-12-06 06:40:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0004_merge"
down_revision = "0003_urgent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite cannot add a constraint in place (and does not enforce foreign keys here): a plain column
    refers = [sa.ForeignKey("cases.id")] if op.get_bind().dialect.name != "sqlite" else []
    op.add_column("cases", sa.Column("merged_into", sa.Integer(), *refers, nullable=True))
    op.add_column("cases", sa.Column("duplicate_of", sa.Integer(), nullable=True))
    op.add_column("cases", sa.Column("duplicate_similarity", sa.Float(), nullable=True))
    op.create_index("ix_cases_merged_into", "cases", ["merged_into"])
    _backfill_duplicates()


def _backfill_duplicates() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT case_id, details FROM routings WHERE kind = 'suggestion'"))
    update = sa.text("UPDATE cases SET duplicate_of = :of, duplicate_similarity = :sim WHERE id = :id")
    for case_id, details in rows.fetchall():
        data = json.loads(details) if isinstance(details, str) else (details or {})
        link = (data or {}).get("possible_duplicate")
        if isinstance(link, dict) and str(link.get("case_id", "")).isdigit():
            bind.execute(update, {"of": int(link["case_id"]), "sim": link.get("similarity"), "id": case_id})


def downgrade() -> None:
    op.drop_index("ix_cases_merged_into", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("duplicate_similarity")
        batch.drop_column("duplicate_of")
        batch.drop_column("merged_into")
