"""Replies sent in the case store, for the caches that learn from them (the drafting history)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.store.models import CLOSED, Case, Reply


@dataclass(frozen=True)
class SentReply:
    case_id: int
    title: str
    body: str
    department: str | None
    reply: str
    qc: dict[str, Any] | None
    closed_at: datetime


def sent_since(session: Session, since: datetime | None, limit: int = 5000) -> list[SentReply]:
    """Closed cases' final replies closed at or after `since` (all when None), oldest first."""
    query = (
        select(Case.id, Case.title, Case.body, Case.department, Reply.text, Reply.qc, Case.closed_at)
        .join(Reply, Reply.case_id == Case.id)
        .where(Case.status == CLOSED, Reply.kind == "final")
        .order_by(Case.closed_at, Case.id)
        .limit(limit)
    )
    if since is not None:
        query = query.where(Case.closed_at >= since)
    return [SentReply(*row) for row in session.execute(query)]
