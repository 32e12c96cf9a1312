"""Closed cases feed the drafter's history: the department's own good replies become sources.

Only replies the quality check passed are learned from: a vague reply sent with a clerk's
confirmation closes its case, but must not become the model answer for the next petition.

With several workers, the worker that closed the case writes it under the history's file lock
(after reading what the others added), and every other worker drafts from it within
`TRIAGE_MODEL_CHECK_SECONDS` (triage/retrieval/history.py).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from triage.retrieval.history import HistoryItem
from triage.text import petition_text

log = logging.getLogger("triage.feedback")


def learn_from_reply(
    state: Any,
    *,
    case_id: int,
    title: str,
    body: str,
    reply: str,
    department: str | None,
    replied_at: datetime,
    qc: dict[str, Any] | None,
) -> bool:
    """Add a sent reply to the history index; True when it was added. Never fails the request."""
    drafter = getattr(state, "drafter", None)
    history = getattr(drafter, "history", None)
    if history is None or (qc or {}).get("verdict") != "ok":
        return False
    item = HistoryItem(
        id=f"case-{case_id}",
        text=petition_text(title, body),
        reply=reply,
        department=department or "",
        date=replied_at.date().isoformat(),
    )
    try:
        report = history.add_history([item])
    except Exception:  # the reply is stored; the index can be rebuilt from the store
        log.exception("case %s: adding the reply to the drafting history failed", case_id)
        return False
    return getattr(report, "added", 1) > 0
