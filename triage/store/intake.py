"""Turning a new petition into what a case stores: the routing suggestion, deadline and draft.

The routing itself is `TriageService.suggest` (triage/service.py), the same classify-and-route
as /classify; this module turns its answer into what a case stores. Without a routing table the
department is the model's label and the deadline follows the default limits below; without a
drafter the case simply has no draft. Without a live model the case is still stored - a petition
must never be lost because a model is missing - and goes to the manual routing queue.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from triage.store.clock import parse_time
from triage.store.repository import Draft, Suggestion
from triage.workdays import DEFAULT_CALENDAR, WorkCalendar

log = logging.getLogger("triage.store")

# Reply limits in working days when no routing table says otherwise (咨询 3, 求助 5, 投诉/建议 13);
# an unknown or missing type gets the general limit.
DEFAULT_LIMITS = {"咨询": 3, "求助": 5, "投诉": 13, "建议": 13}
GENERAL_LIMIT = 13


def default_due(
    received_at: datetime, request_type: str | None, calendar: WorkCalendar = DEFAULT_CALENDAR
) -> datetime:
    return calendar.add_workdays(received_at, DEFAULT_LIMITS.get(request_type or "", GENERAL_LIMIT))


def suggestion_from(
    prediction: Any,
    model_version: str,
    routing: Any | None,
    *,
    received_at: datetime,
    request_type: str | None,
) -> Suggestion:
    """The suggestion shown to staff from a classified petition: label, department(s),
    confidence, abstain, deadline, reasons. `routing` is the table's answer (a `Routing`), None
    when no table is in force: the department is then the model's label, the deadline the
    default limits."""
    p = prediction.to_dict()
    label, confidence, abstain = p["label"], float(p["confidence"]), bool(p["abstain"])
    details: dict[str, Any] = {
        "top_k": p["top_k"],
        "reasons": p["reasons"],
        "abstain_reason": p.get("abstain_reason"),
    }
    if routing is None:
        return Suggestion(
            label=label,
            department=label,
            confidence=confidence,
            abstain=abstain,
            model_version=model_version,
            due_at=default_due(received_at, request_type),
            request_type=request_type,
            manual_queue=abstain or label is None,
            details=details,
            urgent=None,
        )
    r = routing.to_dict()
    department = r.get("department")
    due_raw = r.get("due_at")
    due_at = (
        parse_time(due_raw) if due_raw else default_due(received_at, r.get("request_type") or request_type)
    )
    details.update({k: r.get(k) for k in ("departments", "place", "out_of_scope", "urgent") if k in r})
    return Suggestion(
        label=r.get("label", label),
        department=department,
        confidence=confidence,
        abstain=abstain,
        model_version=model_version,
        due_at=due_at,
        request_type=r.get("request_type") or request_type,
        manual_queue=bool(r.get("manual_queue")) or abstain or not department,
        details=details,
        urgent=r.get("urgent"),
    )


def unrouted_suggestion(
    engine: Any | None, title: str, body: str, received_at: datetime, request_type: str | None
) -> Suggestion:
    """The suggestion for a petition no model could classify (none is live): the manual queue,
    the default deadline, unless the table's emergency rule finds an emergency, which must still
    jump the queue (the rule needs the table, not the model)."""
    urgent, urgent_due = None, None
    if engine is not None:
        found, due = engine.urgency(title, body, received_at=received_at)
        if found is not None and due is not None:
            urgent, urgent_due = found.to_dict(), parse_time(due)
    return Suggestion(
        label=None,
        department=None,
        confidence=None,
        abstain=True,
        model_version=None,
        due_at=urgent_due or default_due(received_at, request_type),
        request_type=request_type,
        manual_queue=True,
        details={"urgent": urgent} if urgent is not None else {},
        urgent=urgent,
    )


OUT_OF_SCOPE_TIER = "out_of_scope"


def stored_draft(draft: Any) -> Draft:
    """A drafter's proposal (`triage.drafting.Draft`) as the case stores it; an out-of-scope
    template keeps the reason it was chosen for instead of slots."""
    if draft.tier == OUT_OF_SCOPE_TIER:
        return Draft(
            text=draft.draft,
            tier=OUT_OF_SCOPE_TIER,
            sources=[],
            details={"out_of_scope": draft.out_of_scope},
        )
    d = draft.to_dict()
    return Draft(
        text=d.get("draft") or "",
        tier=d.get("tier"),
        sources=list(d.get("sources") or []),
        details={"missing": d.get("missing")},
        style=list(d.get("style") or []),
    )
