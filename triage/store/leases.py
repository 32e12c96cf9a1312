"""Named leases in the store: one holder at a time for work only one host may do (the topic
model's writer). A lease is a conditional UPDATE of its row, so it works alike on SQLite and
PostgreSQL and needs no connection held open; a holder that dies lets it run out."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from triage.store.clock import now
from triage.store.models import StoreLease


def take(session: Session, name: str, holder: str, seconds: float) -> bool:
    """Take (or renew) lease `name` for `seconds`; False while another holder's has not run out."""
    moment = now()
    result = session.execute(
        update(StoreLease)
        .where(StoreLease.name == name)
        .where(or_(StoreLease.holder.is_(None), StoreLease.holder == holder, StoreLease.until < moment))
        .values(holder=holder, until=moment + timedelta(seconds=seconds))
    )
    return result.rowcount == 1


def release(session: Session, name: str, holder: str) -> None:
    """Give the lease back at once (only if `holder` still has it)."""
    session.execute(
        update(StoreLease)
        .where(StoreLease.name == name, StoreLease.holder == holder)
        .values(holder=None, until=None)
    )
