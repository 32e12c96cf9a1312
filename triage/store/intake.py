"""Turning a new petition into what a case stores: the routing suggestion, deadline and draft.

The routing engine and the drafter are optional collaborators: without a routing table the
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


def suggest(
    *,
    title: str,
    body: str,
    received_at: datetime,
    request_type: str | None,
    prediction: Any | None,
    model_version: str | None,
    routing: Any | None = None,
    request_type_prediction: Any | None = None,
) -> Suggestion:
    """The suggestion shown to staff: label, department(s), confidence, abstain, deadline, reasons.

    Raises ValueError (from the routing engine) for a request type or time it cannot use.
    """
    details: dict[str, Any] = {}
    label = confidence = None
    abstain = True
    if prediction is not None:
        p = prediction.to_dict()
        label, confidence, abstain = p["label"], float(p["confidence"]), bool(p["abstain"])
        details.update(top_k=p["top_k"], reasons=p["reasons"])
    if routing is not None and getattr(routing, "engine", True) is None:
        routing = None  # a live engine without a valid table: fall back to the defaults below
    if routing is not None and prediction is not None:
        extra = (
            {"request_type_prediction": request_type_prediction}
            if request_type_prediction is not None
            else {}
        )
        r = routing.route(
            title, body, prediction, received_at=received_at, request_type=request_type, **extra
        ).to_dict()
        department = r.get("department")
        due_raw = r.get("due_at")
        due_at = (
            parse_time(due_raw)
            if due_raw
            else default_due(received_at, r.get("request_type") or request_type)
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
    urgent, urgent_due = _urgency(routing, title, body, received_at)
    if urgent is not None:
        details["urgent"] = urgent
    return Suggestion(
        label=label,
        department=label,
        confidence=confidence,
        abstain=abstain,
        model_version=model_version,
        due_at=urgent_due or default_due(received_at, request_type),
        request_type=request_type,
        manual_queue=abstain or label is None,
        details=details,
        urgent=urgent,
    )


def _urgency(
    routing: Any | None, title: str, body: str, received_at: datetime
) -> tuple[dict[str, Any] | None, datetime | None]:
    """The table's emergency rule when no model could route the petition: an emergency jumps
    the queue even while no model is live (the rule needs the table, not the model)."""
    engine = getattr(routing, "engine", routing)
    if engine is None:
        return None, None
    urgent, due = engine.urgency(title, body, received_at=received_at)
    return (urgent.to_dict(), parse_time(due)) if urgent and due else (None, None)


def make_draft(
    drafter: Any | None,
    title: str,
    body: str,
    department: str | None,
    request_type: str | None,
    urgent: dict[str, Any] | None = None,
) -> Draft | None:
    """The drafter's proposal, or None when there is no drafter or it fails (the case still stores)."""
    if drafter is None:
        return None
    try:
        d = drafter.draft(
            title, body, department=department, request_type=request_type, urgent=urgent
        ).to_dict()
    except Exception:
        log.exception("drafter failed; storing the case without a draft")
        return None
    return Draft(
        text=d.get("draft") or "",
        tier=d.get("tier"),
        sources=list(d.get("sources") or []),
        details={"missing": d.get("missing")},
        style=list(d.get("style") or []),
    )


OUT_OF_SCOPE_TIER = "out_of_scope"


def suggested_draft(
    drafter: Any | None,
    title: str,
    body: str,
    department: str | None,
    request_type: str | None,
    out_of_scope: dict[str, Any] | None = None,
    urgent: dict[str, Any] | None = None,
) -> Draft | None:
    """The draft a case suggests: for a matter the hotline must not accept (out of scope) the
    reply template that tells the citizen where to go, otherwise the drafter's proposal for the
    department. Used at intake and again whenever a clerk re-routes the case."""
    template = (out_of_scope or {}).get("template")
    if template:
        return Draft(
            text=template,
            tier=OUT_OF_SCOPE_TIER,
            sources=[],
            details={"out_of_scope": out_of_scope.get("reason")},
        )
    return make_draft(drafter, title, body, department, request_type, urgent)
