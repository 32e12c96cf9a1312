"""The case workflow: intake, the routing decision, the reply, the return (退单), the merge (并单).

`CaseDesk` carries each step once, for the API's `/cases` routes and any command that works on
cases: it classifies, routes and drafts through the `TriageService`, checks replies with the
quality checker, links repeats through the duplicate index, and writes each step as one store
transaction with its history event. The slow parts (models, drafting, the quality check) run
before the write transaction opens, so a slow model never holds a database lock and a failure
there stores nothing.

Errors are the store's (`StoreError` and its kinds carry the HTTP status the API answers with),
so a caller other than the API reads the same message a clerk would.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from triage.quality.reasons import reason_problem
from triage.retrieval.store_feed import history_item, learnable
from triage.service import Findings, PetitionError, PetitionInput, TriageService
from triage.slots import unfilled_slots
from triage.store import case_views
from triage.store.clock import iso, now, parse_time
from triage.store.engine import Store
from triage.store.models import CLOSED, OPEN_STATUSES, Case
from triage.store.platform import enqueue_closed
from triage.store.repository import (
    CaseNotFound,
    Conflict,
    Draft,
    StoreError,
    create_case,
    decide_routing,
    find_by_external_id,
    get_case,
    merge_case,
    merged_cases,
    redraft,
    return_case,
    save_reply,
    unmerge_case,
)
from triage.store.sent_replies import SentReply

if TYPE_CHECKING:  # these only name types
    from triage.quality import QualityChecker
    from triage.topics.case_duplicates import CaseDuplicates
    from triage.webhook import WebhookSender

log = logging.getLogger("triage.cases")

HINT_LIMIT = 20  # departments named in the message refusing an unknown one


class InvalidCaseInput(StoreError):
    """A value the workflow cannot use (an unknown department, a petition the table cannot route)."""


class ReplyRefused(StoreError):
    """The reply was not sent: `detail` says why, with the quality check's verdict and flags."""

    def __init__(self, detail: dict[str, Any]) -> None:
        super().__init__(detail["message"])
        self.detail = detail


@dataclass(frozen=True)
class NewCase:
    """A petition as a platform submits it (`external_id` is its own id: a repeat is not stored twice)."""

    external_id: str
    title: str
    body: str
    received_at: datetime | None = None
    channel: str | None = None
    district: str | None = None
    request_type: str | None = None
    contact: dict[str, Any] | None = None
    attachments: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class Intake:
    """The intake's answer: the case as `POST /cases` shows it, and whether it was stored now."""

    view: dict[str, Any]
    created: bool


class CaseDesk:
    """The case workflow over one store, on the parts of a `TriageService`.

    `checker`: the reply quality check (None: replies are sent unchecked); `duplicates`: the
    intake's repeat check (None: none); `webhook`: the sender that tells the platform a case was
    answered (None: no webhook configured; nothing is queued).
    """

    def __init__(
        self,
        store: Store,
        service: TriageService,
        *,
        checker: QualityChecker | None = None,
        duplicates: CaseDuplicates | None = None,
        webhook: WebhookSender | None = None,
    ) -> None:
        self.store = store
        self.service = service
        self.checker = checker
        self.duplicates = duplicates
        self.webhook = webhook

    # -- intake ---------------------------------------------------------------------------------

    def intake(self, new: NewCase, actor: str | None) -> Intake:
        """Store a new petition with its routing suggestion, deadline, possible duplicate and
        draft; a repeat of a stored `external_id` answers the stored case and stores nothing."""
        repeat = self._stored(new)
        if repeat is not None:
            return repeat
        received = parse_time(new.received_at) if new.received_at else now()
        petition = PetitionInput(new.title, new.body, request_type=new.request_type)
        try:
            suggestion = self.service.suggest(petition, received, case_ref=new.external_id)
        except PetitionError as exc:
            raise InvalidCaseInput(f"{exc.field}: {exc.message}") from None
        duplicate = self.duplicates.find(petition.model_text, received) if self.duplicates else None
        if duplicate is not None:
            suggestion.details["possible_duplicate"] = duplicate
        findings = Findings(suggestion.details.get("urgent"), suggestion.details.get("out_of_scope"))
        draft = self.service.case_draft(petition, suggestion.department, suggestion.request_type, findings)
        try:
            with self.store.session(write=True) as s:
                case = create_case(
                    s,
                    external_id=new.external_id,
                    title=new.title,
                    body=new.body,
                    received_at=received,
                    suggestion=suggestion,
                    draft=draft,
                    channel=new.channel,
                    district=new.district,
                    actor=actor,
                    contact=new.contact,
                    attachments=new.attachments,
                )
                view = case_views.created_view(case, now(), created=True)  # collections just written
        except IntegrityError:
            # the same external_id arrived twice at once: the other request stored it
            repeat = self._stored(new)
            if repeat is None:
                raise
            return repeat
        if self.duplicates is not None:
            self.duplicates.add(view["id"], new.title, new.body, received)
        return Intake(view, created=True)

    def _stored(self, new: NewCase) -> Intake | None:
        with self.store.session() as s:
            existing = find_by_external_id(s, new.external_id)
            if existing is None:
                return None
            case = get_case(s, existing.id, full=True)
            return Intake(case_views.existing_view(case, new.title, new.body), created=False)

    # -- routing --------------------------------------------------------------------------------

    def department(self, name: str | None, field: str) -> str | None:
        """`name` as the routing table's current department (a former name follows `forward_to`);
        InvalidCaseInput for a name the table does not know. Any name passes without a table."""
        if name is None or not name.strip():
            return name
        name = name.strip()
        engine = self.service.routing_engine()
        table = engine.table if engine is not None else None
        if table is None:
            return name
        if name in table.departments:
            return table.resolve(name)
        known = table.routable()
        shown = "、".join(known[:HINT_LIMIT]) + (" …" if len(known) > HINT_LIMIT else "")
        raise InvalidCaseInput(
            f"{field}: unknown department {name!r}, not in the routing table; use one of: {shown}"
        )

    def decide_routing(
        self,
        case_id: int,
        *,
        action: str,
        department: str | None,
        reason: str | None,
        actor: str | None,
        version: int | None,
    ) -> dict[str, Any]:
        """Accept the suggested department, or override it (a new draft for the new department)."""
        draft = None
        if action == "override":
            department = self.department(department, "department")
            draft = self._redraft_for(case_id, department)
        with self.store.session(write=True) as s:
            case = get_case(s, case_id)
            decide_routing(
                s,
                case,
                action=action,
                department=department,
                reason=reason,
                actor=actor,
                expected_version=version,
            )
            if draft is not None:
                redraft(s, case, draft, drafted_for=department, actor=actor)
            return self._detail(s, case_id)

    def give_back(
        self, case_id: int, *, reason: str, department: str | None, actor: str | None, version: int | None
    ) -> dict[str, Any]:
        """退单: the department says the case is not theirs; it goes back to manual routing."""
        returning = self.department(department, "department")
        draft = self._redraft_for(case_id, None)  # back to manual routing: no department's answers
        with self.store.session(write=True) as s:
            case = get_case(s, case_id)
            return_case(s, case, reason=reason, department=returning, actor=actor, expected_version=version)
            if draft is not None:
                redraft(s, case, draft, drafted_for=None, actor=actor)
            return self._detail(s, case_id)

    def _redraft_for(self, case_id: int, department: str | None) -> Draft | None:
        """The suggested draft for the case once routed to `department`, made before the write
        transaction opens, or None when the department does not change or the case cannot
        change. An out-of-scope case keeps its template, an emergency its transfer."""
        with self.store.session() as s:
            case = get_case(s, case_id)
            if case.department == department or case.status not in OPEN_STATUSES:
                return None
            title, body, request_type = case.title, case.body, case.request_type
            view = case_views.routing_view(case)
        findings = Findings(view["urgent"], view["out_of_scope"])
        return self.service.case_draft(PetitionInput(title, body), department, request_type, findings)

    # -- merging (并单) --------------------------------------------------------------------------

    def merge(self, case_id: int, into: int, *, actor: str | None, version: int | None) -> dict[str, Any]:
        """Merge a repeated petition into the case whose reply will answer it."""
        with self.store.session(write=True) as s:
            repeat = get_case(s, case_id, full=True)
            try:
                main = get_case(s, into)
            except CaseNotFound:
                raise CaseNotFound(f"into: no case with id {into} to merge case {case_id} into") from None
            merge_case(s, repeat, main, actor=actor, expected_version=version)
            return self._detail(s, case_id)

    def unmerge(self, case_id: int, *, actor: str | None, version: int | None) -> dict[str, Any]:
        """Undo a merge while the main case is still open."""
        with self.store.session(write=True) as s:
            repeat = get_case(s, case_id, full=True)
            unmerge_case(s, repeat, actor=actor, expected_version=version)
            return self._detail(s, case_id)

    # -- the reply ------------------------------------------------------------------------------

    def reply(
        self,
        case_id: int,
        *,
        text: str,
        send: bool,
        confirm_reason: str | None,
        actor: str | None,
        version: int | None,
    ) -> dict[str, Any]:
        """Save a draft, or send the final reply once the quality check passes it (or a clerk
        says in a sentence why it goes despite the flags). Sending closes the case and its merged
        repeats, queues the platform's notification in the same transaction, and teaches the
        drafting history when the check passed the reply. ReplyRefused: nothing was sent."""
        if not text.strip():
            raise StoreError("text is empty: write the reply first")
        with self.store.session() as s:
            case = get_case(s, case_id)
            if case.status == CLOSED:
                raise Conflict(f"case {case_id} is closed: its reply was sent at {iso(case.closed_at)}")
            qc, flagged = self.check_reply(case, text)
            unfilled = unfilled_slots(text, draft_missing(case)) if send else []
        if unfilled:  # no reason sends a blank: the citizen would read 【核查结果】
            shown = "、".join(f"【{name}】" for name in unfilled[:5])
            raise ReplyRefused(
                {
                    "message": f"the reply still has {len(unfilled)} unfilled slot(s) {shown}: "
                    "fill them in or delete them before sending",
                    "field": "text",
                    **_verdict(qc),
                }
            )
        if send and flagged and confirm_reason and confirm_reason.strip():
            problem = reason_problem(confirm_reason)
            if problem:  # a token is no reason: refuse before anything is stored
                raise ReplyRefused({"message": problem, "field": "confirm_reason", **_verdict(qc)})
        model_version = self.service.model_version_in_force()
        with self.store.session(write=True) as s:
            case = get_case(s, case_id)
            saved = save_reply(
                s,
                case,
                text=text,
                send=send,
                qc=qc,
                flagged=flagged,
                confirm_reason=confirm_reason,
                actor=actor,
                model_version=model_version or case.model_version,
                expected_version=version,
            )
            if saved.kind == "final" and self.webhook is not None:
                # one notification per petition answered, committed with the close (each merged
                # petition keeps its own external id and hears back as its own case)
                s.flush()
                for answered in [case, *(m for m in merged_cases(s, case) if m.status == CLOSED)]:
                    enqueue_closed(s, answered)
            out = {
                "case_id": case.id,
                "status": case.status,
                "sent": saved.kind == "final",
                "kind": saved.kind,
                "version": case.version,
                "qc": qc,
            }
            sent = SentReply(case.id, case.title, case.body, case.department, text, qc, now())
        if saved.kind == "refused":
            raise ReplyRefused(
                {
                    "message": "the quality check asks for revision: fix the flags, or send with "
                    "confirm_reason saying why not",
                    **_verdict(qc),
                }
            )
        if out["sent"]:
            if self.webhook is not None:
                self.webhook.wake()  # send now rather than at the next poll
            self._learn(sent)
        return out

    def check_reply(self, case: Case, text: str) -> tuple[dict[str, Any] | None, bool]:
        """The quality check of `text` as the reply to `case`, and whether it asks for revision;
        (None, False) without a checker."""
        if self.checker is None:
            return None, False
        petition = {"title": case.title, "body": case.body}
        try:
            result = self.checker.check(
                petition, text, replied_at=now(), received_at=case.received_at, request_type=case.request_type
            ).to_dict()
        except ValueError as exc:
            if not (case.request_type and "request_type" in str(exc)):
                raise InvalidCaseInput(f"reply: {exc}") from None
            # a request type the checker does not know: checked without it
            result = self.checker.check(
                petition, text, replied_at=now(), received_at=case.received_at
            ).to_dict()
        verdict = result.get("verdict")
        flagged = verdict != "ok" if verdict is not None else bool(result.get("flags"))
        return result, flagged

    def _learn(self, sent: SentReply) -> None:
        """This process drafts from the reply at once; every other process and host reads it
        from the store (triage/retrieval/store_feed.py). Never fails the request: the reply is
        stored, and the history catches up from the store."""
        history = getattr(self.service.drafter, "history", None)
        if history is None or not learnable(sent):
            return
        try:
            history.add_history([history_item(sent)])
        except Exception:
            log.exception("case %s: adding the reply to the drafting history failed", sent.case_id)

    def _detail(self, session: Any, case_id: int) -> dict[str, Any]:
        return case_views.detail(get_case(session, case_id, full=True), now())


def draft_missing(case: Case) -> list[str]:
    """What the case's suggested draft left for staff (its slots and its facts to check)."""
    suggested = next((r for r in reversed(case.replies) if r.kind == "suggested"), None)
    return list(suggested.missing or []) if suggested is not None else []


def _verdict(qc: dict[str, Any] | None) -> dict[str, Any]:
    qc = qc or {}
    return {"verdict": qc.get("verdict"), "score": qc.get("score"), "flags": qc.get("flags", [])}
