"""The platform hears back: its own cases by external id, citizens' supplements, the close webhook.

A platform key reads and adds to only the cases it submitted (an admin key to any); anything else
answers 404 exactly like an unknown id. When a case closes, the reply route writes a delivery to
the outbox in the same transaction (`triage.store.platform.enqueue_closed`) and wakes this process's sender, which
POSTs it from a background thread (triage.webhook); admins see every attempt at /admin/webhooks.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Path, Query, Request, status
from sqlalchemy.orm import Session

from api.auth import ADMIN, actor
from api.platform_schemas import (
    CaseClosedEvent,
    ErrorOut,
    PlatformCase,
    SupplementAdded,
    SupplementIn,
    WebhookDeliveryOut,
    WebhookList,
)
from triage.settings import Settings
from triage.store.clock import now, parse_time
from triage.store.models import Case
from triage.store.outbox import delivery_view, list_deliveries, requeue
from triage.store.platform import CLOSED_EVENT, add_supplement, platform_case, platform_view, supplement_view
from triage.webhook import WebhookConfig, WebhookSender

log = logging.getLogger("triage.platform")
router = APIRouter(tags=["platform"])
admin_router = APIRouter(tags=["admin"])

ExternalId = Annotated[str, Path(min_length=1, max_length=128, description="the platform's own id")]
NOT_YOURS = {"model": ErrorOut, "description": "No case with this external_id submitted with this key"}


def _own_case(request: Request, session: Session, external_id: str) -> Case:
    identity = getattr(request.state, "identity", None)
    return platform_case(
        session,
        external_id.strip(),
        actor(request),
        any_owner=identity is not None and identity.role == ADMIN,
    )


@router.get(
    "/platform/cases/{external_id}",
    summary="A case you submitted: status, department, deadline, the sent reply, supplements",
    response_model=PlatformCase,
    responses={404: NOT_YOURS},
)
def read_own(external_id: ExternalId, request: Request) -> dict[str, Any]:
    with request.app.state.store.session() as s:
        return platform_view(_own_case(request, s, external_id), now())


@router.post(
    "/platform/cases/{external_id}/supplements",
    summary="Add a citizen's supplement (补充) to an open case you submitted",
    status_code=status.HTTP_201_CREATED,
    response_model=SupplementAdded,
    responses={
        404: NOT_YOURS,
        409: {"model": ErrorOut, "description": "The case is closed: submit a new petition instead"},
    },
)
def supplement(external_id: ExternalId, payload: SupplementIn, request: Request) -> dict[str, Any]:
    received = parse_time(payload.received_at) if payload.received_at else None
    with request.app.state.store.session(write=True) as s:
        case = _own_case(request, s, external_id)
        added = add_supplement(s, case, text=payload.text, received_at=received, actor=actor(request))
        return {"supplement": supplement_view(added), "case": platform_view(case, now())}


# -- the webhook ---------------------------------------------------------------------------------


def wake_sender(app: FastAPI) -> None:
    """After the commit: send now rather than at the next poll."""
    sender = getattr(app.state, "webhook_sender", None)
    if sender is not None:
        sender.wake()


def _target(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"


@admin_router.get(
    "/admin/webhooks",
    summary="Webhook deliveries, newest first, with every attempt",
    response_model=WebhookList,
)
def deliveries(
    request: Request,
    status_: Annotated[str | None, Query(alias="status", description="pending, delivered or failed")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    with request.app.state.store.session() as s:
        rows, total = list_deliveries(s, status=status_ or None, limit=limit, offset=offset)
        items = [delivery_view(r) for r in rows]
    return {
        "items": items,
        "total": total,
        "limit": limit,
        "offset": offset,
        "configured": bool(settings.webhook_url),
        "target": _target(settings.webhook_url),
        "signed": bool(settings.webhook_secret),
    }


@admin_router.post(
    "/admin/webhooks/{delivery_id}/retry",
    summary="Send a failed delivery again, with a fresh set of attempts",
    response_model=WebhookDeliveryOut,
    responses={409: {"model": ErrorOut, "description": "The delivery is not failed"}},
)
def retry(delivery_id: Annotated[int, Path(ge=1, le=2**63 - 1)], request: Request) -> dict[str, Any]:
    with request.app.state.store.session(write=True) as s:
        view = delivery_view(requeue(s, delivery_id))
    wake_sender(request.app)
    return view


def _document_webhook(app: FastAPI) -> None:
    @app.webhooks.post(CLOSED_EVENT)
    def case_closed(body: CaseClosedEvent) -> None:
        """Sent to TRIAGE_WEBHOOK_URL when a case's reply is sent. Headers: `X-Triage-Event`,
        `X-Triage-Delivery` (the delivery id: the same id may arrive twice, deduplicate on it),
        `X-Triage-Timestamp` (Unix seconds) and `X-Triage-Signature: sha256=<hex>`, the
        HMAC-SHA256 with TRIAGE_WEBHOOK_SECRET of `<timestamp>.<raw body>`. Answer 2xx within
        TRIAGE_WEBHOOK_TIMEOUT_SECONDS; anything else is retried with exponential backoff."""


def install(app: FastAPI, settings: Settings) -> None:
    """The platform routes, /admin/webhooks, and the sender thread when a webhook URL is set."""
    app.include_router(router)
    app.include_router(admin_router)
    _document_webhook(app)
    app.state.webhook_sender = None
    if not settings.webhook_url:
        return
    sender = WebhookSender(
        app.state.store,
        WebhookConfig(
            url=settings.webhook_url,
            secret=settings.webhook_secret,
            timeout=settings.webhook_timeout_seconds,
            max_attempts=settings.webhook_max_attempts,
            backoff=settings.webhook_backoff_seconds,
            poll=settings.webhook_poll_seconds,
        ),
    )
    app.state.webhook_sender = sender
    app.router.add_event_handler("startup", sender.start)
    app.router.add_event_handler("shutdown", sender.stop)
