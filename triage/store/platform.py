"""What the submitting platform may read and add: its own cases by external id, and supplements (补充).

A platform key sees only the cases it submitted (`Case.submitted_by`, the key's actor); any other
external id answers exactly as an unknown one, so a platform cannot learn which ids exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.store.clock import iso
from triage.store.clock import now as clock_now
from triage.store.models import CLOSED, Case, Supplement
from triage.store.outbox import enqueue
from triage.store.repository import CaseNotFound, Conflict, StoreError, _event, _touch

CLOSED_EVENT = "case.closed"


def platform_case(session: Session, external_id: str, actor: str | None, *, any_owner: bool = False) -> Case:
    """The case with `external_id` submitted by `actor` (any submitter when `any_owner`); else 404."""
    query = select(Case).where(Case.external_id == external_id)
    if not any_owner:
        query = query.where(Case.submitted_by == actor)
    case = session.scalar(query)
    if case is None:
        raise CaseNotFound(f"no case with external_id {external_id!r} submitted with this key")
    return case


def add_supplement(
    session: Session, case: Case, *, text: str, received_at: datetime | None, actor: str | None
) -> Supplement:
    """Append a citizen's supplement to an open case, with its history event, in one transaction.

    The case's version moves on, so a clerk who is answering from a page read before the
    supplement arrived is told to reload (409) instead of replying without having seen it.
    """
    text = (text or "").strip()
    if not text:
        raise StoreError("text is empty: a supplement needs the citizen's words")
    if case.status == CLOSED:
        raise Conflict(
            f"case {case.external_id!r} is closed (reply sent at {iso(case.closed_at)}): "
            "a supplement can no longer be added; submit it as a new petition with a new external_id"
        )
    stamp = clock_now()
    supplement = Supplement(
        case=case, text=text, received_at=received_at or stamp, actor=actor, created_at=stamp
    )
    session.add(supplement)
    _touch(case, stamp)
    session.flush()  # the supplement's id, for the event
    data = {"supplement_id": supplement.id, "chars": len(text), "received_at": iso(supplement.received_at)}
    _event(session, case, "supplement_added", actor, data)
    session.flush()
    return supplement


def supplement_view(s: Supplement) -> dict[str, object]:
    return {"id": s.id, "text": s.text, "received_at": iso(s.received_at), "added_at": iso(s.created_at)}


def platform_view(case: Case, at: datetime) -> dict[str, Any]:
    """What the platform may know of its case: state, department, deadline, the reply, supplements."""
    final = next((r for r in reversed(case.replies) if r.kind == "final"), None)
    return {
        "external_id": case.external_id,
        "id": case.id,
        "status": case.status,
        "department": case.department,
        "received_at": iso(case.received_at),
        "deadline": iso(case.due_at),
        "overdue": case.status != CLOSED and case.due_at < at,
        "closed_at": iso(case.closed_at),
        "reply": {"text": final.text, "replied_at": iso(final.created_at)} if final else None,
        "supplements": [supplement_view(s) for s in case.supplements],
    }


def enqueue_closed(session: Session, case: Case) -> None:
    """In the closing transaction: the delivery that tells the platform its case was answered."""
    enqueue(session, case, CLOSED_EVENT, {"event": CLOSED_EVENT, **platform_view(case, clock_now())})
