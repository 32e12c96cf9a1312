"""`POST /classify` and `POST /classify/batch`: the platform's routing calls."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from api.deps import get_loaded_model
from api.live_model import LoadedModel
from api.routers.routing import request_type_prediction, routing_fields
from api.validation import petition_or_error
from triage.classifier import Prediction

router = APIRouter(tags=["classify"])


class Petition(BaseModel):
    title: str | None = Field(default=None, description="The petition's title (留言主题)")
    body: str | None = Field(default=None, description="The petition's text (留言详情)")
    received_at: str | None = Field(
        default=None,
        description="When the petition was received (ISO 8601; without a zone: the routing table's zone). "
        "Default: now. Sets due_at.",
    )
    request_type: str | None = Field(
        default=None,
        description="咨询 / 投诉 / 求助 / 建议 / 举报 / 表扬 when the platform knows it; else predicted",
    )


class ClassifyRequest(Petition):
    k: int = Field(default=3, ge=1, le=20, description="How many labels to return in top_k")


class LabelProbability(BaseModel):
    label: str
    probability: float


class ReasonOut(BaseModel):
    term: str
    weight: float


class Departments(BaseModel):
    lead: str | None = Field(description="主办: the department that answers")
    assist: list[str] = Field(description="协办: departments that help")


class PlaceOut(BaseModel):
    city: str | None
    district: str | None
    street: str | None
    community: str | None


class OutOfScopeOut(BaseModel):
    reason: str
    evidence: str
    template: str


class UrgentOut(BaseModel):
    reason: str = Field(description="What kind of emergency (燃气泄漏或燃气味, 火情或浓烟 …)")
    evidence: str = Field(description="The clause of the petition that shows it")
    transfer: str | None = Field(description="The emergency line to hand it to (119, 燃气抢修 96777 …)")


class ClassifyResponse(BaseModel):
    label: str
    confidence: float
    abstain: bool = Field(description="True when staff should route this petition by hand")
    top_k: list[LabelProbability]
    reasons: list[ReasonOut]
    model_version: str
    departments: Departments | None = None
    request_type: str | None = None
    due_at: str | None = Field(
        default=None, description="Reply deadline (ISO 8601): working days, or hours for an urgent matter"
    )
    place: PlaceOut | None = None
    out_of_scope: OutOfScopeOut | None = Field(
        default=None, description="Set when the hotline must not accept the petition: manual queue"
    )
    urgent: UrgentOut | None = Field(
        default=None,
        description="Set for an emergency (gas, fire, people trapped …): due in hours, top of the queue",
    )


class BatchRequest(BaseModel):
    items: list[Petition]
    k: int = Field(default=3, ge=1, le=20)


class BatchResponse(BaseModel):
    items: list[ClassifyResponse]
    model_version: str


def to_response(prediction: Prediction, version: str, routing: dict | None = None) -> ClassifyResponse:
    return ClassifyResponse(model_version=version, **prediction.to_dict(), **(routing or {}))


async def loaded_model(request: Request) -> LoadedModel:
    """`get_loaded_model` on the event loop: it reads memory and, at most once a second, stats
    the live pointer, so handing it to a worker thread (what FastAPI does with a plain `def`
    dependency) cost more than the call. A promotion's model load then runs on the loop, as the
    request-type model's already does."""
    return get_loaded_model(request)


@router.post("/classify", response_model=ClassifyResponse, summary="Classify one petition")
async def classify(
    payload: ClassifyRequest,
    request: Request,
    loaded: Annotated[LoadedModel, Depends(loaded_model)],
):
    text = petition_or_error(payload.title, payload.body)
    prediction = loaded.model.predict_top_k([text], k=payload.k)[0]
    routing = routing_fields(
        request,
        payload.title,
        payload.body,
        prediction,
        received_at=payload.received_at,
        request_type=payload.request_type,
        request_type_prediction=None if payload.request_type else request_type_prediction(request, [text])[0],
    )
    return to_response(prediction, loaded.version, routing)


@router.post(
    "/classify/batch",
    response_model=BatchResponse,
    summary="Classify up to 1,000 petitions",
)
def classify_batch(
    payload: BatchRequest,
    request: Request,
    loaded: Annotated[LoadedModel, Depends(get_loaded_model)],
):
    limit = request.app.state.settings.max_batch_items
    if len(payload.items) > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"batch has {len(payload.items)} items; the limit is {limit}",
        )
    if not payload.items:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "items is empty: nothing to classify")
    texts = [
        petition_or_error(item.title, item.body, where=f"items[{i}]") for i, item in enumerate(payload.items)
    ]
    predictions = loaded.model.predict_top_k(texts, k=payload.k)
    types = request_type_prediction(request, texts)
    routings = [
        routing_fields(
            request,
            item.title,
            item.body,
            p,
            received_at=item.received_at,
            request_type=item.request_type,
            request_type_prediction=t,
            where=f"items[{i}]",
        )
        for i, (item, p, t) in enumerate(zip(payload.items, predictions, types, strict=True))
    ]
    return BatchResponse(
        items=[to_response(p, loaded.version, r) for p, r in zip(predictions, routings, strict=True)],
        model_version=loaded.version,
    )
