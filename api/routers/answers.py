"""The manual answer library over HTTP: list, add, edit and retire curated answers.

DELETE retires rather than erases: drafts already shown to staff cite entries by id, and the
trail from a sent reply back to the answer it came from must stay intact.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.routers.drafting import get_drafter
from triage.answers import AnswerError, AnswerLibrary, DuplicateAnswer, StaleAnswer, UnknownAnswer

router = APIRouter(tags=["answers"])


class AnswerOut(BaseModel):
    id: str
    department: str
    question: str
    answer: str
    keywords: list[str]
    valid_from: str | None
    valid_until: str | None
    author: str
    retired: bool
    created_at: str
    updated_at: str
    version: int = Field(description="send it back with an edit: a stale one is refused with 409")


class AnswerList(BaseModel):
    items: list[AnswerOut]
    total: int


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, description="optional; generated when absent")
    department: str = ""
    question: str = ""
    answer: str = Field(description="the curated answer or template; 【…】 marks slots staff fill")
    keywords: list[str] | str = Field(default_factory=list)
    valid_from: date | None = None
    valid_until: date | None = None
    author: str = ""


class AnswerPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    department: str | None = None
    question: str | None = None
    answer: str | None = None
    keywords: list[str] | str | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    author: str | None = None
    retired: bool | None = None
    version: int | None = Field(
        default=None, description="the version you read; if someone changed the entry since, 409"
    )


def library(request: Request) -> AnswerLibrary:
    drafter = get_drafter(request)
    if drafter.answers is None:  # pragma: no cover - build_drafter always creates one
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the answer library is not loaded")
    return drafter.answers


def _caller(request: Request) -> str:
    """Who is adding the entry when the body names no author: the audit trail needs a name."""
    identity = getattr(request.state, "identity", None)
    return identity.actor if identity is not None else ""


def _error(exc: Exception) -> HTTPException:
    if isinstance(exc, UnknownAnswer):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))
    if isinstance(exc, DuplicateAnswer | StaleAnswer):
        return HTTPException(status.HTTP_409_CONFLICT, str(exc))
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))


@router.get("/answers", response_model=AnswerList, summary="List curated answers")
def list_answers(request: Request, department: str | None = None, include_retired: bool = False):
    items = library(request).list(department=department, include_retired=include_retired)
    return {"items": [a.to_dict() for a in items], "total": len(items)}


@router.get("/answers/{answer_id}", response_model=AnswerOut, summary="One curated answer")
def get_answer(answer_id: str, request: Request):
    try:
        return library(request).get(answer_id).to_dict()
    except UnknownAnswer as exc:
        raise _error(exc) from None


@router.post("/answers", response_model=AnswerOut, status_code=201, summary="Add a curated answer")
def add_answer(payload: AnswerIn, request: Request, response: Response):
    fields = payload.model_dump(exclude={"id"})
    fields["author"] = fields["author"] or _caller(request)
    try:
        answer = library(request).add(fields, answer_id=payload.id, actor=_caller(request) or None)
    except AnswerError as exc:
        raise _error(exc) from None
    response.headers["Location"] = f"/answers/{answer.id}"
    return answer.to_dict()


@router.put("/answers/{answer_id}", response_model=AnswerOut, summary="Edit a curated answer")
def edit_answer(answer_id: str, payload: AnswerPatch, request: Request):
    fields = payload.model_dump(exclude_unset=True)
    version = fields.pop("version", None)
    if not fields:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "nothing to change: the body has no fields"
        )
    try:
        return (
            library(request)
            .update(answer_id, fields, expected_version=version, actor=_caller(request) or None)
            .to_dict()
        )
    except (AnswerError, UnknownAnswer, StaleAnswer) as exc:
        raise _error(exc) from None


@router.delete("/answers/{answer_id}", response_model=AnswerOut, summary="Retire a curated answer")
def retire_answer(answer_id: str, request: Request, version: int | None = None):
    try:
        return (
            library(request)
            .retire(answer_id, expected_version=version, actor=_caller(request) or None)
            .to_dict()
        )
    except (UnknownAnswer, StaleAnswer) as exc:
        raise _error(exc) from None
