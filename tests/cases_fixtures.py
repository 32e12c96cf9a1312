"""Helpers for the case store tests: seeding cases straight through the repository."""

from __future__ import annotations

from datetime import datetime, timedelta

from triage.store.clock import now
from triage.store.engine import Store
from triage.store.repository import Suggestion, create_case, decide_routing, get_case


def seed_cases(store: Store, rows, *, decide: str | None = "accept", prefix: str = "S") -> list[int]:
    """Store `rows` (dicts with title, body, department) as cases suggested to their department.

    decide="accept" makes each a labelled example (a clerk accepted the routing); None leaves
    them as suggestions only.
    """
    ids = []
    with store.session(write=True) as s:
        for i, row in enumerate(rows):
            received = now() - timedelta(hours=1)
            case = create_case(
                s,
                external_id=f"{prefix}{i}",
                title=row["title"],
                body=row["body"],
                received_at=received,
                suggestion=Suggestion(
                    label=row["department"],
                    department=row["department"],
                    confidence=0.9,
                    abstain=False,
                    model_version="seed",
                    due_at=received + timedelta(days=5),
                ),
                draft=None,
            )
            if decide:
                decide_routing(s, case, action="accept", department=None, reason=None, actor="test")
            ids.append(case.id)
    return ids


def case_at(store: Store, case_id: int):
    with store.session() as s:
        return get_case(s, case_id, full=True)


def hours_ago(h: float) -> datetime:
    return now() - timedelta(hours=h)
