"""The topic model's snapshots in the store: the newest is what every host serves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from triage.store.clock import now
from triage.store.models import TopicSnapshot

KEEP = 2  # older snapshots are deleted: the newest is the model, one more for a reader mid-load


@dataclass(frozen=True)
class Snapshot:
    id: int
    cases: int
    read_through: datetime | None
    data: bytes


def newest_id(session: Session) -> int | None:
    return session.scalar(select(func.max(TopicSnapshot.id)))


def newest(session: Session) -> Snapshot | None:
    row = session.scalars(select(TopicSnapshot).order_by(TopicSnapshot.id.desc()).limit(1)).first()
    return None if row is None else Snapshot(row.id, row.cases, row.read_through, row.data)


def add(session: Session, data: bytes, *, cases: int, read_through: datetime | None, writer: str) -> int:
    """Store a new snapshot and drop all but the newest `KEEP`; its id."""
    row = TopicSnapshot(cases=cases, read_through=read_through, writer=writer, created_at=now(), data=data)
    session.add(row)
    session.flush()
    session.execute(delete(TopicSnapshot).where(TopicSnapshot.id <= row.id - KEEP))
    return row.id
