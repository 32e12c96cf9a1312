"""`POST /draft`: a reply draft for staff, with its sources and the slots they must complete.

The app builds one drafter at startup (`build_drafter`) so the answer library, the history index
and any embedding model are loaded once per process, not per request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from api.deps import get_service
from api.validation import petition_or_error
from triage.drafting import Drafter, open_drafter_from_settings
from triage.service import PetitionInput, TriageService
from triage.settings import Settings

router = APIRouter(tags=["drafting"])


def build_drafter(settings: Settings, store=None) -> Drafter:  # store: triage.store.engine.Store
    """The process's drafter; a bad embedding model is logged (by `open_drafter`) at start, and BM25
    carries on; the reason stays on `drafter.encoder_error`.

    The history index checks for cases other workers (or the CLI) added as often as the live model
    is checked (`TRIAGE_MODEL_CHECK_SECONDS`), so every worker drafts from them within that bound.
    """
    drafter = open_drafter_from_settings(settings, store).drafter.warm()
    if drafter.history is not None:
        drafter.history.check_seconds = settings.model_check_seconds
    if drafter.history_feed is not None:
        drafter.history_feed.catch_up()  # at start, not on a citizen's first draft (a lost folder: all)
    if drafter.import_feed is not None:
        drafter.import_feed.catch_up()
    return drafter


def get_drafter(request: Request) -> Drafter:
    drafter = getattr(request.app.state, "drafter", None)
    if drafter is None:
        drafter = build_drafter(request.app.state.settings, getattr(request.app.state, "store", None))
        request.app.state.drafter = drafter
    return drafter


class DraftRequest(BaseModel):
    title: str | None = Field(default=None, description="The petition's title (留言主题)")
    body: str | None = Field(default=None, description="The petition's text (留言详情)")
    department: str | None = Field(default=None, description="The department it was routed to, if known")
    request_type: str | None = Field(default=None, description="咨询, 投诉, 求助, 建议 …, if known")


class SourceOut(BaseModel):
    kind: str = Field(description="manual (curated answer library) or history (a past reply)")
    id: str
    score: float
    department: str
    text: str


class OptionalPart(BaseModel):
    part: str = Field(description="basis or contact")
    text: str = Field(description="the sentence, with its 【…】 slot, to add when the reply needs it")


class StylePartOut(BaseModel):
    part: str = Field(
        description="开头 (opening), 结尾 (closing), 日期 (date format), 分条 (numbered points) or 核实用语"
    )
    text: str = Field(description="the fixed sentence (or format) as the draft uses it")
    count: int = Field(description="past replies that have it")
    of: int = Field(description="past replies it was mined from (0: the neutral skeleton)")
    scope: str = Field(description="department (its own replies), deployment (all replies) or neutral")
    department: str = Field(default="", description="the department whose replies it came from")


class DraftResponse(BaseModel):
    draft: str
    tier: str = Field(
        description="suggest (staff review), escalate (nothing relevant was found), urgent (an emergency: "
        "the reply says where it was transferred) or out_of_scope (a matter the hotline must not "
        "accept: the routing table's template says where to go)"
    )
    sources: list[SourceOut]
    missing: list[str] = Field(description="slots staff must complete, marked 【…】 in the draft")
    optional: list[OptionalPart] = Field(
        default_factory=list,
        description="sentences left out because most similar past replies do without them (basis, contact)",
    )
    style: list[StylePartOut] = Field(
        default_factory=list,
        description="where the draft's fixed sentences came from: the house style mined from past replies",
    )
    auto_reply: bool = Field(
        default=False,
        description="true only when an admin enabled auto-reply and a complete curated answer clears the threshold",
    )
    out_of_scope: str | None = Field(
        default=None, description="tier out_of_scope: why the hotline must not accept it (诉讼, 信访复查 …)"
    )


@router.post("/draft", response_model=DraftResponse, summary="Draft a reply to a petition")
def draft(payload: DraftRequest, service: Annotated[TriageService, Depends(get_service)]):
    petition_or_error(payload.title, payload.body)
    try:
        result = service.draft(
            PetitionInput(payload.title, payload.body),
            department=payload.department,
            request_type=payload.request_type,
        )
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return {**result.to_dict(), "auto_reply": result.auto_reply}


def install(app, settings: Settings) -> None:  # app: fastapi.FastAPI
    """One drafter per process on `app.state.drafter`, plus the /draft and /answers routes."""
    from api.routers import answers

    app.state.drafter = build_drafter(settings, getattr(app.state, "store", None))
    app.include_router(router)
    app.include_router(answers.router)
