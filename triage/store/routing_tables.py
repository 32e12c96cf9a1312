"""Routing-table versions in the case store: the newest row is the table every host serves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage.store.clock import now
from triage.store.models import Event, RoutingTableVersion


@dataclass(frozen=True)
class TableVersion:
    id: int
    text: str
    author: str | None
    comment: str | None
    created_at: datetime


def latest_id(session: Session) -> int | None:
    """The version in force (cheap: hosts ask this at every check)."""
    return session.scalar(select(func.max(RoutingTableVersion.id)))


def get(session: Session, version_id: int) -> TableVersion | None:
    row = session.get(RoutingTableVersion, version_id)
    return None if row is None else _plain(row)


def history(session: Session, limit: int = 50) -> list[TableVersion]:
    rows = session.scalars(select(RoutingTableVersion).order_by(RoutingTableVersion.id.desc()).limit(limit))
    return [_plain(r) for r in rows]


def add(
    session: Session, text: str, author: str | None, comment: str | None, audit: bool = True
) -> TableVersion:
    """A new version in force from this transaction's commit on, with an audit event (none for
    the seed an empty store starts from: nobody decided it)."""
    row = RoutingTableVersion(text=text, author=author, comment=comment, created_at=now())
    session.add(row)
    session.flush()
    if not audit:
        return _plain(row)
    session.add(
        Event(
            case_id=None,
            kind="routing_table_changed",
            actor=author,
            data={"version": row.id, "comment": comment},
            created_at=row.created_at,
        )
    )
    return _plain(row)


def _plain(row: RoutingTableVersion) -> TableVersion:
    return TableVersion(row.id, row.text, row.author, row.comment, row.created_at)
