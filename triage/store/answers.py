"""The curated answer library's rows in the case store: read, add, edit with a version check.

`triage.answers.AnswerLibrary` validates entries and searches them; this module only moves them
in and out of the `curated_answers` table and writes an audit event for every change, in the
same transaction as the change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from triage.store.clock import now
from triage.store.models import CuratedAnswer, Event

FIELDS = (
    "id",
    "department",
    "question",
    "answer",
    "keywords",
    "valid_from",
    "valid_until",
    "author",
    "retired",
    "created_at",
    "updated_at",
    "version",
)


class StaleAnswer(RuntimeError):
    """The entry changed since the caller read it (another clerk, another host)."""

    def __init__(self, answer_id: str, expected: int, current: int | None):
        self.answer_id = answer_id
        self.expected = expected
        self.current = current
        super().__init__(
            f"answer {answer_id!r} was changed by someone else (version {current}, you edited "
            f"version {expected}): reload it and apply your edit again"
        )


def fingerprint_hash(fingerprint: str) -> str:
    return hashlib.sha256(fingerprint.encode("utf-8")).hexdigest()


def versions(session: Session) -> dict[str, int]:
    """Every entry's id and version: what a process compares its copy against (cheap: two columns)."""
    return {i: v for i, v in session.execute(select(CuratedAnswer.id, CuratedAnswer.version))}


def load(session: Session, ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Entries as plain dicts of `FIELDS` (all of them, or those in `ids`)."""
    query = select(CuratedAnswer)
    if ids is not None:
        wanted = list(ids)
        if not wanted:
            return []
        query = query.where(CuratedAnswer.id.in_(wanted))
    return [{name: getattr(row, name) for name in FIELDS} for row in session.scalars(query)]


def owner_of(session: Session, fingerprint: str) -> str | None:
    """The id of the entry holding this answer text, if any."""
    return session.scalar(
        select(CuratedAnswer.id).where(CuratedAnswer.fingerprint == fingerprint_hash(fingerprint))
    )


def insert(session: Session, entries: list[tuple[dict[str, Any], str]], actor: str | None) -> None:
    """New entries (fields, fingerprint); a duplicate id or text raises IntegrityError at flush."""
    for fields, fingerprint in entries:
        session.add(
            CuratedAnswer(
                **{k: fields[k] for k in FIELDS if k != "version"},
                fingerprint=fingerprint_hash(fingerprint),
                version=1,
            )
        )
        _audit(session, "answer_added", actor, fields["id"], 1, sorted(set(fields) - {"id", "version"}))
    session.flush()


def edit(
    session: Session,
    fields: dict[str, Any],
    fingerprint: str,
    expected_version: int,
    actor: str | None,
    changed: list[str],
) -> int:
    """Write an edited entry if it is still at `expected_version`; returns the new version."""
    values = {k: fields[k] for k in FIELDS if k not in ("id", "version", "created_at")}
    result = session.execute(
        update(CuratedAnswer)
        .where(CuratedAnswer.id == fields["id"], CuratedAnswer.version == expected_version)
        .values(**values, fingerprint=fingerprint_hash(fingerprint), version=expected_version + 1)
    )
    if result.rowcount != 1:
        current = session.scalar(select(CuratedAnswer.version).where(CuratedAnswer.id == fields["id"]))
        raise StaleAnswer(fields["id"], expected_version, current)
    kind = "answer_retired" if changed == ["retired"] and fields["retired"] else "answer_edited"
    _audit(session, kind, actor, fields["id"], expected_version + 1, changed)
    session.flush()
    return expected_version + 1


def _audit(session: Session, kind: str, actor: str | None, answer_id: str, version: int, changed: list[str]):
    session.add(
        Event(
            case_id=None,
            kind=kind,
            actor=actor,
            data={"answer_id": answer_id, "version": version, "fields": changed},
            created_at=now(),
        )
    )
