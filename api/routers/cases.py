"""The `/cases` routes: the platform submits, staff route, draft, reply, return and merge cases.

Each workflow is the app's `CaseDesk` (triage/casework.py: the one home of intake, routing
decisions, replies, returns and merges); these routes read the request, call it and answer with
its view. Every suggestion shown and every decision taken is written with the model version in
force, which makes the store both the audit trail and the next model's training data.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator

from api.auth import actor
from api.case_schemas import CaseDetail, QueuePage, ReplyResult
from api.platform_schemas import MAX_ATTACHMENTS, AttachmentIn, CaseCreated, ContactIn
from api.validation import RowId, StoredText, petition_or_error
from triage.casework import CaseDesk, NewCase
from triage.store.case_views import detail, summary
from triage.store.clock import now
from triage.store.repository import CaseFilter, get_case, list_cases, parse_status

log = logging.getLogger("triage.cases")
router = APIRouter(tags=["cases"])


def cases_of(request: Request) -> CaseDesk:
    """The app's case workflow (built with the app: api/app.py)."""
    return request.app.state.service.cases


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
    petition_or_error(payload.title, payload.body)  # 413/422 naming the field, before anything else
    new = NewCase(
        external_id=payload.external_id,
        title=payload.title or "",
        body=payload.body or "",
        received_at=payload.received_at,
        channel=payload.channel,
        district=payload.district,
        request_type=payload.request_type,
        contact=payload.contact.model_dump(exclude_none=True) if payload.contact else None,
        attachments=[a.model_dump(exclude_none=True) for a in payload.attachments]
        if payload.attachments
        else None,
    )
    intake = cases_of(request).intake(new, actor(request))
    if not intake.created:
        response.status_code = status.HTTP_200_OK
    return intake.view


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
        str | None,
        Query(
            max_length=200,
            description="text in the title or body, in either script (电梯 finds 電梯), or an external id",
        ),
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
    return cases_of(request).decide_routing(case_id, **payload.model_dump(), actor=actor(request))


@router.post(
    "/cases/{case_id}/reply",
    summary="Save a draft, or send the final reply after the quality check",
    response_model=ReplyResult,
)
def reply(case_id: RowId, payload: ReplyIn, request: Request) -> dict[str, Any]:
    return cases_of(request).reply(case_id, **payload.model_dump(), actor=actor(request))


@router.post(
    "/cases/{case_id}/return",
    summary="退单: the department says the case is not theirs (a hard negative)",
    response_model=CaseDetail,
)
def give_back(case_id: RowId, payload: ReturnIn, request: Request) -> dict[str, Any]:
    return cases_of(request).give_back(case_id, **payload.model_dump(), actor=actor(request))


@router.post(
    "/cases/{case_id}/merge",
    summary="并单: merge a repeated petition into the case whose reply will answer it",
    response_model=CaseDetail,
    responses={
        409: {"description": "A closed or already merged case, or a main case that is closed or merged"}
    },
)
def merge(case_id: RowId, payload: MergeIn, request: Request) -> dict[str, Any]:
    return cases_of(request).merge(case_id, payload.into, actor=actor(request), version=payload.version)


@router.post(
    "/cases/{case_id}/unmerge",
    summary="Undo a merge (并单) while the main case is still open",
    response_model=CaseDetail,
    responses={409: {"description": "The case is not merged, or was answered with its main case"}},
)
def unmerge(case_id: RowId, request: Request, payload: UnmergeIn | None = None) -> dict[str, Any]:
    return cases_of(request).unmerge(
        case_id, actor=actor(request), version=payload.version if payload else None
    )
