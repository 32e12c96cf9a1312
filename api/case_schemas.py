"""Typed responses of the `/cases` routes: what a platform or a script can rely on, in /docs.

The views are built in one place each (triage/store/case_views.py); the models name every
field with its meaning for /docs. They keep any field they do not name (`extra="allow"`), so no
field a client already reads is ever dropped by validation. `POST /cases` answers
`api.platform_schemas.CaseCreated`, whose routing and draft these extend.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.platform_schemas import DraftOut, RoutingOut


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class DuplicateLink(_Open):
    case_id: int = Field(description="the earlier case this petition may repeat")
    similarity: float | None = Field(default=None, description="estimated similarity, 0-1")


class Urgent(_Open):
    reason: str | None = Field(default=None, description="the kind of emergency (燃气泄漏或燃气味 …)")
    evidence: str | None = Field(default=None, description="the clause of the petition that shows it")
    transfer: str | None = Field(default=None, description="the line to transfer it to at once (119 …)")


class CaseSummary(_Open):
    """One row of the queue."""

    id: int
    external_id: str | None = Field(description="the platform's id (工单号)")
    title: str
    status: str = Field(description="new, assigned, returned, merged or closed")
    department: str | None = Field(description="the department in charge now (承办部门)")
    label: str | None = Field(description="the model's category")
    confidence: float | None = None
    abstain: bool | None = Field(default=None, description="true: the model left it to a clerk")
    manual_queue: bool = Field(description="waiting for a clerk to route it (待人工分派)")
    urgent: Urgent | None = Field(default=None, description="an emergency: first in the queue, due in hours")
    routing_state: str | None = Field(description="suggested, accepted or overridden")
    request_type: str | None = Field(description="咨询, 投诉, 求助, 建议 …")
    channel: str | None = None
    received_at: str | None = Field(description="ISO time with offset")
    deadline: str | None = Field(description="when the reply is due (ISO, +08:00)")
    overdue: bool
    hours_left: float | None = Field(description="hours until the deadline; null once closed")
    returns: int = Field(description="how often departments sent it back (退单)")
    possible_duplicate: DuplicateLink | None = None
    merged_into: int | None = Field(default=None, description="the case whose reply answers this one (并单)")
    version: int = Field(description="send it back with a change: a stale version is refused (409)")


class QueuePage(_Open):
    items: list[CaseSummary]
    total: int = Field(description="cases matching the filters")
    limit: int
    offset: int


class RoutingView(RoutingOut):
    """The routing of a case: the model's suggestion, the decision taken, and why."""

    label: str | None = None
    department: str | None = None
    confidence: float | None = None
    abstain: bool | None = None
    abstain_reason: str | None = Field(
        default=None, description="why the model abstained (as POST /classify says); null when it did not"
    )

    departments: dict[str, Any] | None = Field(default=None, description="lead and assisting departments")
    place: Any = None
    out_of_scope: dict[str, Any] | None = Field(default=None, description="reason, evidence, reply template")
    urgent: Urgent | None = None
    possible_duplicate: DuplicateLink | None = None
    returned_by: list[dict[str, Any]] = Field(default_factory=list)


class DraftView(DraftOut):
    """The suggested draft: suggest, escalate, urgent or out_of_scope (`tier`)."""

    style: list[dict[str, Any]] = Field(
        default_factory=list, description="where the draft's fixed sentences came from (the house style)"
    )
    missing: list[str] = Field(
        default_factory=list,
        description="each 【…】 staff must fill (核查结果 …) or check (核实：3月12日, a fact of the past case "
        "the draft was built from)",
    )


class ReplyView(_Open):
    kind: str = Field(description="draft, refused or final")
    text: str
    tier: str | None = None
    sources: list[dict[str, Any]] | None = None
    qc: dict[str, Any] | None = Field(default=None, description="the quality check of this text")
    confirm_reason: str | None = None
    actor: str | None = None
    at: str | None = None
    draft_retention: float | None = Field(
        default=None, description="on a sent reply: ROUGE-L of the reply against the suggested draft"
    )


class MergedCase(_Open):
    id: int
    external_id: str | None = None
    title: str
    status: str
    received_at: str | None = None


class CaseEvent(_Open):
    id: int
    kind: str
    actor: str | None = None
    data: Any = None
    model_version: str | None = None
    at: str | None = None


class CaseDetail(CaseSummary):
    """One case, whole: petition, routing with reasons, draft with sources, replies, history."""

    body: str
    district: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    contact: Any = None
    attachments: list[Any] = Field(default_factory=list)
    supplements: list[dict[str, Any]] = Field(default_factory=list, description="the citizen's 补充")
    closed_at: str | None = None
    routing: RoutingView
    merged: list[MergedCase] = Field(default_factory=list, description="petitions merged into this one")
    draft: DraftView
    latest_reply: ReplyView | None = None
    reply: ReplyView | None = Field(default=None, description="the reply sent, once closed")
    qc: dict[str, Any] | None = None
    history: list[CaseEvent] = Field(default_factory=list, description="every change, with actor and time")


class ReplyResult(_Open):
    """What `POST /cases/{id}/reply` answers when the text was saved or sent."""

    case_id: int
    status: str
    sent: bool
    kind: str = Field(description="draft (saved) or final (sent)")
    version: int
    qc: dict[str, Any] | None = None
