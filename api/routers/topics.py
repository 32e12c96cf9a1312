"""`GET /topics` (hot topics in a window) and `POST /duplicates/check` (is this a repeat?).

The app holds one `TopicState` (duplicate index + topic model) created by `install`; the case
intake adds petitions to the duplicate index, the topic model is the store's shared one
(triage/topics/shared.py: one host writes it, every host serves it), these endpoints only read. The JSON is shaped for
charting: each topic carries `daily`, one {date, count} per day of its span, zero days included.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from api.validation import petition_or_error
from triage.settings import Settings
from triage.topics import TopicState
from triage.topics.case_duplicates import CaseDuplicates
from triage.topics.heat import DEFAULT_HALF_LIFE_DAYS
from triage.topics.heat import __doc__ as HEAT_DOC
from triage.topics.shared import SharedTopics
from triage.topics.store_feed import DuplicateFeed
from triage.topics.times import parse_time

router = APIRouter(tags=["topics"])

HEAT_FORMULA = "heat = Σ_i (1 + ln(1 + likes_i)) · 2^(−age_i / half_life_days)"


def install(app: FastAPI, settings: Settings) -> None:
    """Load (or start) the topic state as app.state.duplicates / .topic_state, the intake's
    duplicate check as .case_duplicates; add routes.

    The duplicate index is read at startup from `<models_dir>/topics/` and catches up with the
    store; the topics are the store's shared model (`app.state.shared_topics`), loaded now.
    """
    state = TopicState.open(settings.models_dir / "topics")
    app.state.topic_state = state
    app.state.duplicates = state.duplicates
    store = getattr(app.state, "store", None)
    feed = None
    if store is not None:
        feed = DuplicateFeed(store, state, check_seconds=settings.model_check_seconds)
        if feed.catch_up():  # what a crash lost, what other hosts stored; a lost folder: all
            state.save()
        app.state.duplicate_feed = feed
        app.state.shared_topics = SharedTopics(store, state, check_seconds=settings.model_check_seconds)
        app.state.shared_topics.catch_up()
    app.state.case_duplicates = CaseDuplicates(state, feed)  # the intake's duplicate check
    app.include_router(router)


def topics_caught_up(request: Request) -> TopicState:
    """The topic state once its topics are the store's newest (at most every check interval)."""
    shared: SharedTopics | None = getattr(request.app.state, "shared_topics", None)
    if shared is not None:
        shared.maybe_catch_up()
    return request.app.state.topic_state


class DailyCount(BaseModel):
    date: str
    count: int


class TopicOut(BaseModel):
    id: str
    title: str = Field(description="a member petition's own title that best covers the topic")
    place: str = Field(description="district and most-named estate/school/company/road, as written")
    entities: list[str]
    first_time: str
    last_time: str
    count: int
    supporters: int = Field(description="sum of 点赞 over the member petitions in the window")
    heat: float
    growth: int = Field(description="petitions in the window's last 7 days minus the 7 days before")
    daily: list[DailyCount]
    members: list[str] = Field(description="member petition ids in time order")


class TopicsResponse(BaseModel):
    since: str | None
    until: str | None
    half_life_days: float
    heat_formula: str
    total: int = Field(description="topics in the window before `limit`")
    topics: list[TopicOut]


def _time(name: str, value: str | None) -> datetime | None:
    try:
        return parse_time(value)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name}: {exc}") from None


@router.get("/topics", response_model=TopicsResponse, summary="Hot topics in a time window, hottest first")
def list_topics(
    request: Request,
    since: Annotated[str | None, Query(description="start of the window, e.g. 2019-11-01")] = None,
    until: Annotated[
        str | None, Query(description="end of the window; a date includes the whole day")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
    min_count: Annotated[int, Query(ge=1, le=1000, description="fewest petitions for a topic")] = 2,
    half_life_days: Annotated[float, Query(gt=0, le=3650)] = DEFAULT_HALF_LIFE_DAYS,
):
    for name, value in (("since", since), ("until", until)):
        _time(name, value)  # a clear 422 naming the parameter before anything is computed
    state = topics_caught_up(request)  # the cases other hosts stored count too
    with state.lock:
        try:
            found = state.topics.topics(since, until, min_count=min_count, half_life_days=half_life_days)
        except ValueError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return TopicsResponse(
        since=since,
        until=until,
        half_life_days=half_life_days,
        heat_formula=HEAT_FORMULA,
        total=len(found),
        topics=[TopicOut(**t.to_dict()) for t in found[:limit]],
    )


@router.get("/topics/heat-formula", summary="How heat is computed, in words")
def heat_formula():
    return {"formula": HEAT_FORMULA, "explanation": (HEAT_DOC or "").strip()}


@router.get("/topics/{topic_id}", response_model=TopicOut, summary="One topic over its whole history")
def get_topic(request: Request, topic_id: str):
    state = topics_caught_up(request)
    with state.lock:
        found = state.topics.topic(topic_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no topic {topic_id!r}")
    return TopicOut(**found.to_dict())


class DuplicateCheck(BaseModel):
    title: str | None = Field(default=None, description="The petition's title (留言主题)")
    body: str | None = Field(default=None, description="The petition's text (留言详情)")
    received_at: str | None = Field(default=None, description="when it arrived; default now")
    within_days: int | None = Field(default=None, ge=0, le=3650, description="only cases this recent")
    limit: int = Field(default=5, ge=1, le=50)


class MatchOut(BaseModel):
    case_id: str
    similarity: float
    received_at: str | None


class DuplicateResult(BaseModel):
    duplicate: bool = Field(description="true when at least one indexed case is a near-duplicate (可能重复)")
    threshold: float
    matches: list[MatchOut]


@router.post("/duplicates/check", response_model=DuplicateResult, summary="Near-duplicates of a petition")
def check_duplicates(payload: DuplicateCheck, request: Request):
    text = petition_or_error(payload.title, payload.body)
    when = _time("received_at", payload.received_at)
    request.app.state.case_duplicates.catch_up()
    state: TopicState = request.app.state.topic_state
    with state.lock:
        matches = state.duplicates.query(text, received_at=when, within_days=payload.within_days)
        threshold = state.duplicates.threshold
    return DuplicateResult(
        duplicate=bool(matches),
        threshold=threshold,
        matches=[
            MatchOut(
                case_id=m.case_id,
                similarity=m.similarity,
                received_at=m.received_at.isoformat(sep=" ") if m.received_at else None,
            )
            for m in matches[: payload.limit]
        ],
    )
