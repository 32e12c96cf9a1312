"""Which of this process's caches look again when the store announces a change (PostgreSQL).

`triage/store/changes.py` sends, with each commit, the tables it wrote; here each cache the app
holds is told which tables it reads, so a promotion, a routing-table edit, a curated answer, a
sent reply, an import, a new case or a topic snapshot made on any host is picked up by this one
at its next request rather than after `TRIAGE_MODEL_CHECK_SECONDS`. On SQLite nothing listens
and the caches poll as before (one host only).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from triage.store.changes import ChangeListener

MODELS = ("model_versions", "model_pointers")


def listen_for_changes(app: FastAPI) -> ChangeListener | None:
    """Start this process's listener (None on SQLite) and stop it with the app."""
    state = app.state
    if state.store.is_sqlite:
        return None
    listener = ChangeListener(state.store.url)
    for tables, cache in _caches(state):
        if cache is not None:
            listener.on(tables, cache.expire)
    app.router.add_event_handler("startup", listener.start)
    app.router.add_event_handler("shutdown", listener.close)
    state.change_listener = listener
    return listener


def _caches(state: Any) -> list[tuple[tuple[str, ...], Any]]:
    drafter = getattr(state, "drafter", None)
    return [
        (MODELS, state.live_model),
        (MODELS, getattr(state, "request_type_model", None)),
        (("routing_tables",), getattr(state, "routing", None)),
        (("curated_answers",), getattr(drafter, "answers", None)),
        (("replies", "cases"), getattr(drafter, "history_feed", None)),
        (("history_batches", "history_imports"), getattr(drafter, "import_feed", None)),
        (("cases",), getattr(state, "duplicate_feed", None)),
        (("cases", "topic_snapshots"), getattr(state, "shared_topics", None)),
    ]
