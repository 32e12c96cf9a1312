"""Reading and changing cases: every change writes its audit event in the same transaction.

Functions take an open session (one per request, see engine.Store.session) and never commit:
the caller's transaction decides, so a request either stores everything it did or nothing.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import column, func, or_, select, text
from sqlalchemy.orm import Session, defer, selectinload
from sqlalchemy.orm.attributes import flag_modified

from triage.store.clock import now as clock_now
from triage.store.models import (
    ACCEPTED,
    ASSIGNED,
    CLOSED,
    NEW,
    OPEN_STATUSES,
    OVERRIDDEN,
    RETURNED,
    STATUSES,
    Case,
    Event,
    Reply,
    Routing,
)


class StoreError(Exception):
    """A request the store refuses; `status` is the HTTP status the API answers with."""

    status = 422


class CaseNotFound(StoreError):
    status = 404


class Conflict(StoreError):
    """The case changed since the client read it, or is in a state that forbids the change."""

    status = 409


@dataclass
class Suggestion:
    """What the models proposed for a new case, as shown to staff."""

    label: str | None
    department: str | None
    confidence: float | None
    abstain: bool
    model_version: str | None
    due_at: datetime
    request_type: str | None = None
    manual_queue: bool = False
    details: dict[str, Any] | None = None  # top_k, reasons, departments, place, out_of_scope …


@dataclass
class Draft:
    text: str
    tier: str | None
    sources: list[Any]
    details: dict[str, Any] | None = None


def _event(
    session: Session,
    case: Case | None,
    kind: str,
    actor: str | None,
    data: dict[str, Any],
    model_version: str | None = None,
) -> None:
    session.add(
        Event(
            case=case,
            kind=kind,
            actor=actor,
            data=data,
            model_version=model_version or (case.model_version if case else None),
            created_at=clock_now(),
        )
    )


# -- creating -----------------------------------------------------------------------------------


def find_by_external_id(session: Session, external_id: str) -> Case | None:
    return session.scalar(select(Case).where(Case.external_id == external_id))


def create_case(
    session: Session,
    *,
    external_id: str,
    title: str,
    body: str,
    received_at: datetime,
    suggestion: Suggestion,
    draft: Draft | None,
    channel: str | None = None,
    district: str | None = None,
    actor: str | None = None,
    contact: dict[str, Any] | None = None,
    attachments: list[Any] | None = None,
) -> Case:
    """A new case with the suggestion and draft that staff will see, all recorded as shown.

    `actor` is kept as `submitted_by`: a platform reads back only the cases its key submitted.
    """
    stamp = clock_now()
    case = Case(
        external_id=external_id,
        title=title or "",
        body=body or "",
        channel=channel,
        district=district,
        received_at=received_at,
        request_type=suggestion.request_type,
        status=NEW,
        due_at=suggestion.due_at,
        label=suggestion.label,
        department=suggestion.department,
        suggested_department=suggestion.department,
        confidence=suggestion.confidence,
        abstain=suggestion.abstain,
        manual_queue=suggestion.manual_queue,
        routing_state="suggested",
        model_version=suggestion.model_version,
        returns=0,
        created_at=stamp,
        updated_at=stamp,
        submitted_by=actor,
        contact=contact,
        attachments=attachments,
    )
    session.add(case)
    session.add(
        Routing(
            case=case,
            kind="suggestion",
            label=suggestion.label,
            department=suggestion.department,
            details=suggestion.details or {},
            confidence=suggestion.confidence,
            abstain=suggestion.abstain,
            model_version=suggestion.model_version,
            actor=actor,
            created_at=stamp,
        )
    )
    _event(session, case, "created", actor, {"external_id": external_id, "channel": channel})
    _event(
        session,
        case,
        "routing_suggested",
        actor,
        {
            "label": suggestion.label,
            "department": suggestion.department,
            "confidence": suggestion.confidence,
            "abstain": suggestion.abstain,
        },
    )
    if draft is not None:
        session.add(
            Reply(
                case=case,
                kind="suggested",
                text=draft.text,
                tier=draft.tier,
                sources=draft.sources,
                model_version=suggestion.model_version,
                actor=actor,
                created_at=stamp,
            )
        )
        _event(session, case, "draft_suggested", actor, {"tier": draft.tier, "sources": len(draft.sources)})
    session.flush()
    return case


# -- reading ------------------------------------------------------------------------------------


def get_case(session: Session, case_id: int, *, full: bool = False) -> Case:
    query = select(Case).where(Case.id == case_id)
    if full:
        query = query.options(
            selectinload(Case.routings), selectinload(Case.replies), selectinload(Case.events)
        )
    case = session.scalar(query)
    if case is None:
        raise CaseNotFound(f"no case with id {case_id}")
    return case


@dataclass
class CaseFilter:
    status: list[str] | None = None
    department: str | None = None
    overdue: bool | None = None
    abstained: bool | None = None
    q: str | None = None


def parse_status(value: str | None) -> list[str] | None:
    """`open` (anything not closed) or a comma-separated list of statuses; unknown ones are an error."""
    if not value:
        return None
    wanted: list[str] = []
    for part in (p.strip() for p in value.split(",") if p.strip()):
        if part == "open":
            wanted.extend(OPEN_STATUSES)
        elif part in STATUSES:
            wanted.append(part)
        else:
            raise StoreError(f"unknown status {part!r}; use open or one of {', '.join(STATUSES)}")
    return wanted


def list_cases(
    session: Session, filters: CaseFilter, *, limit: int = 50, offset: int = 0, at: datetime | None = None
) -> tuple[list[Case], int]:
    """The queue: overdue first, then by deadline (one ordering: the earliest deadline first)."""
    at = at or clock_now()
    conditions = []
    if filters.status:
        conditions.append(
            Case.status.in_(filters.status) if len(filters.status) > 1 else Case.status == filters.status[0]
        )
    if filters.department:
        conditions.append(Case.department == filters.department)
    if filters.overdue is True:
        conditions += [Case.status.in_(OPEN_STATUSES), Case.due_at < at]
    elif filters.overdue is False:
        conditions.append(or_(Case.status == CLOSED, Case.due_at >= at))
    if filters.abstained is not None:  # the manual routing queue: model abstained, out of scope, or returned
        conditions.append(Case.manual_queue.is_(filters.abstained))
    if filters.q:
        conditions.append(text_matches(session, filters.q.strip()))
    total = session.scalar(select(func.count()).select_from(Case).where(*conditions)) or 0
    rows = session.scalars(  # the queue never shows the body: leave the long texts in the database
        select(Case)
        .options(defer(Case.body))
        .where(*conditions)
        .order_by(Case.due_at, Case.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total)


# FTS5's trigram index answers substrings of three characters or more; shorter ones are scanned.
TRIGRAM = 3
_fts_tables: dict[str, bool] = {}


def _sqlite_text_index(session: Session) -> bool:
    """Whether this SQLite database has the trigram table of migration 0002 (an old SQLite may not)."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return False
    key = bind.url.render_as_string(hide_password=True)
    if key not in _fts_tables:
        found = session.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'cases_text'")).first()
        _fts_tables[key] = found is not None
    return _fts_tables[key]


def text_matches(session: Session, q: str):
    """Cases whose title or body contains `q`, or whose platform id is `q`.

    A substring test either way; on SQLite with the trigram table it is answered by the index
    instead of a scan (PostgreSQL's pg_trgm indexes serve the LIKE itself).
    """
    by_id = Case.external_id == q
    if len(q) >= TRIGRAM and _sqlite_text_index(session):
        phrase = '"' + q.replace('"', '""') + '"'
        hits = text("SELECT rowid FROM cases_text WHERE cases_text MATCH :phrase").bindparams(phrase=phrase)
        return or_(Case.id.in_(hits.columns(column("rowid"))), by_id)
    title, body = Case.title, Case.body
    if len(q) < TRIGRAM and session.get_bind().dialect.name == "postgresql":
        # pg_trgm extracts no trigram from fewer than three characters and, offered its index for
        # such a pattern, reads all of it: slower than the table. `|| ''` keeps the planner off it.
        title, body = Case.title + "", Case.body + ""
    return or_(title.contains(q, autoescape=True), body.contains(q, autoescape=True), by_id)


def case_events(session: Session, case_id: int) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.id)))


# -- changing -----------------------------------------------------------------------------------


def _touch(case: Case, stamp: datetime) -> None:
    """Mark the case changed even when the second-resolution time is unchanged: the UPDATE (and so
    the version bump that tells other editors their copy is stale) must always happen."""
    case.updated_at = stamp
    flag_modified(case, "updated_at")


def _check_version(case: Case, expected: int | None) -> None:
    if expected is not None and expected != case.version:
        raise Conflict(
            f"case {case.id} changed since you read it (your version {expected}, now {case.version}); reload and try again"
        )


def _check_open(case: Case) -> None:
    if case.status == CLOSED:
        raise Conflict(f"case {case.id} is closed: its reply was sent at {case.closed_at}")


def decide_routing(
    session: Session,
    case: Case,
    *,
    action: str,
    department: str | None,
    reason: str | None,
    actor: str | None,
    expected_version: int | None = None,
) -> Case:
    """Accept the current department or override it; an override is a labelled example."""
    _check_version(case, expected_version)
    _check_open(case)
    stamp = clock_now()
    if action == "accept":
        if case.status == RETURNED or not case.department:
            raise StoreError(
                f"case {case.id} has no department to accept ({'returned by ' + str(case.department) if case.status == RETURNED else 'no suggestion'}): override with a department"
            )
        state, chosen = ACCEPTED, case.department
    elif action == "override":
        if not department or not department.strip():
            raise StoreError("override needs a department")
        if not reason or not reason.strip():
            raise StoreError("override needs a reason: it teaches the next model")
        state, chosen = OVERRIDDEN, department.strip()
    else:
        raise StoreError(f"unknown action {action!r}; use accept or override")
    previous = case.department
    session.add(
        Routing(
            case=case,
            kind=action,
            label=case.label,
            department=chosen,
            details={"previous": previous},
            model_version=case.model_version,
            actor=actor,
            reason=reason,
            created_at=stamp,
        )
    )
    case.department = chosen
    case.routing_state = state
    case.status = ASSIGNED
    case.manual_queue = False
    _touch(case, stamp)
    _event(
        session,
        case,
        f"routing_{action}ed" if action == "accept" else "routing_overridden",
        actor,
        {"previous": previous, "department": chosen, "reason": reason},
    )
    session.flush()
    return case


def return_case(
    session: Session,
    case: Case,
    *,
    reason: str,
    department: str | None,
    actor: str | None,
    expected_version: int | None = None,
) -> Case:
    """退单: the department says the case is not theirs; recorded as a hard negative for training."""
    _check_version(case, expected_version)
    _check_open(case)
    if not reason or not reason.strip():
        raise StoreError("a return needs the reason the department gives")
    returning = (department or case.department or "").strip() or None
    if returning is None:
        raise StoreError(f"case {case.id} has no department to return from")
    stamp = clock_now()
    session.add(
        Routing(
            case=case,
            kind="return",
            label=case.label,
            department=returning,
            details={"routing_state": case.routing_state},
            model_version=case.model_version,
            actor=actor,
            reason=reason.strip(),
            created_at=stamp,
        )
    )
    case.status = RETURNED
    case.returns = (case.returns or 0) + 1
    case.department = None
    case.routing_state = "suggested"
    case.manual_queue = True
    _touch(case, stamp)
    _event(session, case, "returned", actor, {"department": returning, "reason": reason.strip()})
    session.flush()
    return case


def save_reply(
    session: Session,
    case: Case,
    *,
    text: str,
    send: bool,
    qc: dict[str, Any] | None,
    flagged: bool,
    confirm_reason: str | None,
    actor: str | None,
    model_version: str | None,
    expected_version: int | None = None,
) -> Reply:
    """Save a draft, or send the final reply (closing the case); a flagged send needs a reason.

    A refused send is recorded (kind `refused`) before the caller answers 422: the audit trail and
    the share of replies that needed revising both count it.
    """
    _check_version(case, expected_version)
    _check_open(case)
    if not text or not text.strip():
        raise StoreError("reply text is empty")
    stamp = clock_now()
    if send and (case.status == RETURNED or not case.department):
        why = "was returned by a department" if case.status == RETURNED else "has no department"
        raise Conflict(f"case {case.id} {why}: route it before sending the reply")
    refused = send and flagged and not (confirm_reason and confirm_reason.strip())
    kind = "refused" if refused else ("final" if send else "draft")
    reply = Reply(
        case=case,
        kind=kind,
        text=text,
        qc=qc,
        flagged=flagged,
        confirm_reason=confirm_reason,
        model_version=model_version,
        actor=actor,
        created_at=stamp,
    )
    session.add(reply)
    qc_summary = {
        "verdict": (qc or {}).get("verdict"),
        "score": (qc or {}).get("score"),
        "flags": [f.get("code") for f in (qc or {}).get("flags", [])],
    }
    if refused:
        _event(session, case, "reply_refused", actor, qc_summary, model_version)
    elif send:
        if case.routing_state == "suggested":
            session.add(
                Routing(
                    case=case,
                    kind="accept",
                    label=case.label,
                    department=case.department,
                    details={"implicit": True},
                    model_version=case.model_version,
                    actor=actor,
                    created_at=stamp,
                )
            )
            case.routing_state = ACCEPTED
            _event(
                session, case, "routing_accepted", actor, {"department": case.department, "implicit": True}
            )
        case.status = CLOSED
        case.closed_at = stamp
        _touch(case, stamp)
        _event(
            session,
            case,
            "reply_sent",
            actor,
            {**qc_summary, "confirm_reason": confirm_reason},
            model_version,
        )
    else:
        _touch(case, stamp)
        _event(session, case, "draft_saved", actor, qc_summary, model_version)
    session.flush()
    return reply


def record_event(
    session: Session, kind: str, actor: str | None, data: dict[str, Any], model_version: str | None = None
) -> None:
    """An event not tied to a case (a promotion, a rollback, a retrain)."""
    _event(session, None, kind, actor, data, model_version)


# -- statistics ---------------------------------------------------------------------------------


def department_stats(session: Session, at: datetime | None = None) -> list[dict[str, Any]]:
    """Per department: volume, open overdue, median hours to reply, live routing accuracy, flagged share."""
    at = at or clock_now()
    volume = dict(
        session.execute(
            select(Case.department, func.count())
            .where(Case.department.is_not(None))
            .group_by(Case.department)
        ).all()
    )
    overdue = dict(
        session.execute(
            select(Case.department, func.count())
            .where(Case.department.is_not(None), Case.status.in_(OPEN_STATUSES), Case.due_at < at)
            .group_by(Case.department)
        ).all()
    )
    closed = session.execute(
        select(
            Case.id, Case.department, Case.received_at, Case.closed_at, Case.suggested_department, Case.due_at
        ).where(Case.status == CLOSED)
    ).all()
    flagged_ids = set(
        session.scalars(
            select(Reply.case_id)
            .where(Reply.kind.in_(("refused", "final")), Reply.flagged.is_(True))
            .distinct()
        )
    )
    per: dict[str, dict[str, list]] = defaultdict(
        lambda: {"hours": [], "unchanged": [], "flagged": [], "late": []}
    )
    for case_id, dept, received, closed_at, suggested, due in closed:
        bucket = per[dept or ""]
        bucket["hours"].append(max((closed_at - received).total_seconds(), 0) / 3600)
        bucket["unchanged"].append(suggested == dept)
        bucket["flagged"].append(case_id in flagged_ids)
        bucket["late"].append(closed_at > due)
    out = []
    for dept in sorted(set(volume) | {d for d in per if d}):
        b = per.get(dept, {"hours": [], "unchanged": [], "flagged": [], "late": []})
        n = len(b["hours"])
        out.append(
            {
                "department": dept,
                "volume": int(volume.get(dept, 0)),
                "overdue": int(overdue.get(dept, 0)),
                "closed": n,
                "replied_late": sum(b["late"]),
                "median_hours_to_reply": round(statistics.median(b["hours"]), 2) if n else None,
                "unchanged_share": round(sum(b["unchanged"]) / n, 4) if n else None,
                "revise_share": round(sum(b["flagged"]) / n, 4) if n else None,
            }
        )
    return out
