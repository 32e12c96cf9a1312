"""Imported drafting history in the case store: the one copy every host's history index reads.

`triage index` (and the sample at bootstrap, and an older installation's history file on its first
start) writes a batch in one transaction: either every new row of the file is stored or none is.
A host's history index applies the batches it has not applied yet (triage/retrieval/import_feed.py);
rows carry their retrieval tokens so that no host tokenises a large import again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage.retrieval.history import HistoryItem
from triage.store.clock import now
from triage.store.models import HistoryBatch, ImportedCase

CHUNK = 1000  # ids checked and rows inserted per statement


@dataclass
class BatchReport:
    batch_id: int | None
    added: int = 0
    duplicates: list[str] = field(default_factory=list)


def import_batch(
    session: Session, items: Iterable[HistoryItem], source: str, actor: str | None = None
) -> BatchReport:
    """Store the items not stored yet (by id) as one batch; items must carry their tokens.

    Ids already stored, or repeated in `items`, are reported as duplicates. A batch with no new
    row is not created (`batch_id` None).
    """
    pending: dict[str, HistoryItem] = {}
    report = BatchReport(batch_id=None)
    for item in items:
        if item.id in pending:
            report.duplicates.append(item.id)
        else:
            pending[item.id] = item
    ids = list(pending)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for (stored,) in session.execute(select(ImportedCase.case_id).where(ImportedCase.case_id.in_(chunk))):
            report.duplicates.append(stored)
            del pending[stored]
    if not pending:
        return report
    batch = HistoryBatch(source=source[:255], actor=actor, rows=len(pending), created_at=now())
    session.add(batch)
    session.flush()
    rows = list(pending.values())
    for start in range(0, len(rows), CHUNK):
        session.add_all(
            ImportedCase(
                batch_id=batch.id,
                case_id=item.id,
                department=item.department or "",
                day=item.date or "",
                text=item.text,
                reply=item.reply,
                tokens=" ".join(item.tokens or []),
            )
            for item in rows[start : start + CHUNK]
        )
        session.flush()
    report.batch_id, report.added = batch.id, len(rows)
    return report


def batch_ids(session: Session) -> list[int]:
    return list(session.scalars(select(HistoryBatch.id).order_by(HistoryBatch.id)))


def batch_items(session: Session, batch_id: int, after: int, limit: int) -> Sequence[tuple[int, HistoryItem]]:
    """(row id, item) of one batch with a row id above `after`, in id order, at most `limit`."""
    query = (
        select(ImportedCase)
        .where(ImportedCase.batch_id == batch_id, ImportedCase.id > after)
        .order_by(ImportedCase.id)
        .limit(limit)
    )
    return [
        (
            row.id,
            HistoryItem(
                id=row.case_id,
                text=row.text,
                reply=row.reply,
                department=row.department,
                date=row.day,
                tokens=row.tokens.split(" ") if row.tokens else [],
            ),
        )
        for row in session.scalars(query)
    ]


def imported_count(session: Session) -> int:
    return int(session.scalar(select(func.count(ImportedCase.id))) or 0)
