"""The reply quality checker: a score, a verdict and flags a clerk can act on.

Every flag comes from a rule in the rules file and carries its evidence (the phrase that raised
it, or the figure), so a supervisor can always answer "why was this reply marked?". The score is
100 minus the weights of the flags raised; nothing is rewritten, only pointed at.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from triage.quality.dates import QualityInputError, parse_when
from triage.quality.duplicates import ReplyTemplates
from triage.quality.reading import ReplyReading, read_reply
from triage.quality.relevance import PetitionTerms, bigrams, echoed_share, petition_terms, present, unanswered
from triage.quality.rules import QualityRules, load_rules
from triage.quality.substance import KIND_NAMES, Substance, weigh
from triage.text import MAX_TEXT_CHARS, normalize
from triage.workdays import DEFAULT_CALENDAR, WorkCalendar

ELEMENTS = ("称呼", "事项复述", "核实情况", "处理结果/措施", "依据", "时限", "联系方式")
# The checklist the staff page shows: the elements, then the one item a reply may be required to
# have. The verdict is never "ok" while a required item is missing.
SUBSTANCE_ITEM = "实质内容"
CHECKLIST = (*ELEMENTS[:4], "决定及理由", *ELEMENTS[4:], SUBSTANCE_ITEM)
EVIDENCE_CHARS = 80
BODY_CHARS = 800


class _MemoCalendar(WorkCalendar):
    """The caller's calendar with each day's answer remembered: a check should not re-ask
    chinese_calendar about the same days for every reply in a batch."""

    def __init__(self, calendar: WorkCalendar) -> None:
        super().__init__(calendar.extra_holidays, calendar.extra_workdays, calendar.day_end)
        self._inner = calendar
        self._days: dict = {}

    def is_workday(self, day) -> bool:
        answer = self._days.get(day)
        if answer is None:
            answer = self._days[day] = self._inner.is_workday(day)
        return answer


class ReplyTooLong(QualityInputError):
    """Over MAX_TEXT_CHARS: no reply to a citizen is that long, and checking it would be slow."""


@dataclass(frozen=True)
class Flag:
    code: str
    message: str
    evidence: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "evidence": self.evidence}


@dataclass(frozen=True)
class ChecklistItem:
    """One line of the page's checklist, as the checker judged it (one home for the rule)."""

    item: str
    present: bool
    required: bool
    evidence: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "present": self.present,
            "required": self.required,
            "evidence": self.evidence,
        }


@dataclass
class QualityResult:
    score: int
    verdict: str
    flags: list[Flag] = field(default_factory=list)
    elements: dict[str, bool] = field(default_factory=dict)
    checklist: list[ChecklistItem] = field(default_factory=list)

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.flags]

    @property
    def missing_required(self) -> list[str]:
        return [c.item for c in self.checklist if c.required and not c.present]

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "verdict": self.verdict,
            "flags": [f.to_dict() for f in self.flags],
            "elements": dict(self.elements),
            "checklist": [c.to_dict() for c in self.checklist],
        }


def _clip(text: str, limit: int = EVIDENCE_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quote(items: list[str], limit: int = 3) -> str:
    return "；".join(f"“{_clip(i, 40)}”" for i in items[:limit])


class QualityChecker:
    """Scores replies against their petitions; `fit_reply_corpus` adds the near-duplicate check."""

    def __init__(self, rules_path: str | Path | None = None, calendar: WorkCalendar | None = None) -> None:
        self.rules: QualityRules = load_rules(rules_path)
        self.calendar = calendar or DEFAULT_CALENDAR
        self._days = _MemoCalendar(self.calendar)
        self._reference_loader: Callable[[], Iterable[str]] | None = None
        self._reference_lock = threading.Lock()
        self.templates: ReplyTemplates | None = None

    # --- reference set -------------------------------------------------------------------------

    def fit_reply_corpus(self, replies: Iterable[str]) -> QualityChecker:
        """Learn which reply texts are shared by many replies (templates), from past replies."""
        self.templates = ReplyTemplates(self.rules.duplicate_similarity).add(replies)
        self._reference_loader = None
        return self

    def fit_reply_corpus_later(self, loader: Callable[[], Iterable[str]]) -> QualityChecker:
        """Fit on first use: an app builds its checker at start-up, and most processes (tests,
        workers that never check a reply) should not pay for reading the reference replies."""
        self._reference_loader = loader
        return self

    def _reference(self) -> ReplyTemplates | None:
        if self._reference_loader is not None:
            with self._reference_lock:
                if self._reference_loader is not None:
                    self.fit_reply_corpus(self._reference_loader())
        return self.templates

    # --- checking ------------------------------------------------------------------------------

    def check(
        self,
        petition: Mapping[str, Any],
        reply: str,
        replied_at: datetime | str | None = None,
        received_at: datetime | str | None = None,
        request_type: str | None = None,
    ) -> QualityResult:
        """Check one reply; raises QualityInputError naming the field for input it cannot use."""
        if not isinstance(petition, Mapping):
            raise QualityInputError("petition", "missing: give the petition's title and body")
        title = normalize(_text(petition.get("title"), "petition.title"))
        # Only the body's opening is compared with the reply (relevance.MAX_PETITION_CHARS).
        body = normalize(_text(petition.get("body"), "petition.body")[:BODY_CHARS])
        if not title and not body:
            raise QualityInputError(
                "petition", "title and body are both empty: nothing to compare the reply with"
            )
        if reply is None:
            raise QualityInputError(
                "reply", "missing: give the reply text (an empty string is checked and flagged)"
            )
        reply = _text(reply, "reply")
        if len(reply) > MAX_TEXT_CHARS:
            raise ReplyTooLong("reply", f"has {len(reply)} characters; the limit is {MAX_TEXT_CHARS}")
        received = parse_when(
            received_at if received_at is not None else petition.get("received_at"), "received_at"
        )
        replied = parse_when(replied_at, "replied_at")
        if received and replied and replied < received:
            raise QualityInputError(
                "replied_at",
                f"{replied.isoformat(sep=' ')} is before received_at {received.isoformat(sep=' ')}",
            )
        kind = request_type if request_type is not None else petition.get("request_type")
        canonical = self.rules.canonical_type(_text(kind, "request_type"))
        if kind and kind.strip() and canonical is None:
            known = ", ".join(sorted(set(self.rules.aliases)))
            raise QualityInputError("request_type", f"unknown request type {kind!r}; known: {known}")
        return self._check(title, body, normalize(reply), received, replied, canonical)

    def check_many(self, items: Iterable[Mapping[str, Any]]) -> list[QualityResult]:
        """Items shaped like the API's: {"petition", "reply", "received_at"?, "replied_at"?, "request_type"?}.

        Errors name the item (`items[3].replied_at`), so one bad row in a batch is easy to find.
        """
        results = []
        for i, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise QualityInputError(f"items[{i}]", "must be an object with petition and reply")
            try:
                results.append(
                    self.check(
                        item.get("petition"),
                        item.get("reply"),
                        replied_at=item.get("replied_at"),
                        received_at=item.get("received_at"),
                        request_type=item.get("request_type"),
                    )
                )
            except QualityInputError as exc:
                raise exc.at(f"items[{i}]") from None
        return results

    def _check(
        self,
        title: str,
        body: str,
        reply: str,
        received: datetime | None,
        replied: datetime | None,
        request_type: str | None,
    ) -> QualityResult:
        rules = self.rules
        reading = read_reply(reply, rules, petition=f"{title}。{body}")
        terms = petition_terms(title, body, rules)
        reply_pairs = bigrams(reply)
        flags: list[Flag] = []

        def flag(code: str, evidence: str) -> None:
            flags.append(Flag(code, rules.flags[code].message, evidence))

        inferred = request_type is None
        if inferred:
            request_type = next(
                (k for k, words in rules.type_from_title if any(w in title for w in words)), None
            )
        substance = weigh(reading, rules, request_type)
        if not reply.strip():
            flag("empty_reply", "答复为空")
        else:
            self._content_flags(reading, request_type, flag)
            if substance.problem:
                flag("no_decision", _no_decision_evidence(reading, substance, request_type))
            self._relevance_flags(reading, terms, reply_pairs, flag)
        self._late_flag(received, replied, request_type, inferred, flag)
        templates = self._reference() if reply.strip() else None
        if templates is not None:
            match = templates.match(reply, normalized=True)
            if match and match.others >= rules.duplicate_min_others:
                flag(
                    "near_duplicate",
                    f"参考库 {len(templates)} 条答复中另有 {match.others} 条与此条几乎相同"
                    f"（去掉编号、日期、数字后，相同的三字片段占 {rules.duplicate_similarity:.0%} 以上），"
                    f"例如“{_clip(match.similar_example, 60)}”",
                )
        penalty = sum(rules.flags[f.code].weight for f in flags)
        score = max(0, 100 - penalty)
        elements = self._elements(reading, terms, reply_pairs, substance)
        checklist = _checklist(elements, reading, substance, bool(reply.strip()))
        missing = any(c.required and not c.present for c in checklist)
        return QualityResult(
            score=score,
            verdict="revise" if score < rules.revise_below or missing else "ok",
            flags=flags,
            elements=elements,
            checklist=checklist,
        )

    def _content_flags(self, reading: ReplyReading, request_type: str | None, flag) -> None:
        rules = self.rules
        thin = reading.substance_chars < rules.min_substance_chars
        figure = f"去掉称呼、客套、转办说明和落款后只剩 {reading.substance_chars} 个字"
        raised = False
        # A transfer with a number to call is a next step the citizen can take; without one it is not.
        if thin and (reading.found["forwarding"] or reading.found["pending"]) and not reading.has_contact:
            said = reading.found["forwarding"] + reading.found["pending"]
            flag("forwarded_only", f"{_quote(said)}；{figure}")
            raised = True
        if reading.found["generic_promise"] and (
            thin or (reading.substance_chars < rules.generic_promise_max_substance and not reading.concrete)
        ):
            flag(
                "generic_promise",
                f"{_quote(reading.found['generic_promise'])}；其余部分只有 {reading.substance_chars} 个字，"
                "没有具体事实、措施、时间、地点、金额或依据",
            )
            raised = True
        vague = reading.vague_referrals
        unnamed_how = [r for r in reading.referrals if r.specific and not r.how]
        if vague and reading.substance_chars < rules.buck_passing_max_substance:
            flag(
                "buck_passing",
                f"{_quote([r.text for r in vague])}：没有写明具体单位；其余部分只有 {reading.substance_chars} 个字",
            )
            raised = True
        elif thin and unnamed_how:
            flag(
                "buck_passing", f"{_quote([r.text for r in unnamed_how])}：没有联系电话、地址或网址；{figure}"
            )
            raised = True
        elif (
            request_type in rules.must_handle
            and reading.referrals
            and reading.own_chars < rules.min_substance_chars
        ):
            flag(
                "buck_passing",
                f"{request_type}件应由本单位处理，答复只让群众另找渠道：{_quote([r.text for r in reading.referrals])}",
            )
            raised = True
        if (
            thin
            and not raised
            and (reading.found["acknowledgement"] or reading.greeting or reading.found["courtesy"])
        ):
            said = reading.found["acknowledgement"] or reading.found["courtesy"] or [reading.greeting or ""]
            flag("ack_only", f"{_quote(said)}；{figure}")
            raised = True
        if reading.chars < rules.min_reply_chars or (thin and not raised):
            flag(
                "too_short",
                f"全文 {reading.chars} 个汉字，{figure}（至少需要 {rules.min_substance_chars} 个）",
            )
        if reading.refusals:
            flag("no_basis", f"{_quote(reading.refusals, 2)}；答复中没有引用规定，也没有说明理由")
        needs_follow_up = bool(reading.found["forwarding"] or reading.found["pending"] or reading.referrals)
        if needs_follow_up and not reading.has_contact:
            said = (
                reading.found["pending"] or reading.found["forwarding"] or [r.text for r in reading.referrals]
            )
            flag("no_contact", f"{_quote(said, 1)}，但答复中没有电话、地址或网址")

    def _relevance_flags(
        self, reading: ReplyReading, terms: PetitionTerms, reply_pairs: set[str], flag
    ) -> None:
        rules = self.rules
        share = echoed_share(terms.pairs, reply_pairs)
        if (
            reading.substance_chars >= rules.off_topic_min_substance
            and share < rules.off_topic_max_share
            and not terms.title_pairs & reply_pairs
            and len(terms.terms) >= rules.off_topic_min_terms
            and not present(terms.terms, reading.text)
        ):
            flag(
                "off_topic",
                f"留言关键词 {'、'.join(terms.terms[:8])} 在答复中都没有出现，"
                f"留言的双字组合只有 {share:.0%} 在答复中出现",
            )
        # Words are a weak proxy for answers: a reply that reports a result, a time limit or a basis
        # is taken to address the question even in other words.
        # A long, detailed reply is not judged on word overlap at all: too often it answers in
        # other words, and a clerk stops reading flags that are wrong half the time.
        answered_otherwise = reading.substance_chars > rules.unanswered_max_substance or any(
            reading.found[g] for g in ("action", "deadline_words", "basis")
        )
        missed = [] if answered_otherwise else unanswered(terms.questions, reply_pairs)
        if missed:
            flag("unanswered_question", _quote(missed, 2))

    def _late_flag(self, received, replied, kind: str | None, inferred: bool, flag) -> None:
        if received is None or replied is None:
            return
        how = "（按标题推断）" if inferred and kind else ""
        limit = self.rules.deadline_for(kind)
        days = self._days.workdays_between(received, replied)
        if days > limit:
            flag(
                "late",
                f"{received:%Y-%m-%d} 收到，{replied:%Y-%m-%d} 答复，用了 {days} 个工作日，"
                f"超过{kind or '默认'}{how}时限 {limit} 个工作日",
            )

    def _elements(
        self, reading: ReplyReading, terms: PetitionTerms, reply_pairs: set[str], substance: Substance
    ) -> dict[str, bool]:
        # 事项复述: the reply repeats at least two of the title's character pairs (one for a title
        # that has only one), e.g. "锦绣花园" and "路灯" of "锦绣花园小区北门路灯不亮".
        echoed = len(terms.title_pairs & reply_pairs)
        return {
            "称呼": reading.greeting is not None,
            "事项复述": bool(terms.title_pairs) and echoed >= min(2, len(terms.title_pairs)),
            "核实情况": bool(substance.found["finding"]),
            "处理结果/措施": bool(substance.found["result"] or substance.found["action"]),
            "依据": bool(reading.found["basis"]),
            "时限": bool(reading.found["deadline_words"]),
            "联系方式": reading.has_contact,
        }


def _no_decision_evidence(reading: ReplyReading, substance: Substance, request_type: str | None) -> str:
    """Which kind of empty answer it is, then the phrases that fill the reply instead."""
    if substance.problem == "deferral":
        head = f"{_quote(substance.deferrals, 2)}：推后处理，但没有写明决定、时间或理由"
    elif substance.problem == "info_request":
        head = f"{_quote(substance.info_requests, 2)}：要求补充情况，但没有说明补充后怎么办、找谁"
    elif substance.problem == "referral":
        head = (
            f"{_quote(substance.referrals, 1)}：只让群众另找渠道，没有写明具体单位和联系办法，也没有答复本身"
        )
    else:
        kind = f"{request_type}件" if request_type else "诉求类型不明，按需实质答复处理"
        head = f"{kind}：没有{'、'.join(KIND_NAMES[k] for k in ('finding', 'result', 'action', 'decision'))}"
    parts = [head]
    if reading.referrals and substance.problem != "referral":
        parts.append(f"只让群众另找：{_quote([r.text for r in reading.referrals], 1)}")
    stock = reading.found.get("stock", []) + reading.found["generic_promise"] + reading.found["pending"]
    stock = list(dict.fromkeys(stock))
    stock = [w for w in stock if not any(w != other and w in other for other in stock)]
    if stock:
        parts.append(f"套话：{_quote(stock, 4)}")
    if reading.echoed:
        parts.append(f"复述留言：{_quote(reading.echoed, 2)}")
    parts.append(f"去掉称呼、套话和复述后只剩 {substance.own_chars} 个字")
    return "；".join(parts)


def _checklist(
    elements: dict[str, bool], reading: ReplyReading, substance: Substance, has_text: bool
) -> list[ChecklistItem]:
    """The page's checklist: the elements as hints, and 实质内容, required where the rules say."""
    found = substance.found
    items = []
    for name in CHECKLIST:
        if name == SUBSTANCE_ITEM:
            required = substance.required or bool(
                substance.deferrals or substance.info_requests or substance.referrals
            )
            present = has_text and (substance.problem is None if required else substance.present)
            said = [f"{KIND_NAMES[k]}：{_quote(found[k], 1)}" for k in KIND_NAMES if found.get(k)]
            items.append(ChecklistItem(name, present, required, "；".join(said)))
        elif name == "决定及理由":
            items.append(ChecklistItem(name, bool(found["decision"]), False, _quote(found["decision"], 1)))
        else:
            evidence = {
                "核实情况": _quote(found["finding"], 1),
                "处理结果/措施": _quote(found["result"] + found["action"], 1),
                "依据": _quote(reading.found["basis"], 1),
                "时限": _quote(reading.found["deadline_words"], 1),
            }.get(name, "")
            items.append(ChecklistItem(name, elements[name], False, evidence))
    return items


def _text(value: Any, field_name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise QualityInputError(field_name, f"must be text, got {type(value).__name__}")
    return value
