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


def routing_decided(client, case: dict, department: str, reason: str) -> dict:
    """What a clerk does before replying to a case the model was unsure of (abstained, set aside
    or without a department): accept the suggestion or, without one, route it to `department`.
    A case the model routed with confidence is left as it is; returns the case as it stands."""
    routing = case["routing"]
    if not (routing.get("abstain") or routing.get("manual_queue") or not routing.get("department")):
        return case
    body = (
        {"action": "accept"}
        if routing.get("department")
        else {"action": "override", "department": department, "reason": reason}
    )
    r = client.post(f"/cases/{case['id']}/routing", json=body)
    assert r.status_code == 200, r.text
    return r.json()
