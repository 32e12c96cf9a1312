"""`POST /classify` and `POST /classify/batch`: the platform's routing calls."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, Field

from api.deps import get_service
from api.validation import petition_or_error
from triage.loaded_model import NoLiveModel
from triage.service import Classified, PetitionError, PetitionInput, TriageService

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
    abstain_reason: str | None = Field(
        default=None,
        description="Why it abstains: label_not_automatic (the model is never trusted alone on this label: "
        "it missed the target precision there in training), below_threshold, close_runner_up; null when routed",
    )
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
    reasons: bool = Field(
        default=True,
        description="false: leave each item's `reasons` empty (a backlog re-routed in bulk needs no "
        "explanation per petition, and skipping them is faster)",
    )


class BatchResponse(BaseModel):
    items: list[ClassifyResponse]
    model_version: str


ROUTING_FIELDS = ("departments", "request_type", "due_at", "place", "out_of_scope", "urgent")


def to_response(item: Classified, version: str) -> ClassifyResponse:
    """The answer for one petition: the prediction, and the routing fields when a table is in force."""
    routing = item.routing.to_dict() if item.routing is not None else {}
    return ClassifyResponse(
        model_version=version,
        **item.prediction.to_dict(),
        **{name: routing.get(name) for name in ROUTING_FIELDS},
    )


async def service_on_loop(request: Request) -> TriageService:
    """The service, handed over on the event loop: getting the live model reads memory and, at
    most once a second, the live pointer, so handing it to a worker thread (what FastAPI does
    with a plain `def` dependency) cost more than the call. A promotion's model load then runs
    on the loop, as the request-type model's already does."""
    return get_service(request)


def classified(
    service: TriageService, petitions: list[PetitionInput], k: int, *, batch: bool, reasons: bool = True
) -> tuple[str, list[Classified]]:
    """`service.classify`, its errors as HTTP answers: 503 without a live model, 422 naming the
    petition (`items[i]` in a batch) for a received time or request type the table cannot use."""
    try:
        return service.classify(petitions, k=k, reasons=reasons)
    except NoLiveModel as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    except PetitionError as exc:
        where = f"items[{exc.index}]: " if batch else ""
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{where}{exc.message}") from None


def _petition(item: Petition, text: str) -> PetitionInput:
    return PetitionInput(item.title, item.body, item.received_at, item.request_type, text=text)


@router.post("/classify", response_model=ClassifyResponse, summary="Classify one petition")
async def classify(payload: ClassifyRequest, service: Annotated[TriageService, Depends(service_on_loop)]):
    text = petition_or_error(payload.title, payload.body)
    version, [item] = classified(service, [_petition(payload, text)], payload.k, batch=False)
    return to_response(item, version)


@router.post(
    "/classify/batch",
    response_model=BatchResponse,
    summary="Classify up to 1,000 petitions",
)
def classify_batch(
    payload: BatchRequest,
    request: Request,
    response: Response,
    service: Annotated[TriageService, Depends(get_service)],
):
    settings = request.app.state.settings
    if settings.serve_workers > 1:
        # A keep-alive connection stays with the worker that accepted it, so a client's batches
        # would all queue on one worker while the others idle (measured with two workers and two
        # clients: 2,250/s, below one worker's 2,865/s). Closed after each batch, the client's
        # next connection is accepted by a free worker; a reconnect costs far less than a batch.
        response.headers["Connection"] = "close"
    limit = settings.max_batch_items
    if len(payload.items) > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"batch has {len(payload.items)} items; the limit is {limit}",
        )
    if not payload.items:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "items is empty: nothing to classify")
    petitions = [
        _petition(item, petition_or_error(item.title, item.body, where=f"items[{i}]"))
        for i, item in enumerate(payload.items)
    ]
    version, items = classified(service, petitions, payload.k, batch=True, reasons=payload.reasons)
    return BatchResponse(items=[to_response(item, version) for item in items], model_version=version)
