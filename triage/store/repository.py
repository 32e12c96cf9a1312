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

from sqlalchemy import and_, bindparam, column, func, or_, select, text
from sqlalchemy.orm import Session, aliased, defer, selectinload
from sqlalchemy.orm.attributes import flag_modified

from triage.house_style import redated
from triage.store.clock import now as clock_now
from triage.store.models import (
    ACCEPTED,
    ASSIGNED,
    CLOSED,
    MERGED,
    NEW,
    OPEN_STATUSES,
    OVERRIDDEN,
    RETURNED,
    STATUSES,
    SUGGESTED,
    Case,
    Event,
    Reply,
    Routing,
)
from triage.text import script_forms
from triage.textsim import rouge_l


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
    urgent: dict[str, Any] | None = None  # the routing's emergency: reason, evidence, transfer


@dataclass
class Draft:
    text: str
    tier: str | None
    sources: list[Any]
    details: dict[str, Any] | None = None
    style: list[Any] | None = None  # the house style's parts, as the drafter reports them


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
    duplicate = (suggestion.details or {}).get("possible_duplicate") or {}
    duplicate_of = duplicate.get("case_id") if isinstance(duplicate.get("case_id"), int) else None
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
        is_urgent=suggestion.urgent is not None,
        urgent=suggestion.urgent,
        routing_state="suggested",
        model_version=suggestion.model_version,
        returns=0,
        duplicate_of=duplicate_of,
        duplicate_similarity=duplicate.get("similarity") if duplicate_of is not None else None,
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
        _suggest_draft(session, case, draft, actor, stamp)
    session.flush()
    return case


def _suggest_draft(
    session: Session, case: Case, draft: Draft, actor: str | None, stamp: datetime, **why: Any
) -> None:
    session.add(
        Reply(
            case=case,
            kind="suggested",
            text=draft.text,
            tier=draft.tier,
            sources=draft.sources,
            style=draft.style,
            missing=(draft.details or {}).get("missing"),
            model_version=case.model_version,
            actor=actor,
            created_at=stamp,
        )
    )
    _event(
        session, case, "draft_suggested", actor, {"tier": draft.tier, "sources": len(draft.sources), **why}
    )


def redraft(
    session: Session,
    case: Case,
    draft: Draft,
    *,
    drafted_for: str | None,
    actor: str | None,
) -> None:
    """Replace the suggested draft after a re-routing (override or return).

    The draft is computed before the write transaction opens, for `drafted_for`; when the case's
    department changed again in between it is not stored (it would cite another department's answers).
    """
    if case.department != drafted_for:
        return
    _suggest_draft(session, case, draft, actor, clock_now(), department=drafted_for)
    session.flush()


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
    """The queue: open emergencies first, then overdue first, then by deadline.

    Overdue-then-deadline is one ordering (the earliest deadline first). Emergencies need the
    flag on top of it: an urgent case is due in hours, yet every overdue case would precede it.
    """
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
    # Two index-ordered reads instead of one ORDER BY over a CASE expression, which sorted every
    # matching row (60,000 cases: 36 ms a page instead of 0.5): the open emergencies (few, found
    # through ix_cases_urgent_status_due), then the rest in deadline order, paged across both.
    urgent = and_(Case.is_urgent.is_(True), Case.status.in_(OPEN_STATUSES))
    urgent_total = session.scalar(select(func.count()).select_from(Case).where(*conditions, urgent)) or 0
    searched = bool(filters.q) and len(filters.q.strip()) >= TRIGRAM  # answered by the text index
    rows = _page(session, [*conditions, urgent], limit, offset, searched) if offset < urgent_total else []
    if len(rows) < limit:
        rest = [*conditions, or_(Case.is_urgent.is_(False), Case.status.not_in(OPEN_STATUSES))]
        rows += _page(session, rest, limit - len(rows), max(offset - urgent_total, 0), searched)
    return rows, int(total)


def _page(
    session: Session, conditions: list[Any], limit: int, offset: int, searched: bool = False
) -> list[Case]:
    """One page in deadline order; the queue never shows the body: the long texts stay put.

    A text search the text index answers orders by an expression the deadline index cannot serve:
    its matches are few and sorting them is cheap, while walking the deadline index tests the text
    of every case on the way (PostgreSQL chose that for a search in both scripts, whose estimated
    matches grew with the forms: 83 ms a page instead of 2). A shorter one is a scan either way,
    and the deadline index lets it stop at the page's last match (on SQLite 375 ms against 575).
    """
    due = func.coalesce(Case.due_at, Case.due_at) if searched else Case.due_at
    query = select(Case).options(defer(Case.body)).where(*conditions)
    return list(session.scalars(query.order_by(due, Case.id).limit(limit).offset(offset)))


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
    """Cases whose title or body contains `q` in either script, or whose platform id is `q`.

    Petitions arrive in Simplified and Traditional characters and a clerk types one of them: 电梯
    found none of the 電梯 petitions. So each script form of `q` is looked for (`script_forms`).
    """
    return or_(*(_contains(session, form) for form in script_forms(q)), Case.external_id == q)


def _contains(session: Session, q: str):
    """Title or body contains `q`: a substring test either way; on SQLite with the trigram table
    it is answered by the index instead of a scan (PostgreSQL's pg_trgm indexes serve the LIKE)."""
    if len(q) >= TRIGRAM and _sqlite_text_index(session):
        phrase = '"' + q.replace('"', '""') + '"'
        # a unique parameter per form: with one name for all, every form searched the last phrase
        hits = text("SELECT rowid FROM cases_text WHERE cases_text MATCH :phrase").bindparams(
            bindparam("phrase", value=phrase, unique=True)
        )
        return Case.id.in_(hits.columns(column("rowid")))
    title, body = Case.title, Case.body
    if len(q) < TRIGRAM and session.get_bind().dialect.name == "postgresql":
        # pg_trgm extracts no trigram from fewer than three characters and, offered its index for
        # such a pattern, reads all of it: slower than the table. `|| ''` keeps the planner off it.
        title, body = Case.title + "", Case.body + ""
    return or_(title.contains(q, autoescape=True), body.contains(q, autoescape=True))


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


def _check_not_merged(case: Case) -> None:
    if case.status == MERGED:
        raise Conflict(
            f"case {case.id} is merged into case {case.merged_into}: work on case {case.merged_into}, or unmerge it first"
        )


def waiting_for_routing(case: Case) -> str | None:
    """Why a reply may not go out before a clerk decides the routing, or None when it may.

    A case the model abstained on, one set aside as out of scope, and one a department returned
    carry only a guess: sending a reply must not turn that guess into the case's department (and
    so into a training label), so a clerk accepts or overrides it first.
    """
    if case.status == RETURNED:
        back = next((r for r in reversed(case.routings) if r.kind == "return"), None)
        return f"returned by {back.department if back else 'a department'}"
    if case.routing_state != SUGGESTED:
        return None
    suggestion = next((r for r in case.routings if r.kind == "suggestion"), None)
    out_of_scope = ((suggestion.details or {}) if suggestion else {}).get("out_of_scope")
    if out_of_scope:
        return f"out of scope: {out_of_scope.get('reason', '')}".strip()
    if case.abstain:
        shown = f" at {round(case.confidence * 100)} %" if case.confidence is not None else ""
        return f"abstained{shown}"
    if case.manual_queue:
        return "set aside for manual routing"
    return None


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
    _check_not_merged(case)
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
    _check_not_merged(case)
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
    the share of replies that needed revising both count it. A send on a case whose routing is
    still the model's uncertain guess is refused (409) until a clerk decides it; on a confident
    case the send accepts the department implicitly, recorded as such (never a training label).
    The final reply also answers every case merged into this one (并单) and closes them.
    """
    _check_version(case, expected_version)
    _check_open(case)
    if not text or not text.strip():
        raise StoreError("reply text is empty")
    stamp = clock_now()
    if send:
        _check_not_merged(case)
        waiting = waiting_for_routing(case)
        if waiting is not None:
            what = (
                "choose the department (override)"
                if case.status == RETURNED
                else "accept or override the department"
            )
            raise Conflict(f"case {case.id} is waiting for a routing decision ({waiting}): {what} first")
        if not case.department:
            raise Conflict(f"case {case.id} has no department: route it before sending the reply")
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
        if case.routing_state == SUGGESTED:
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
        reply.draft_retention = draft_retention(case, text)
        sent = {**qc_summary, "confirm_reason": confirm_reason, "draft_retention": reply.draft_retention}
        answered = _close_merged(session, case, reply, sent, actor, stamp)
        _event(
            session,
            case,
            "reply_sent",
            actor,
            {**sent, "merged_cases": answered} if answered else sent,
            model_version,
        )
    else:
        _touch(case, stamp)
        _event(session, case, "draft_saved", actor, qc_summary, model_version)
    session.flush()
    return reply


def draft_retention(case: Case, final_text: str) -> float | None:
    """How much of the draft shown to staff (the latest suggested one, dated today as the page
    shows it) the sent reply kept: character ROUGE-L, 0-1, rounded; None when no draft was suggested."""
    suggested = next((r for r in reversed(case.replies) if r.kind == "suggested" and r.text), None)
    if suggested is None:
        return None
    shown = redated(suggested.text, suggested.created_at.date(), clock_now().date())
    return round(rouge_l(final_text, shown), 4)


def merged_cases(session: Session, main: Case) -> list[Case]:
    """The petitions merged into `main` (open or answered with it), oldest first."""
    return list(session.scalars(select(Case).where(Case.merged_into == main.id).order_by(Case.id)))


def _close_merged(
    session: Session, main: Case, reply: Reply, sent: dict[str, Any], actor: str | None, stamp: datetime
) -> list[int]:
    """Record the main case's final reply on each petition merged into it and close them."""
    answered = []
    for other in merged_cases(session, main):
        if other.status != MERGED:
            continue
        session.add(
            Reply(
                case=other,
                kind="final",
                text=reply.text,
                qc=reply.qc,
                flagged=reply.flagged,
                confirm_reason=reply.confirm_reason,
                model_version=reply.model_version,
                actor=actor,
                created_at=stamp,
            )
        )
        other.status = CLOSED
        other.closed_at = stamp
        other.department = main.department
        _touch(other, stamp)
        _event(session, other, "reply_sent", actor, {**sent, "via_case": main.id}, reply.model_version)
        answered.append(other.id)
    return answered


def merge_case(
    session: Session,
    repeat: Case,
    main: Case,
    *,
    actor: str | None,
    expected_version: int | None = None,
) -> Case:
    """并单: `repeat` is answered by `main`'s reply; it leaves the open queue until then."""
    _check_version(repeat, expected_version)
    if repeat.id == main.id:
        raise StoreError(f"case {repeat.id} cannot be merged into itself")
    if repeat.status == CLOSED:
        raise Conflict(f"case {repeat.id} is closed: a case already answered cannot be merged")
    if repeat.status == MERGED:
        raise Conflict(f"case {repeat.id} is already merged into case {repeat.merged_into}: unmerge it first")
    children = [c.id for c in merged_cases(session, repeat)]
    if children:
        raise Conflict(
            f"case {repeat.id} has petitions merged into it ({', '.join(map(str, children))}): unmerge them first"
        )
    if main.status == CLOSED:
        raise Conflict(f"case {main.id} is closed: merge into an open case")
    if main.status == MERGED:
        raise Conflict(
            f"case {main.id} is itself merged into case {main.merged_into}: merge into case {main.merged_into} instead"
        )
    stamp = clock_now()
    previous = repeat.status
    repeat.status = MERGED
    repeat.merged_into = main.id
    _touch(repeat, stamp)
    _touch(main, stamp)
    _event(session, repeat, "merged", actor, {"into": main.id, "previous_status": previous})
    _event(session, main, "merge_received", actor, {"case": repeat.id, "external_id": repeat.external_id})
    session.flush()
    return repeat


def unmerge_case(
    session: Session, repeat: Case, *, actor: str | None, expected_version: int | None = None
) -> Case:
    """Undo a merge while the main case is open: the petition is back in the queue as it was."""
    _check_version(repeat, expected_version)
    if repeat.status != MERGED or repeat.merged_into is None:
        if repeat.status == CLOSED and repeat.merged_into is not None:
            raise Conflict(
                f"case {repeat.id} was answered with case {repeat.merged_into}'s reply: it cannot be unmerged"
            )
        raise Conflict(f"case {repeat.id} is not merged into another case")
    main = get_case(session, repeat.merged_into)
    stamp = clock_now()
    merged = next((e for e in reversed(repeat.events) if e.kind == "merged"), None)
    previous = (merged.data or {}).get("previous_status") if merged else None
    repeat.status = (
        previous if previous in OPEN_STATUSES else (ASSIGNED if repeat.routing_state != SUGGESTED else NEW)
    )
    repeat.merged_into = None
    _touch(repeat, stamp)
    _touch(main, stamp)
    _event(session, repeat, "unmerged", actor, {"from": main.id, "status": repeat.status})
    _event(session, main, "merge_undone", actor, {"case": repeat.id, "external_id": repeat.external_id})
    session.flush()
    return repeat


def record_event(
    session: Session, kind: str, actor: str | None, data: dict[str, Any], model_version: str | None = None
) -> None:
    """An event not tied to a case (a promotion, a rollback, a retrain)."""
    _event(session, None, kind, actor, data, model_version)


# -- statistics ---------------------------------------------------------------------------------


def department_stats(session: Session, at: datetime | None = None) -> list[dict[str, Any]]:
    """Per department: volume, open overdue, median hours to reply, live routing accuracy, flagged share."""
    return [row for row in case_stats(session, at)["rows"] if row["department"] is not None]


def case_stats(session: Session, at: datetime | None = None) -> dict[str, Any]:
    """The supervisor's figures: one row per department, one for cases with none, and the total.

    Every case is counted in exactly one row (cases the model abstained on and nobody has routed
    yet have no department: their row is `department: None`), so the rows add up to `total`.
    `revise_share` counts sent replies only: a refused send that the clerk then revised into a
    clean reply is the quality check doing its job, not a reply that went out flagged.
    """
    at = at or clock_now()
    volume = dict(session.execute(select(Case.department, func.count()).group_by(Case.department)).all())
    overdue = dict(
        session.execute(
            select(Case.department, func.count())
            .where(Case.status.in_(OPEN_STATUSES), Case.due_at < at)
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
            select(Reply.case_id).where(Reply.kind == "final", Reply.flagged.is_(True)).distinct()
        )
    )
    main = aliased(Case)
    merged = dict(
        session.execute(
            select(main.department, func.count())
            .select_from(Case)
            .join(main, Case.merged_into == main.id)
            .group_by(main.department)
        ).all()
    )

    retention = dict(
        session.execute(
            select(Reply.case_id, Reply.draft_retention).where(
                Reply.kind == "final", Reply.draft_retention.is_not(None)
            )
        ).all()
    )

    def bucket() -> dict[str, list]:
        return {"hours": [], "unchanged": [], "flagged": [], "late": [], "retention": []}

    per: dict[str | None, dict[str, list]] = defaultdict(bucket)
    for case_id, dept, received, closed_at, suggested, due in closed:
        b = per[dept]
        b["hours"].append(max((closed_at - received).total_seconds(), 0) / 3600)
        b["unchanged"].append(suggested == dept)
        b["flagged"].append(case_id in flagged_ids)
        b["late"].append(closed_at > due)
        if case_id in retention:
            b["retention"].append(retention[case_id])

    def row(
        dept: str | None, n_volume: int, n_overdue: int, b: dict[str, list], n_merged: int
    ) -> dict[str, Any]:
        n = len(b["hours"])
        return {
            "department": dept,
            "volume": int(n_volume),
            "overdue": int(n_overdue),
            "closed": n,
            "replied_late": sum(b["late"]),
            "median_hours_to_reply": round(statistics.median(b["hours"]), 2) if n else None,
            "unchanged_share": round(sum(b["unchanged"]) / n, 4) if n else None,
            "draft_retention": round(statistics.mean(b["retention"]), 4) if b["retention"] else None,
            "revise_share": round(sum(b["flagged"]) / n, 4) if n else None,
            "merged": int(n_merged),
        }

    names = sorted({d for d in (*volume, *per) if d})
    if volume.get(None) or None in per:
        names.append(None)
    rows = [
        row(d, volume.get(d, 0), overdue.get(d, 0), per.get(d, bucket()), merged.get(d, 0)) for d in names
    ]
    everything = bucket()
    for b in per.values():
        for key, values in b.items():
            everything[key].extend(values)
    total = row(None, sum(volume.values()), sum(overdue.values()), everything, sum(merged.values()))
    return {"rows": rows, "total": total}


def sent_despite_flags(session: Session, limit: int = 50) -> tuple[list[dict[str, Any]], int]:
    """The newest replies sent although the quality check asked for revision, with the clerk's reason.

    A supervisor reads these to judge each call; the total says how many there are in all.
    """
    sent = (Reply.kind == "final", Reply.flagged.is_(True))
    total = session.scalar(select(func.count()).select_from(Reply).where(*sent)) or 0
    rows = session.execute(
        select(Reply, Case.department, Case.title)
        .join(Case, Case.id == Reply.case_id)
        .where(*sent)
        .order_by(Reply.created_at.desc(), Reply.id.desc())
        .limit(limit)
    ).all()
    items = []
    for reply, department, title in rows:
        qc = reply.qc or {}
        items.append(
            {
                "case_id": reply.case_id,
                "title": title,
                "department": department,
                "score": qc.get("score"),
                "flags": [f.get("code") for f in qc.get("flags", [])],
                "reason": reply.confirm_reason,
                "actor": reply.actor,
                "at": reply.created_at,
            }
        )
    return items, int(total)


def petition_totals(session: Session) -> dict[str, int]:
    """Petitions received, merged into another (并单) and answered: a merged petition answered by
    its main case's reply counts as one more reply sent, so `replies_sent` counts petitions."""
    received, merged, sent, waiting = session.execute(
        select(
            func.count(),
            func.count(Case.merged_into),
            func.count().filter(Case.status == CLOSED),
            func.count().filter(Case.status == MERGED),
        ).select_from(Case)
    ).one()
    return {
        "received": int(received),
        "merged": int(merged),
        "merged_waiting": int(waiting),
        "replies_sent": int(sent),
    }
