"""The case store's tables: cases, routings, replies, events, API keys, background jobs and the
curated answer library.

A case carries a copy of its current routing (department, label, confidence, abstain) so that
the queue can be filtered and sorted from one indexed table; the `routings` and `replies` tables
keep every suggestion shown and every decision taken, and `events` is the audit trail of every
change with the actor and the model version in force. `version` is an optimistic lock: an update
based on a stale read fails instead of silently overwriting a colleague's work.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Statuses a case moves through. `returned` means a department sent it back (退单) and it waits
# for a new routing decision; `merged` means it repeats another case (并单, see `merged_into`)
# and is answered by that case's reply, so it leaves the open queue; only `closed` is final.
NEW, ASSIGNED, RETURNED, CLOSED, MERGED = "new", "assigned", "returned", "closed", "merged"
STATUSES = (NEW, ASSIGNED, RETURNED, CLOSED, MERGED)
OPEN_STATUSES = (NEW, ASSIGNED, RETURNED)

# How the current department was decided.
SUGGESTED, ACCEPTED, OVERRIDDEN = "suggested", "accepted", "overridden"

ROLES = ("platform", "staff", "admin")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {dict[str, Any]: JSON, list[Any]: JSON}


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str | None] = mapped_column(String(64))
    district: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime)
    request_type: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=NEW)
    due_at: Mapped[datetime] = mapped_column(DateTime)
    # The current routing, denormalised from `routings` for the queue's filters.
    label: Mapped[str | None] = mapped_column(String(128))
    department: Mapped[str | None] = mapped_column(String(128))
    confidence: Mapped[float | None] = mapped_column(Float)
    abstain: Mapped[bool] = mapped_column(Boolean, default=False)
    manual_queue: Mapped[bool] = mapped_column(Boolean, default=False)
    # An emergency (gas, fire, people trapped …): the queue lists open urgent cases first, and the
    # page shows the reason, the evidence and the line to transfer to (`urgent`, null otherwise).
    is_urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    urgent: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    suggested_department: Mapped[str | None] = mapped_column(String(128))
    routing_state: Mapped[str] = mapped_column(String(16), default=SUGGESTED)
    model_version: Mapped[str | None] = mapped_column(String(64))
    returns: Mapped[int] = mapped_column(Integer, default=0)
    # 并单: the case whose reply answers this one (status `merged` until that reply is sent).
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    # The earlier case this one may repeat (可能重复), copied from the suggestion for the queue.
    duplicate_of: Mapped[int | None] = mapped_column(Integer)
    duplicate_similarity: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    # Who submitted the case (the API key's actor, "platform:<name>"): a platform reads back only
    # its own cases. The caller's contact and attachment metadata as the platform sent them.
    submitted_by: Mapped[str | None] = mapped_column(String(128))
    contact: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attachments: Mapped[list[Any] | None] = mapped_column(JSON)

    routings: Mapped[list[Routing]] = relationship(
        back_populates="case", order_by="Routing.id", cascade="all, delete-orphan"
    )
    replies: Mapped[list[Reply]] = relationship(
        back_populates="case", order_by="Reply.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[Event]] = relationship(
        back_populates="case", order_by="Event.id", cascade="all, delete-orphan"
    )
    supplements: Mapped[list[Supplement]] = relationship(
        back_populates="case", order_by="Supplement.id", cascade="all, delete-orphan"
    )

    __mapper_args__: ClassVar = {"version_id_col": version}
    __table_args__ = (
        Index("ix_cases_due", "due_at", "id"),
        Index("ix_cases_status_due", "status", "due_at"),
        Index("ix_cases_department_status_due", "department", "status", "due_at"),
        Index("ix_cases_manual_status_due", "manual_queue", "status", "due_at"),
        Index("ix_cases_closed_department", "closed_at", "department"),
        Index("ix_cases_urgent_status_due", "is_urgent", "status", "due_at"),
        Index("ix_cases_submitted_by", "submitted_by"),
    )


class Routing(Base):
    """One routing step: the model's suggestion, a clerk's accept/override, or a return (退单)."""

    __tablename__ = "routings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # suggestion | accept | override | return
    label: Mapped[str | None] = mapped_column(String(128))
    department: Mapped[str | None] = mapped_column(String(128))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    confidence: Mapped[float | None] = mapped_column(Float)
    abstain: Mapped[bool | None] = mapped_column(Boolean)
    model_version: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    case: Mapped[Case] = relationship(back_populates="routings")


class Reply(Base):
    """A suggested draft, a saved draft, or the final reply with its quality check."""

    __tablename__ = "replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # suggested | draft | final
    text: Mapped[str] = mapped_column(Text, default="")
    tier: Mapped[str | None] = mapped_column(String(32))
    sources: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # On a suggested draft: where its fixed sentences came from (triage.house_style.StylePart each)
    style: Mapped[list[Any] | None] = mapped_column(JSON)
    # a suggested draft's slots and facts to check, as `triage.drafting.Draft.missing` names them
    missing: Mapped[list[Any] | None] = mapped_column(JSON)
    qc: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    confirm_reason: Mapped[str | None] = mapped_column(Text)
    model_version: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # On a sent reply: how much of the suggested draft it kept (ROUGE-L, 0-1; None without a
    # draft). Averaged per department, it is the drafting's accuracy as staff use it.
    draft_retention: Mapped[float | None] = mapped_column(Float)

    case: Mapped[Case] = relationship(back_populates="replies")


class Event(Base):
    """The audit trail: who did what to which case (or to the models), when, under which model."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    model_version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)

    case: Mapped[Case | None] = relationship(back_populates="events")


class ApiKey(Base):
    """A bearer key: only a public prefix (to find the row) and a salted scrypt hash are kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    salt: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class Job(Base):
    """A background job (retraining): progress and result are visible to every server process."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # queued | running | succeeded | failed
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The worker running it holds a lease it renews while working; a lease that runs out means
    # the worker stopped (killed, its host gone), and whoever notices marks the job failed.
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)


class JobUpload(Base):
    """A file a job needs (an uploaded training CSV), kept in the store so any worker can read it."""

    __tablename__ = "job_uploads"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class CuratedAnswer(Base):
    """One entry of the manual answer library (triage.answers keeps a searchable copy per process).

    `version` is the optimistic lock an edit must name: two clerks editing one entry at once get
    one success and one 409, never a silent overwrite; edits of two entries both survive.
    `fingerprint` (a hash of the normalised answer text) keeps the same answer out twice, even
    when two hosts add it at the same moment.
    """

    __tablename__ = "curated_answers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    department: Mapped[str] = mapped_column(String(128), default="")
    question: Mapped[str] = mapped_column(Text, default="")
    answer: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    keywords: Mapped[list[Any]] = mapped_column(JSON, default=list)
    valid_from: Mapped[str | None] = mapped_column(String(10))
    valid_until: Mapped[str | None] = mapped_column(String(10))
    author: Mapped[str] = mapped_column(String(128), default="")
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)


class RoutingTableVersion(Base):
    """One version of the routing table an admin edits; the highest id is the table in force.

    `config/routing.yaml` only seeds an empty store: an admin's edit is a new row here, so a
    redeploy of the checkout never overwrites it, and every host serves the same version.
    """

    __tablename__ = "routing_tables"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(128))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ModelVersion(Base):
    """One trained bundle the registry knows: its metadata and the sha256 of its model file.

    The bundle's files live in the artifact location (`TRIAGE_ARTIFACTS`); each host keeps a local
    copy and refuses one whose hash differs from this row, so a damaged or foreign file never
    serves.
    """

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # department | request_type
    version: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("kind", "version", name="uq_model_versions_kind_version"),)


class ModelPointer(Base):
    """The live version of one model kind: the newest row per kind is in force.

    Rows are only added (a promotion, a rollback, the import of an older installation's
    `live.json`), so the table is also the audit of who made which model live and when; `history`
    is the stack a rollback pops, as `live.json` held it.
    """

    __tablename__ = "model_pointers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    live: Mapped[str | None] = mapped_column(String(64))
    history: Mapped[list[Any]] = mapped_column(JSON, default=list)
    action: Mapped[str] = mapped_column(String(16))  # promote | rollback | import
    actor: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class HistoryBatch(Base):
    """One import of answered petitions (`triage index`, the sample at bootstrap, an older
    installation's history file): committed whole, so a host that has applied a batch has all of
    it, and a host that has not finds it by its id, however late it committed."""

    __tablename__ = "history_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(255))  # the file's name, "bootstrap sample", "upgrade"
    actor: Mapped[str | None] = mapped_column(String(128))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ImportedCase(Base):
    """An answered petition imported as drafting history; `tokens` are its retrieval words, computed
    once at import so that no host tokenises a large import again."""

    __tablename__ = "history_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("history_batches.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[str] = mapped_column(String(255), unique=True)
    department: Mapped[str] = mapped_column(String(255), default="")
    day: Mapped[str] = mapped_column(String(32), default="")
    text: Mapped[str] = mapped_column(Text)
    reply: Mapped[str] = mapped_column(Text)
    tokens: Mapped[str] = mapped_column(Text, default="")


class Supplement(Base):
    """A citizen's 补充 to an open case, as the platform relayed it."""

    __tablename__ = "supplements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    case: Mapped[Case] = relationship(back_populates="supplements")


class WebhookDelivery(Base):
    """The outbox: one notification to the platform, written in the transaction that caused it.

    `next_attempt_at` doubles as the lease: a sender claims a due row by moving it forward (a
    conditional UPDATE), so a crash mid-send leaves the row due again once the lease runs out.
    """

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    log: Mapped[list[Any]] = mapped_column(JSON, default=list)  # one entry per attempt
    created_at: Mapped[datetime] = mapped_column(DateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)


class TopicSnapshot(Base):
    """The topic model every host serves (`triage/topics/shared.py`): one host at a time (the
    holder of the `topics` lease) adds the cases the newest snapshot lacks and writes a new one,
    so topic ids and groups are the same everywhere. `read_through` is the newest case time it
    holds; `data` is the model's gzip JSON (`TopicModel.to_bytes`)."""

    __tablename__ = "topic_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cases: Mapped[int] = mapped_column(Integer, default=0)
    read_through: Mapped[datetime | None] = mapped_column(DateTime)
    writer: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class StoreLease(Base):
    """A named lease: at most one holder at a time until `until` (one row per name, seeded by the
    migration that introduces the name). A holder that dies simply lets it run out."""

    __tablename__ = "store_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(128))
    until: Mapped[datetime | None] = mapped_column(DateTime)
