"""The webhook outbox: notifications written with the change that causes them, sent later.

A delivery row is added in the same transaction as the change (a case closed), so a committed
close always has its notification and a rolled-back one never does. Senders claim due rows with
a conditional UPDATE that moves `next_attempt_at` forward by a lease: of two processes that read
the same due row only one UPDATE matches (PostgreSQL re-checks the condition after the row lock;
SQLite writers take the database lock at BEGIN), and a sender that dies mid-send leaves the row
due again when its lease ends. The row keeps one log entry per attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from triage.store.clock import LOCAL, iso
from triage.store.models import Case, WebhookDelivery
from triage.store.repository import CaseNotFound, Conflict, StoreError

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
DELIVERY_STATUSES = (PENDING, DELIVERED, FAILED)
MAX_BACKOFF_SECONDS = 3600.0
MAX_ERROR_CHARS = 500


def precise_now() -> datetime:
    """Local wall time like the store's clock, but keeping microseconds: backoffs can be sub-second."""
    return datetime.now(LOCAL).replace(tzinfo=None)


def backoff_seconds(attempts: int, base: float) -> float:
    """Wait before attempt `attempts + 1`: base, 2·base, 4·base … capped at an hour."""
    return min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


def enqueue(session: Session, case: Case | None, event: str, payload: dict[str, Any]) -> WebhookDelivery:
    """A pending delivery, due now; written in the caller's transaction."""
    stamp = precise_now()
    row = WebhookDelivery(
        case_id=case.id if case is not None else None,
        event=event,
        payload=payload,
        status=PENDING,
        attempts=0,
        next_attempt_at=stamp,
        log=[],
        created_at=stamp,
    )
    session.add(row)
    return row


@dataclass(frozen=True)
class Claimed:
    id: int
    event: str
    payload: dict[str, Any]
    attempt: int  # 1 for the first attempt


def claim_due(session: Session, *, lease_seconds: float, limit: int = 1) -> list[Claimed]:
    """Claim up to `limit` due deliveries for this sender; each is leased for `lease_seconds`."""
    at = precise_now()
    due = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= at)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claimed = []
    for delivery_id in list(session.scalars(due)):
        won = session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.status == PENDING,
                WebhookDelivery.next_attempt_at <= at,
            )
            .values(
                next_attempt_at=at + timedelta(seconds=lease_seconds),
                attempts=WebhookDelivery.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if won == 1:
            row = session.get(WebhookDelivery, delivery_id, populate_existing=True)
            claimed.append(Claimed(row.id, row.event, dict(row.payload), row.attempts))
    return claimed


def record_attempt(
    session: Session,
    delivery_id: int,
    *,
    ok: bool,
    status_code: int | None,
    error: str | None,
    seconds: float,
    max_attempts: int,
    backoff_base: float,
) -> WebhookDelivery:
    """The outcome of one attempt: delivered, due again after a backoff, or failed for good."""
    row = session.get(WebhookDelivery, delivery_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise StoreError(f"no webhook delivery {delivery_id}")
    at = precise_now()
    row.log = [
        *(row.log or []),
        {
            "attempt": row.attempts,
            "at": iso(at.replace(microsecond=0)),
            "status_code": status_code,
            "error": (error or "")[:MAX_ERROR_CHARS] or None,
            "ms": round(seconds * 1000, 1),
        },
    ]
    flag_modified(row, "log")
    if ok:
        row.status, row.delivered_at, row.last_error = DELIVERED, at, None
    else:
        row.last_error = (error or f"HTTP {status_code}")[:MAX_ERROR_CHARS]
        if row.attempts >= max_attempts:
            row.status = FAILED
        else:
            row.next_attempt_at = at + timedelta(seconds=backoff_seconds(row.attempts, backoff_base))
    session.flush()
    return row


def requeue(session: Session, delivery_id: int) -> WebhookDelivery:
    """A failed delivery gets a fresh set of attempts, due now (an admin fixed the receiver)."""
    row = session.get(WebhookDelivery, delivery_id)
    if row is None:
        raise CaseNotFound(f"no webhook delivery {delivery_id}")
    if row.status != FAILED:
        raise Conflict(f"webhook delivery {delivery_id} is {row.status}: only a failed one is sent again")
    row.status, row.attempts, row.next_attempt_at = PENDING, 0, precise_now()
    session.flush()
    return row


def list_deliveries(
    session: Session, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[WebhookDelivery], int]:
    """The newest deliveries first, optionally of one status; (rows, total)."""
    if status is not None and status not in DELIVERY_STATUSES:
        raise StoreError(f"unknown delivery status {status!r}; use one of {', '.join(DELIVERY_STATUSES)}")
    where = [WebhookDelivery.status == status] if status else []
    total = session.scalar(select(func.count()).select_from(WebhookDelivery).where(*where)) or 0
    rows = session.scalars(
        select(WebhookDelivery).where(*where).order_by(WebhookDelivery.id.desc()).limit(limit).offset(offset)
    )
    return list(rows), int(total)


def delivery_view(row: WebhookDelivery) -> dict[str, Any]:
    """A delivery as admins see it (the payload carries no contact data, only the reply)."""

    def when(value: datetime | None) -> str | None:
        return iso(value.replace(microsecond=0)) if value else None

    return {
        "id": row.id,
        "case_id": row.case_id,
        "event": row.event,
        "external_id": (row.payload or {}).get("external_id"),
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": when(row.next_attempt_at) if row.status == PENDING else None,
        "last_error": row.last_error,
        "created_at": when(row.created_at),
        "delivered_at": when(row.delivered_at),
        "log": list(row.log or []),
    }
