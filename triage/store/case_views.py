"""How a case reads to the people who use it: the queue row, the whole case, the intake answer.

One home for each view, built from the store's rows inside the session that read them (a case's
merged petitions are one more query). The API's typed responses (api/case_schemas.py) name these
fields; the case workflow (triage/casework.py) answers with them for the API and the CLI alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import object_session

from triage.house_style import redated
from triage.store.clock import iso, now
from triage.store.models import OPEN_STATUSES, Case
from triage.store.platform import supplement_view
from triage.store.repository import merged_cases


def _deadline(case: Case, at: datetime) -> dict[str, Any]:
    open_ = case.status in OPEN_STATUSES
    return {
        "deadline": iso(case.due_at),
        "overdue": open_ and case.due_at < at,
        "hours_left": round((case.due_at - at).total_seconds() / 3600, 1) if open_ else None,
    }


def summary(case: Case, at: datetime) -> dict[str, Any]:
    return {
        "id": case.id,
        "external_id": case.external_id,
        "title": case.title,
        "status": case.status,
        "department": case.department,
        "label": case.label,
        "confidence": case.confidence,
        "abstain": case.abstain,
        "manual_queue": case.manual_queue,
        "urgent": case.urgent,
        "routing_state": case.routing_state,
        "request_type": case.request_type,
        "channel": case.channel,
        "received_at": iso(case.received_at),
        **_deadline(case, at),
        "returns": case.returns,
        "possible_duplicate": _duplicate(case),
        "merged_into": case.merged_into,
        "version": case.version,
    }


def _duplicate(case: Case) -> dict[str, Any] | None:
    """The earlier case this one may repeat, shaped as POST /cases returns it."""
    if case.duplicate_of is None:
        return None
    return {"case_id": case.duplicate_of, "similarity": case.duplicate_similarity}


def routing_view(case: Case) -> dict[str, Any]:
    suggestion = next((r for r in case.routings if r.kind == "suggestion"), None)
    details = suggestion.details if suggestion else {}
    return {
        "label": case.label,
        "department": case.department,
        "suggested_department": case.suggested_department,
        "confidence": case.confidence,
        "abstain": case.abstain,
        "abstain_reason": details.get("abstain_reason"),
        "manual_queue": case.manual_queue,
        "state": case.routing_state,
        "model_version": case.model_version,
        "top_k": details.get("top_k", []),
        "reasons": details.get("reasons", []),
        "departments": details.get("departments"),
        "place": details.get("place"),
        "out_of_scope": details.get("out_of_scope"),
        "urgent": case.urgent,
        "possible_duplicate": details.get("possible_duplicate"),
        "returned_by": [
            {"department": r.department, "reason": r.reason, "at": iso(r.created_at)}
            for r in case.routings
            if r.kind == "return"
        ],
    }


def _reply_view(reply) -> dict[str, Any] | None:
    if reply is None:
        return None
    return {
        "kind": reply.kind,
        "text": reply.text,
        "tier": reply.tier,
        "sources": reply.sources,
        "qc": reply.qc,
        "confirm_reason": reply.confirm_reason,
        "actor": reply.actor,
        "at": iso(reply.created_at),
        "draft_retention": reply.draft_retention,
    }


def detail(case: Case, at: datetime) -> dict[str, Any]:
    def last(kinds: tuple[str, ...]):
        return next((r for r in reversed(case.replies) if r.kind in kinds), None)

    suggested = last(("suggested",))
    latest = last(("draft", "refused", "final"))
    return {
        **summary(case, at),
        "body": case.body,
        "district": case.district,
        "created_at": iso(case.created_at),
        "updated_at": iso(case.updated_at),
        "contact": case.contact,
        "attachments": case.attachments or [],
        "supplements": [supplement_view(x) for x in case.supplements],
        "closed_at": iso(case.closed_at),
        "routing": (routing := routing_view(case)),
        "possible_duplicate": routing["possible_duplicate"],
        "merged": [
            {
                "id": m.id,
                "external_id": m.external_id,
                "title": m.title,
                "status": m.status,
                "received_at": iso(m.received_at),
            }
            for m in merged_cases(object_session(case), case)
        ],
        "draft": {
            # dated the day it is read: the day staff would send it, not the day of intake
            "text": redated(suggested.text, suggested.created_at.date(), at.date()),
            "tier": suggested.tier,
            "sources": suggested.sources,
            "style": suggested.style or [],
            "missing": suggested.missing or [],
        }
        if suggested
        else {"text": "", "tier": None, "sources": [], "style": [], "missing": []},
        "latest_reply": _reply_view(latest),
        "reply": _reply_view(last(("final",))),
        "qc": latest.qc if latest else None,
        "history": [
            {
                "id": e.id,
                "kind": e.kind,
                "actor": e.actor,
                "data": e.data,
                "model_version": e.model_version,
                "at": iso(e.created_at),
            }
            for e in case.events
        ],
    }


def created_view(case: Case, at: datetime, created: bool) -> dict[str, Any]:
    view = detail(case, at)
    keep = (
        "id",
        "external_id",
        "status",
        "deadline",
        "overdue",
        "hours_left",
        "request_type",
        "version",
        "routing",
        "draft",
        "possible_duplicate",
        "urgent",
    )
    return {**{k: view[k] for k in keep}, "created": created}


REPEAT_NOTE = (
    "external_id exists; its stored case is returned unchanged. To add what the citizen says now, "
    "use POST /platform/cases/{external_id}/supplements"
)


def existing_view(case: Case, title: str, body: str) -> dict[str, Any]:
    """A repeat's answer: the stored case, and a note when the repeat says something else."""
    view = created_view(case, now(), created=False)
    if (title, body) != (case.title, case.body):
        view["note"] = REPEAT_NOTE.format(external_id=case.external_id)
    return view
