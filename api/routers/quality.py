"""`POST /check` and `POST /check/batch`: the reply quality check staff see while they write.

The app holds one `QualityChecker` (`app.state.quality_checker`): the rules are compiled once, and
the near-duplicate reference set (past replies) is read on the first check, not at start-up.
Dates arrive as strings because hotline systems send "2019/4/25 9:32:09" as often as ISO 8601;
the checker reads both and names the field it cannot read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status
from pydantic import BaseModel, Field

from triage.csvio import DataError, read_csv, require_columns
from triage.quality import CHECKLIST, ELEMENTS, QualityChecker, QualityInputError, ReplyTooLong
from triage.settings import Settings

router = APIRouter(tags=["quality"])


def reference_replies(path: Path | None) -> list[str]:
    """Past replies for the near-duplicate check: an admin's CSV, else the bundled sample's."""
    if path is None:
        from datasets import load_sample

        return [row.get("reply", "") for row in load_sample()]
    header, rows = read_csv(path)
    require_columns(path, header, ["reply"])
    return [row["reply"] for row in rows]


def build_checker(settings: Settings) -> QualityChecker:
    checker = QualityChecker(rules_path=settings.quality_rules)
    return checker.fit_reply_corpus_later(lambda: reference_replies(settings.quality_reference_csv))


def install(app: FastAPI, settings: Settings) -> None:
    app.state.quality_checker = build_checker(settings)
    app.include_router(router)


def get_checker(request: Request) -> QualityChecker:
    checker = getattr(request.app.state, "quality_checker", None)
    if checker is None:
        checker = request.app.state.quality_checker = build_checker(request.app.state.settings)
    return checker


class PetitionIn(BaseModel):
    title: str | None = Field(default=None, description="The petition's title (留言主题)")
    body: str | None = Field(default=None, description="The petition's text (留言详情)")
    received_at: str | None = Field(
        default=None, description="When it was received: ISO 8601 or 2019/4/25 9:32:09"
    )
    request_type: str | None = Field(default=None, description="咨询, 投诉, 建议, 求助 … (or English)")


class CheckRequest(BaseModel):
    petition: PetitionIn
    reply: str = Field(description="The reply as it would be sent (an empty reply is flagged)")
    received_at: str | None = Field(default=None, description="Overrides petition.received_at")
    replied_at: str | None = Field(default=None, description="When the reply is (or was) sent")
    request_type: str | None = Field(default=None, description="Overrides petition.request_type")


class FlagOut(BaseModel):
    code: str = Field(description="Stable code, e.g. ack_only, forwarded_only, late")
    message: str = Field(description="What is wrong, in words a clerk understands")
    evidence: str = Field(description="The phrase or the figure that raised the flag")


class ChecklistItemOut(BaseModel):
    item: str = Field(description=f"One of {', '.join(CHECKLIST)}")
    present: bool
    required: bool = Field(description="The verdict is revise while a required item is missing")
    evidence: str = Field(description="The phrase that shows the item, when present")


class CheckResponse(BaseModel):
    score: int = Field(ge=0, le=100)
    verdict: str = Field(description="ok, or revise before sending (never ok with a required item missing)")
    flags: list[FlagOut]
    elements: dict[str, bool] = Field(description=f"Parts of a good reply present: {', '.join(ELEMENTS)}")
    checklist: list[ChecklistItemOut] = Field(
        default_factory=list,
        description="What the staff page shows beside the verdict, as the checker judged it",
    )


class BatchCheckRequest(BaseModel):
    items: list[CheckRequest]


class BatchCheckResponse(BaseModel):
    items: list[CheckResponse]


def _item(payload: CheckRequest) -> dict[str, Any]:
    return {
        "petition": payload.petition.model_dump(),
        "reply": payload.reply,
        "received_at": payload.received_at,
        "replied_at": payload.replied_at,
        "request_type": payload.request_type,
    }


def _http_error(exc: QualityInputError) -> HTTPException:
    if isinstance(exc, ReplyTooLong):
        return HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(exc))
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))


@router.post("/check", response_model=CheckResponse, summary="Check one reply before it is sent")
def check(payload: CheckRequest, checker: Annotated[QualityChecker, Depends(get_checker)]):
    item = _item(payload)
    try:
        result = checker.check(
            item["petition"],
            item["reply"],
            replied_at=item["replied_at"],
            received_at=item["received_at"],
            request_type=item["request_type"],
        )
    except QualityInputError as exc:
        raise _http_error(exc) from None
    except DataError as exc:  # the admin's reference CSV is unreadable
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"reference replies: {exc}") from None
    return result.to_dict()


@router.post("/check/batch", response_model=BatchCheckResponse, summary="Check up to max_batch_items replies")
def check_batch(
    payload: BatchCheckRequest,
    request: Request,
    checker: Annotated[QualityChecker, Depends(get_checker)],
):
    limit = request.app.state.settings.max_batch_items
    if len(payload.items) > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE, f"batch has {len(payload.items)} items; the limit is {limit}"
        )
    if not payload.items:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "items is empty: nothing to check")
    try:
        results = checker.check_many([_item(item) for item in payload.items])
    except QualityInputError as exc:
        raise _http_error(exc) from None
    except DataError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"reference replies: {exc}") from None
    return {"items": [r.to_dict() for r in results]}
