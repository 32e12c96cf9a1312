"""The case workflow: the platform submits, staff route, draft, reply and return cases.

Each request is one database transaction. Classification, routing and drafting of a new case
happen before the transaction opens, so a slow model never holds a database lock and a failure
there stores nothing. Every suggestion shown and every decision taken is written with the model
version in force, which makes the store both the audit trail and the next model's training data.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import object_session

from api.auth import actor
from api.case_schemas import CaseDetail, QueuePage, ReplyResult
from api.departments import checked_department
from api.feedback import learn_from_reply
from api.intake_duplicates import find_possible_duplicate, index_case
from api.platform_schemas import MAX_ATTACHMENTS, AttachmentIn, CaseCreated, ContactIn
from api.routers.platform import enqueue_closed, wake_sender
from api.validation import RowId, StoredText, petition_or_error
from triage.quality.reasons import reason_problem
from triage.service import Findings, PetitionError, PetitionInput
from triage.store.clock import iso, now, parse_time
from triage.store.models import CLOSED, OPEN_STATUSES, Case
from triage.store.platform import supplement_view
from triage.store.repository import (
    CaseFilter,
    CaseNotFound,
    Draft,
    decide_routing,
    find_by_external_id,
    get_case,
    list_cases,
    merge_case,
    merged_cases,
    parse_status,
    redraft,
    return_case,
    save_reply,
    unmerge_case,
)
from triage.store.repository import (
    create_case as store_case,
)

log = logging.getLogger("triage.cases")
router = APIRouter(tags=["cases"])


class CaseIn(BaseModel):
    external_id: StoredText = Field(
        min_length=1, max_length=128, description="The platform's own id: a repeat returns the stored case"
    )
    title: StoredText | None = Field(default=None, description="留言主题")
    body: StoredText | None = Field(default=None, description="留言详情")
    channel: StoredText | None = Field(default=None, max_length=64, description="网站, 12345热线, 微信 …")
    district: StoredText | None = Field(default=None, max_length=64)
    received_at: datetime | None = Field(
        default=None, description="ISO 8601; local time (UTC+8) when no offset; default now"
    )
    request_type: StoredText | None = Field(
        default=None, max_length=32, description="咨询, 求助, 投诉, 建议 …"
    )
    contact: ContactIn | None = Field(default=None, description="the citizen's contact, for staff only")
    attachments: list[AttachmentIn] | None = Field(default=None, max_length=MAX_ATTACHMENTS)

    @field_validator("external_id")
    @classmethod
    def _strip(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("external_id is blank")
        return v.strip()


class RoutingIn(BaseModel):
    action: Literal["accept", "override"]
    department: StoredText | None = Field(default=None, max_length=128)
    reason: StoredText | None = Field(default=None, max_length=2000)
    version: int | None = Field(
        default=None, description="the case version you read; a stale one is refused with 409"
    )


class ReplyIn(BaseModel):
    text: StoredText = Field(max_length=20_000)
    send: bool = False
    confirm_reason: StoredText | None = Field(
        default=None,
        max_length=2000,
        description="send despite quality flags, saying why in a sentence (a token such as 1 or ok is refused)",
    )
    version: int | None = None


class MergeIn(BaseModel):
    into: int = Field(ge=1, le=2**63 - 1, description="the case whose reply answers this repeat (并单)")
    version: int | None = Field(default=None, description="the version of the repeat you read")


class UnmergeIn(BaseModel):
    version: int | None = None


class ReturnIn(BaseModel):
    reason: StoredText = Field(
        min_length=1, max_length=2000, description="why the department says the case is not theirs"
    )
    department: StoredText | None = Field(
        default=None, max_length=128, description="the returning department (default: the case's)"
    )
    version: int | None = None


# -- serialising --------------------------------------------------------------------------------


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


def _routing_view(case: Case) -> dict[str, Any]:
    suggestion = next((r for r in case.routings if r.kind == "suggestion"), None)
    details = suggestion.details if suggestion else {}
    return {
        "label": case.label,
        "department": case.department,
        "suggested_department": case.suggested_department,
        "confidence": case.confidence,
        "abstain": case.abstain,
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
        "routing": (routing := _routing_view(case)),
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
            "text": suggested.text,
            "tier": suggested.tier,
            "sources": suggested.sources,
            "style": suggested.style or [],
        }
        if suggested
        else {"text": "", "tier": None, "sources": [], "style": []},
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


def _created_view(case: Case, at: datetime, created: bool) -> dict[str, Any]:
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


def _existing_view(case: Case, payload: CaseIn) -> dict[str, Any]:
    """A repeat's answer: the stored case, and a note when the repeat says something else."""
    view = _created_view(case, now(), created=False)
    if (payload.title or "", payload.body or "") != (case.title, case.body):
        view["note"] = REPEAT_NOTE.format(external_id=case.external_id)
    return view


# -- endpoints ----------------------------------------------------------------------------------


@router.post(
    "/cases",
    summary="Submit a petition: stored, classified, routed, given a deadline and a draft",
    status_code=201,
    response_model=CaseCreated,
    responses={
        200: {
            "model": CaseCreated,
            "description": "A case with this external_id exists already: it is returned, nothing new "
            "is stored (`note` says so when the title or body differ)",
        }
    },
)
def create(payload: CaseIn, request: Request, response: Response) -> dict[str, Any]:
    store = request.app.state.store
    title, body = payload.title or "", payload.body or ""
    text = petition_or_error(title, body)
    with store.session() as s:
        existing = find_by_external_id(s, payload.external_id)
        if existing is not None:
            response.status_code = status.HTTP_200_OK
            return _existing_view(get_case(s, existing.id, full=True), payload)
    received = parse_time(payload.received_at) if payload.received_at else now()
    state = request.app.state
    petition = PetitionInput(title, body, request_type=payload.request_type, text=text)
    try:
        suggestion = state.service.suggest(petition, received, case_ref=payload.external_id)
    except PetitionError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{exc.field}: {exc.message}") from None
    duplicate = find_possible_duplicate(state, text, received)
    if duplicate is not None:
        suggestion.details["possible_duplicate"] = duplicate
    findings = Findings(suggestion.details.get("urgent"), suggestion.details.get("out_of_scope"))
    draft = state.service.case_draft(petition, suggestion.department, suggestion.request_type, findings)
    try:
        with store.session(write=True) as s:
            case = store_case(
                s,
                external_id=payload.external_id,
                title=title,
                body=body,
                received_at=received,
                suggestion=suggestion,
                draft=draft,
                channel=payload.channel,
                district=payload.district,
                actor=actor(request),
                contact=payload.contact.model_dump(exclude_none=True) if payload.contact else None,
                attachments=[a.model_dump(exclude_none=True) for a in payload.attachments]
                if payload.attachments
                else None,
            )
            view = _created_view(case, now(), created=True)  # its collections are the ones just written
    except IntegrityError:
        # the same external_id arrived twice at once: the other request stored it, answer with that
        with store.session() as s:
            existing = find_by_external_id(s, payload.external_id)
            if existing is None:
                raise
            response.status_code = status.HTTP_200_OK
            return _existing_view(get_case(s, existing.id, full=True), payload)
    index_case(state, view["id"], title, body, received)
    return view


@router.get(
    "/cases",
    summary="The queue: overdue first, then by deadline; filtered and paginated",
    response_model=QueuePage,
)
def queue(
    request: Request,
    status_: Annotated[
        str | None,
        Query(alias="status", description="open, or new,assigned,returned,closed (comma-separated)"),
    ] = None,
    department: str | None = None,
    overdue: bool | None = None,
    abstained: bool | None = Query(default=None, description="true: only cases for manual routing"),
    q: Annotated[
        str | None, Query(max_length=200, description="text in the title or body, or an external id")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> JSONResponse:
    filters = CaseFilter(
        status=parse_status(status_),
        department=department or None,
        overdue=overdue,
        abstained=abstained,
        q=q or None,
    )
    at = now()
    with request.app.state.store.session() as s:
        rows, total = list_cases(s, filters, limit=limit, offset=offset, at=at)
        items = [summary(c, at) for c in rows]
    # plain JSON types already: skip FastAPI's per-value encoder, which costs more than the query
    return JSONResponse({"items": items, "total": total, "limit": limit, "offset": offset})


@router.get(
    "/cases/{case_id}",
    summary="One case: petition, routing with reasons, draft and sources, QC, deadline, history",
    response_model=CaseDetail,
)
def read(case_id: RowId, request: Request) -> dict[str, Any]:
    with request.app.state.store.session() as s:
        return detail(get_case(s, case_id, full=True), now())


@router.post(
    "/cases/{case_id}/routing",
    summary="Accept the suggested department or override it with a reason",
    response_model=CaseDetail,
)
def route(case_id: RowId, payload: RoutingIn, request: Request) -> dict[str, Any]:
    department = payload.department
    draft = None
    if payload.action == "override":
        department = checked_department(request.app.state, department, "department")
        draft = _redraft_for(request, case_id, department)
    with request.app.state.store.session(write=True) as s:
        case = get_case(s, case_id)
        decide_routing(
            s,
            case,
            action=payload.action,
            department=department,
            reason=payload.reason,
            actor=actor(request),
            expected_version=payload.version,
        )
        if draft is not None:
            redraft(s, case, draft, drafted_for=department, actor=actor(request))
        return detail(get_case(s, case_id, full=True), now())


def _redraft_for(request: Request, case_id: int, department: str | None) -> Draft | None:
    """The suggested draft for the case once routed to `department`, made before the write
    transaction opens (drafting reads indexes and can be slow, like at intake), or None when the
    department does not change or the case cannot change. An out-of-scope case keeps its template."""
    with request.app.state.store.session() as s:
        case = get_case(s, case_id)
        if case.department == department or case.status not in OPEN_STATUSES:
            return None
        title, body, request_type = case.title, case.body, case.request_type
        view = _routing_view(case)
    findings = Findings(view["urgent"], view["out_of_scope"])
    return request.app.state.service.case_draft(
        PetitionInput(title, body), department, request_type, findings
    )


def _quality(request: Request, case: Case, text: str) -> tuple[dict[str, Any] | None, bool]:
    """The quality checker's result and whether it asks for revision; (None, False) without a checker."""
    checker = getattr(request.app.state, "quality_checker", None)
    if checker is None:
        return None, False
    petition = {"title": case.title, "body": case.body}
    try:
        result = checker.check(
            petition, text, replied_at=now(), received_at=case.received_at, request_type=case.request_type
        ).to_dict()
    except ValueError as exc:
        if case.request_type and "request_type" in str(exc):  # a type the checker does not know
            result = checker.check(petition, text, replied_at=now(), received_at=case.received_at).to_dict()
        else:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"reply: {exc}") from None
    verdict = result.get("verdict")
    flagged = verdict != "ok" if verdict is not None else bool(result.get("flags"))
    return result, flagged


@router.post(
    "/cases/{case_id}/reply",
    summary="Save a draft, or send the final reply after the quality check",
    response_model=ReplyResult,
)
def reply(case_id: RowId, payload: ReplyIn, request: Request) -> dict[str, Any]:
    if not payload.text.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "text is empty: write the reply first")
    store = request.app.state.store
    with store.session() as s:
        case = get_case(s, case_id)
        if case.status == CLOSED:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"case {case_id} is closed: its reply was sent at {iso(case.closed_at)}",
            )
        qc, flagged = _quality(request, case, payload.text)
    if payload.send and flagged and payload.confirm_reason and payload.confirm_reason.strip():
        problem = reason_problem(payload.confirm_reason)
        if problem:  # a token is no reason: refuse before anything is stored
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                {
                    "message": problem,
                    "field": "confirm_reason",
                    "verdict": qc.get("verdict"),
                    "score": qc.get("score"),
                    "flags": qc.get("flags", []),
                },
            )
    live = request.app.state.live_model.peek()
    with store.session(write=True) as s:
        case = get_case(s, case_id)
        saved = save_reply(
            s,
            case,
            text=payload.text,
            send=payload.send,
            qc=qc,
            flagged=flagged,
            confirm_reason=payload.confirm_reason,
            actor=actor(request),
            model_version=live.version if live else case.model_version,
            expected_version=payload.version,
        )
        refused = saved.kind == "refused"
        if saved.kind == "final":
            # the platform's notification commits with the close, one per petition answered
            # (each merged petition keeps its own external id and hears back as its own case)
            s.flush()
            for answered in [case, *(m for m in merged_cases(s, case) if m.status == CLOSED)]:
                enqueue_closed(request, s, answered)
        sent = {"title": case.title, "body": case.body, "department": case.department}
        out = {
            "case_id": case.id,
            "status": case.status,
            "sent": saved.kind == "final",
            "kind": saved.kind,
            "version": case.version,
            "qc": qc,
        }
    if refused:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            {
                "message": "the quality check asks for revision: fix the flags, or send with confirm_reason saying why not",
                "verdict": qc.get("verdict"),
                "score": qc.get("score"),
                "flags": qc.get("flags", []),
            },
        )
    if out["sent"]:
        wake_sender(request.app)
        learn_from_reply(
            request.app.state, case_id=case_id, reply=payload.text, replied_at=now(), qc=qc, **sent
        )
    return out


@router.post(
    "/cases/{case_id}/return",
    summary="退单: the department says the case is not theirs (a hard negative)",
    response_model=CaseDetail,
)
def give_back(case_id: RowId, payload: ReturnIn, request: Request) -> dict[str, Any]:
    returning = checked_department(request.app.state, payload.department, "department")
    draft = _redraft_for(request, case_id, None)  # back to manual routing: no department's answers
    with request.app.state.store.session(write=True) as s:
        case = get_case(s, case_id)
        return_case(
            s,
            case,
            reason=payload.reason,
            department=returning,
            actor=actor(request),
            expected_version=payload.version,
        )
        if draft is not None:
            redraft(s, case, draft, drafted_for=None, actor=actor(request))
        return detail(get_case(s, case_id, full=True), now())


@router.post(
    "/cases/{case_id}/merge",
    summary="并单: merge a repeated petition into the case whose reply will answer it",
    response_model=CaseDetail,
    responses={
        409: {"description": "A closed or already merged case, or a main case that is closed or merged"}
    },
)
def merge(case_id: RowId, payload: MergeIn, request: Request) -> dict[str, Any]:
    with request.app.state.store.session(write=True) as s:
        repeat = get_case(s, case_id, full=True)
        try:
            main = get_case(s, payload.into)
        except CaseNotFound:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"into: no case with id {payload.into} to merge case {case_id} into",
            ) from None
        merge_case(s, repeat, main, actor=actor(request), expected_version=payload.version)
        return detail(get_case(s, case_id, full=True), now())


@router.post(
    "/cases/{case_id}/unmerge",
    summary="Undo a merge (并单) while the main case is still open",
    response_model=CaseDetail,
    responses={409: {"description": "The case is not merged, or was answered with its main case"}},
)
def unmerge(case_id: RowId, request: Request, payload: UnmergeIn | None = None) -> dict[str, Any]:
    with request.app.state.store.session(write=True) as s:
        repeat = get_case(s, case_id, full=True)
        unmerge_case(s, repeat, actor=actor(request), expected_version=payload.version if payload else None)
        return detail(get_case(s, case_id, full=True), now())
