"""Migration 0005_platform on a store that already holds cases: their submitter is filled in."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from triage.store.engine import Store, alembic_config
from triage.store.platform import platform_case


def test_existing_cases_get_their_submitter_from_the_created_event(db_url):
    store = Store(db_url)
    try:
        cfg = alembic_config(db_url)
        with store.write_engine.connect() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0002")
            conn.execute(
                text(
                    "INSERT INTO cases (id, external_id, title, body, received_at, status, due_at, abstain, "
                    "manual_queue, routing_state, returns, created_at, updated_at, version) VALUES "
                    "(1, 'OLD-1', 't', 'b', '2026-12-01 09:00:00', 'new', '2026-12-08 23:59:59', false, "
                    "false, 'suggested', 0, '2026-12-01 09:00:00', '2026-12-01 09:00:00', 1)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO events (case_id, kind, actor, data, created_at) VALUES "
                    "(1, 'created', 'platform:board', '{}', '2026-12-01 09:00:00')"
                )
            )
            conn.commit()
        store.ensure_schema()  # upgrades to head, as the app does at start
        with store.session() as s:
            case = platform_case(s, "OLD-1", "platform:board")
            assert case.submitted_by == "platform:board" and case.contact is None
    finally:
        store.dispose()
