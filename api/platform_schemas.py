"""The shapes the submitting platform sends and gets back, as pydantic models for the OpenAPI.

Response models whose JSON other parts of the service extend (a case's routing, the created
case) allow extra fields: they document what a platform can rely on without dropping what a
later change adds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.validation import StoredText

MAX_ATTACHMENTS = 50


# -- what the platform sends --------------------------------------------------------------------


class ContactIn(BaseModel):
    """How to reach the citizen. Stored with the case for staff; masked in every log line."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, StoredText] = Field(init=False)  # other channels: wechat, qq …

    name: StoredText | None = Field(default=None, max_length=64, description="来电人/留言人")
    phone: StoredText | None = Field(default=None, max_length=32)
    email: StoredText | None = Field(default=None, max_length=128)
    id_number: StoredText | None = Field(default=None, max_length=32, description="证件号码")
    address: StoredText | None = Field(default=None, max_length=256)


class AttachmentIn(BaseModel):
    """An attachment's metadata; the file stays on the platform, staff open it by its URL."""

    name: StoredText = Field(min_length=1, max_length=256)
    url: StoredText | None = Field(default=None, max_length=2048, description="http(s) link to the file")
    content_type: StoredText | None = Field(default=None, max_length=128)
    size: int | None = Field(default=None, ge=0, le=2**53, description="bytes")

    @field_validator("url")
    @classmethod
    def _web_link(cls, v: str | None) -> str | None:
        if v is not None and urlsplit(v.strip()).scheme.lower() not in ("http", "https"):
            raise ValueError("url must be an http:// or https:// link")
        return v.strip() if v is not None else None


class SupplementIn(BaseModel):
    text: StoredText = Field(min_length=1, max_length=20_000, description="the citizen's 补充, verbatim")
    received_at: datetime | None = Field(
        default=None, description="when the citizen added it; ISO 8601, local time (UTC+8) when no offset"
    )

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("text is blank: a supplement needs the citizen's words")
        return v.strip()


# -- what the platform gets back ----------------------------------------------------------------


class SupplementOut(BaseModel):
    id: int
    text: str
    received_at: str | None
    added_at: str | None


class ReplyOut(BaseModel):
    text: str
    replied_at: str | None


class PlatformCase(BaseModel):
    """A case as its platform sees it: where it is, by when, and the answer once sent."""

    external_id: str
    id: int
    status: str = Field(description="new, assigned, returned (being re-routed) or closed")
    department: str | None
    received_at: str | None
    deadline: str | None = Field(description="reply due by (ISO 8601, +08:00)")
    overdue: bool
    closed_at: str | None
    reply: ReplyOut | None = Field(description="the reply sent to the citizen; null until closed")
    supplements: list[SupplementOut]


class CaseClosedEvent(PlatformCase):
    """The webhook's body when a case closes: the platform's view of the case, with the reply."""

    event: str = Field(description="case.closed")


class SupplementAdded(BaseModel):
    supplement: SupplementOut
    case: PlatformCase


class WebhookDeliveryOut(BaseModel):
    id: int
    case_id: int | None
    event: str
    external_id: str | None
    status: str = Field(description="pending, delivered or failed")
    attempts: int
    next_attempt_at: str | None
    last_error: str | None
    created_at: str | None
    delivered_at: str | None
    log: list[dict[str, Any]] = Field(description="one entry per attempt: at, status_code, error, ms")


class WebhookList(BaseModel):
    items: list[WebhookDeliveryOut]
    total: int
    limit: int
    offset: int
    configured: bool = Field(description="TRIAGE_WEBHOOK_URL is set")
    target: str | None = Field(description="scheme and host of the webhook URL")
    signed: bool = Field(description="TRIAGE_WEBHOOK_SECRET is set")


class ErrorOut(BaseModel):
    detail: Any


# -- POST /cases ---------------------------------------------------------------------------------


class RoutingOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    label: str | None
    department: str | None
    suggested_department: str | None = None
    confidence: float | None
    abstain: bool
    manual_queue: bool | None = None
    state: str | None = None
    model_version: str | None = None
    top_k: list[Any] = []
    reasons: list[Any] = []


class DraftOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    text: str
    tier: str | None
    sources: list[Any]


class CaseCreated(BaseModel):
    """The answer to POST /cases: 201 for a new case, 200 for an external_id stored before."""

    model_config = ConfigDict(extra="allow")

    id: int
    external_id: str
    status: str
    deadline: str | None
    overdue: bool
    hours_left: float | None
    request_type: str | None
    version: int
    routing: RoutingOut
    draft: DraftOut
    possible_duplicate: Any = None
    created: bool = Field(description="false: the external_id existed, the stored case is returned")
    note: str | None = Field(
        default=None,
        description="set when a repeat's title or body differ from the stored case's: nothing was "
        "changed; a citizen's addition goes to POST /platform/cases/{external_id}/supplements",
    )
