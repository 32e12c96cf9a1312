"""`POST /classify` and `POST /classify/batch`: the platform's routing calls."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from api.deps import get_loaded_model
from api.live_model import LoadedModel
from api.validation import petition_or_error
from triage.classifier import Prediction

router = APIRouter(tags=["classify"])


class Petition(BaseModel):
    title: str | None = Field(
        default=None, description="The petition's title (留言主题)"
    )
    body: str | None = Field(default=None, description="The petition's text (留言详情)")


class ClassifyRequest(Petition):
    k: int = Field(
        default=3, ge=1, le=20, description="How many labels to return in top_k"
    )


class LabelProbability(BaseModel):
    label: str
    probability: float


class ReasonOut(BaseModel):
    term: str
    weight: float


class ClassifyResponse(BaseModel):
    label: str
    confidence: float
    abstain: bool = Field(
        description="True when staff should route this petition by hand"
    )
    top_k: list[LabelProbability]
    reasons: list[ReasonOut]
    model_version: str


class BatchRequest(BaseModel):
    items: list[Petition]
    k: int = Field(default=3, ge=1, le=20)


class BatchResponse(BaseModel):
    items: list[ClassifyResponse]
    model_version: str


def to_response(prediction: Prediction, version: str) -> ClassifyResponse:
    return ClassifyResponse(model_version=version, **prediction.to_dict())


@router.post(
    "/classify", response_model=ClassifyResponse, summary="Classify one petition"
)
async def classify(
    payload: ClassifyRequest, loaded: Annotated[LoadedModel, Depends(get_loaded_model)]
):
    text = petition_or_error(payload.title, payload.body)
    prediction = loaded.model.predict_top_k([text], k=payload.k)[0]
    return to_response(prediction, loaded.version)


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
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "items is empty: nothing to classify"
        )
    texts = [
        petition_or_error(item.title, item.body, where=f"items[{i}]")
        for i, item in enumerate(payload.items)
    ]
    predictions = loaded.model.predict_top_k(texts, k=payload.k)
    return BatchResponse(
        items=[to_response(p, loaded.version) for p in predictions],
        model_version=loaded.version,
    )
