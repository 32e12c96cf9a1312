"""The model registry's rows in the case store: known versions with their sha256, and the live
pointer per model kind (the newest `model_pointers` row of a kind is in force)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from triage.store.clock import now
from triage.store.models import ModelPointer, ModelVersion


@dataclass(frozen=True)
class RegisteredVersion:
    version: str
    sha256: str
    metadata: dict[str, Any]


def pointer_id(session: Session, kind: str) -> int | None:
    """The id of the pointer row in force (cheap: every serving process asks it each second)."""
    return session.scalar(select(func.max(ModelPointer.id)).where(ModelPointer.kind == kind))


def pointer(session: Session, kind: str) -> dict[str, Any] | None:
    """`{"live", "history"}` as `live.json` holds it; None when this kind was never made live."""
    row = session.scalars(
        select(ModelPointer).where(ModelPointer.kind == kind).order_by(ModelPointer.id.desc()).limit(1)
    ).first()
    return None if row is None else {"live": row.live, "history": list(row.history or [])}


def set_pointer(session: Session, kind: str, value: dict[str, Any], action: str, actor: str | None) -> None:
    session.add(
        ModelPointer(
            kind=kind,
            live=value.get("live"),
            history=list(value.get("history", [])),
            action=action,
            actor=actor,
            created_at=now(),
        )
    )


def versions(session: Session, kind: str) -> list[RegisteredVersion]:
    rows = session.scalars(
        select(ModelVersion).where(ModelVersion.kind == kind).order_by(ModelVersion.version)
    )
    return [RegisteredVersion(r.version, r.sha256, dict(r.meta)) for r in rows]


def get(session: Session, kind: str, version: str) -> RegisteredVersion | None:
    row = session.scalars(
        select(ModelVersion).where(ModelVersion.kind == kind, ModelVersion.version == version)
    ).first()
    return None if row is None else RegisteredVersion(row.version, row.sha256, dict(row.meta))


def register(session: Session, kind: str, version: str, sha256: str, metadata: dict[str, Any]) -> bool:
    """Add a version; False when it is already known (another host registered it first)."""
    try:
        with session.begin_nested():
            session.add(
                ModelVersion(kind=kind, version=version, sha256=sha256, meta=metadata, created_at=now())
            )
    except IntegrityError:
        return False
    return True
