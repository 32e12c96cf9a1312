"""Cases as they arrived, for the caches that index every petition (duplicates, topics)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.store.models import Case


@dataclass(frozen=True)
class NewCase:
    case_id: int
    title: str
    body: str
    received_at: datetime
    created_at: datetime


def created_since(session: Session, since: datetime | None, limit: int = 5000) -> list[NewCase]:
    """Cases stored at or after `since` (all when None), oldest first."""
    query = (
        select(Case.id, Case.title, Case.body, Case.received_at, Case.created_at)
        .order_by(Case.created_at, Case.id)
        .limit(limit)
    )
    if since is not None:
        query = query.where(Case.created_at >= since)
    return [NewCase(*row) for row in session.execute(query)]


def case_ids_since(session: Session, since: datetime | None, limit: int = 5000) -> list[int]:
    """The ids of the cases stored at or after `since` (all when None), oldest first: a cheap
    look at whether a cache lacks any, before reading their texts."""
    query = select(Case.id).order_by(Case.created_at, Case.id).limit(limit)
    if since is not None:
        query = query.where(Case.created_at >= since)
    return list(session.scalars(query))
