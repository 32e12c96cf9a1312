"""A deployment's house style, mined from its own past replies.

Every office writes its replies in a shape of its own: one board opens "网友您好！您的留言已收悉。"
and closes "感谢您对我们工作的支持、理解与监督！" with a date, a water company starts "关于您的问题我司回复
如下：" and numbers its points without a closing formula. A draft in another house's words is text
staff must delete before they can write, so the fixed sentences of a draft come from the past
replies of the same department (of the whole deployment when the department has too few), each
with the count that shows where it came from. With no history at all the draft uses a neutral
skeleton that belongs to no particular board.

Only whole sentences that recur verbatim (after masking quoted names such as a user's nickname)
in a good share of the replies count as formulas: a sentence about one case never recurs, so no
fact of another citizen's case can leak into a draft this way.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from triage.text import is_traditional, to_simplified

# A department needs this many past replies before its own style is trusted.
MIN_REPLIES = 20
# A sentence is a formula of the house when at least this share of its replies has it in place.
FORMULA_SHARE = 0.2
# Replies end with a date / number their points when at least half of them do.
MAJORITY = 0.5
# A finding lead ("经核实，") is the house's when this share of its replies uses it.
LEAD_SHARE = 0.2
MAX_FORMULA_SENTENCES = 3
# Wordings of a formula whose keys start alike (感谢您对…) are one family.
FAMILY_CHARS = 4
# Mining reads at most this many of the newest replies of a scope (enough for stable shares).
MAX_REPLIES = 2000
# A house answers Traditional petitions in Traditional when most of its replies to at least this
# many of them are so written.
MIN_SCRIPT_EVIDENCE = 3

# Sentences end at 。！？；, at the colon of "回复如下：" (an opening's last sentence) and after a
# greeting ("网友您好：" is a formula of its own, whatever follows it).
_SENTENCE = re.compile(
    r"[^。！？!?；;\n]+?(?:[。！？!?；;]+|(?:如下|回复|答复)[：:]|(?:您好|你好)[：:，,]|$)"
)
_QUOTED = re.compile(r"“[^”]{0,30}”|\"[^\"]{0,30}\"")
_KEY_NOISE = re.compile(r"[\s“”\"：:，,、]")
_DIGIT = re.compile(r"\d")
_ENDS_SENTENCE = re.compile(r"[。！？!?；;]$")

TRAILING_DATE = re.compile(
    r"\s*(?P<y>(?:19|20)\d{2})\s*(?P<s1>年|-|/|\.)\s*(?P<m>\d{1,2})\s*(?:月|-|/|\.)\s*(?P<d>\d{1,2})\s*日?[。.\s]*$"
)
_ENUMERATOR = re.compile(
    r"(?:^|[。：:；;！!\s])\s*(?:([1-9])[、.．]|[（(]([1-9])[）)]|([一二三四五六七八九])、)(?!\d)"
)
# Words that tie a formula to one kind of petition (the routing's request types).
REQUEST_TYPE_WORDS = ("建议", "咨询", "投诉", "举报", "求助", "表扬", "意见")
FINDING_LEADS = ("经调查核实", "经现场核查", "经现场查看", "经核实", "经核查", "经调查", "经了解", "经查")


@dataclass(frozen=True)
class StylePart:
    """One fixed part of a draft and the evidence for it (shown to staff beside the sources)."""

    part: str  # 开头 | 结尾 | 日期 | 分条 | 核实用语 | 字体
    text: str  # as it appears in the draft ("" when the house leaves the part out)
    count: int  # past replies that have it
    of: int  # past replies read
    scope: str  # department | deployment | neutral
    department: str = ""

    def to_dict(self) -> dict:
        return {
            "part": self.part,
            "text": self.text,
            "count": self.count,
            "of": self.of,
            "scope": self.scope,
            "department": self.department,
        }


@dataclass(frozen=True)
class HouseStyle:
    """The fixed parts of a draft: opening and closing sentences, date format, structure."""

    opening: tuple[str, ...]
    closing: tuple[str, ...]
    date_format: str | None  # e.g. "{y}年{m}月{d}日"; None: the house's replies carry no date
    enumerator: str | None  # e.g. "{n}、"; None: the house writes prose, not numbered points
    finding_lead: str  # "经核实，" … ("" when the house states findings without a lead)
    scope: str
    department: str = ""
    parts: tuple[StylePart, ...] = field(default_factory=tuple)
    # the house answers a Traditional petition in Traditional characters
    follows_script: bool = False

    def for_request_type(self, request_type: str | None) -> HouseStyle:
        """Without the formulas written for another kind of petition: "感谢您的建议。" opens many
        replies to 建议 and must not open the reply to a fire or a wage claim."""

        def fits(text: str) -> bool:
            return not any(word in text for word in REQUEST_TYPE_WORDS if word != request_type)

        return replace(
            self,
            opening=tuple(t for t in self.opening if fits(t)),
            closing=tuple(t for t in self.closing if fits(t)),
            parts=tuple(p for p in self.parts if p.part not in ("开头", "结尾") or fits(p.text)),
        )

    def format_date(self, day: date) -> str:
        if not self.date_format:
            return ""
        return self.date_format.format(y=day.year, m=day.month, d=day.day)

    def number(self, n: int) -> str:
        return self.enumerator.format(n=n) if self.enumerator else ""


def ends_sentence(text: str) -> bool:
    """Whether a formula is a sentence (it ends with 。！？…), not an office's name signing off."""
    return bool(_ENDS_SENTENCE.search(text))


def shown_format(date_format: str) -> str:
    """A date format as staff read it: "{y}年{m}月{d}日" → "YYYY年M月D日"."""
    for field_, shown in (("{y}", "YYYY"), ("{m:02d}", "MM"), ("{d:02d}", "DD"), ("{m}", "M"), ("{d}", "D")):
        date_format = date_format.replace(field_, shown)
    return date_format


def neutral_style() -> HouseStyle:
    """For a department (and deployment) with no past replies: no board's formulas, only the plain
    courtesy any official reply has, dated in the standard 年月日 form."""
    opening = ("您好！",)
    parts = (
        StylePart("开头", "您好！", 0, 0, "neutral"),
        StylePart("结尾", "", 0, 0, "neutral"),
        StylePart("日期", shown_format("{y}年{m}月{d}日"), 0, 0, "neutral"),
    )
    return HouseStyle(
        opening=opening,
        closing=(),
        date_format="{y}年{m}月{d}日",
        enumerator=None,
        finding_lead="经核实，",
        scope="neutral",
        parts=parts,
    )


# --- reading one reply -----------------------------------------------------------------------


@dataclass
class _Reply:
    # the reply's sentences in Simplified, whitespace collapsed, without its trailing date
    sentences: list[str]
    date_format: str | None
    enumerated: bool
    lead: str | None
    traditional: bool


def _date_format(match: re.Match) -> str:
    sep = match.group("s1")
    if sep == "年":
        return "{y}年{m}月{d}日"
    padded = match.group("m").startswith("0") or match.group("d").startswith("0")
    return "{y}" + sep + ("{m:02d}" if padded else "{m}") + sep + ("{d:02d}" if padded else "{d}")


def redated(text: str, drafted_on: date, day: date) -> str:
    """The draft dated `day`, the day staff send it, instead of the day it was drafted, in the
    draft's own date format (a draft made at intake is often used days later).

    Only a trailing date that is the drafting day is rewritten: a date a clerk or a template
    wrote is theirs.
    """
    match = TRAILING_DATE.search(text)
    if drafted_on == day or not match:
        return text
    if (int(match.group("y")), int(match.group("m")), int(match.group("d"))) != (
        drafted_on.year,
        drafted_on.month,
        drafted_on.day,
    ):
        return text
    fmt = _date_format(match)
    end = match.end("d")
    if text[end:].lstrip().startswith("日"):
        end = text.index("日", end) + 1
    return text[: match.start("y")] + fmt.format(y=day.year, m=day.month, d=day.day) + text[end:]


def _read(reply: str) -> _Reply:
    written = re.sub(r"\s+", " ", reply).strip()
    # formulas are counted in one script: "網友您好：" and "网友您好：" are one opening
    text = to_simplified(written)
    traditional = is_traditional(written, text)
    fmt = None
    match = TRAILING_DATE.search(text)
    if match:
        fmt = _date_format(match)
        text = text[: match.start()].rstrip()
    sentences = [s.strip() for s in _SENTENCE.findall(text) if s.strip()]
    numbers = {m.group(1) or m.group(2) or m.group(3) for m in _ENUMERATOR.finditer(text)}
    lead = next((w for w in FINDING_LEADS if w in text), None)
    return _Reply(sentences, fmt, len(numbers) >= 2, lead, traditional)


def formula_key(sentence: str) -> str:
    """What two wordings of one formula share: quoted names masked, spacing and commas ignored.

    A sentence with a number outside quotes (a date, a phone, an amount) is about one case or one
    office's line, never a formula: its key is empty.
    """
    masked = _QUOTED.sub("", sentence)
    return "" if _DIGIT.search(masked) else _KEY_NOISE.sub("", masked)


def _render(sentence: str) -> str:
    """A formula as a draft writes it: another citizen's quoted nickname left out, no stray spaces."""
    return re.sub(r"\s+", "", _QUOTED.sub("", sentence))


def _family(key: str) -> str:
    """Wordings of one formula that differ after their first words (感谢您对我们工作的支持、理解与监督 /
    关心、监督与支持) belong to one family."""
    return key[:FAMILY_CHARS]


def _common_run(sequences: list[list[str]], total: int) -> list[tuple[str, int]]:
    """The sentences most replies share, in order from the start of each sequence.

    At each position the commonest exact formula is taken when it reaches `FORMULA_SHARE` of the
    replies; failing that, the commonest family of wordings, written in its commonest wording.
    """
    run: list[tuple[str, int]] = []
    alive = [s for s in sequences if s]
    for depth in range(MAX_FORMULA_SENTENCES):
        here = [(s, formula_key(s[depth])) for s in alive if len(s) > depth]
        here = [(s, k) for s, k in here if k]
        for group in (lambda k: k, _family):
            counts = Counter(group(k) for _, k in here)
            if counts and counts.most_common(1)[0][1] >= FORMULA_SHARE * total:
                chosen, count = counts.most_common(1)[0]
                members = [s for s, k in here if group(k) == chosen]
                wording = Counter(_render(s[depth]) for s in members).most_common(1)[0][0]
                run.append((wording, count))
                alive = members
                break
        else:
            break
    return run


def mine_style(
    replies: Sequence[str], scope: str, department: str = "", petitions: Sequence[str] | None = None
) -> HouseStyle | None:
    """The house style of these past replies, or None when there are fewer than `MIN_REPLIES`.

    `petitions`, when given, are the petitions the replies answer (in the same order): whether the
    house answers Traditional petitions in Traditional is read from the pairs.
    """
    pairs = (
        list(zip(petitions, replies, strict=True)) if petitions is not None else [("", r) for r in replies]
    )
    kept = [(p, _read(r)) for p, r in pairs if r and r.strip()]
    read = [r for _, r in kept]
    n = len(read)
    if n < MIN_REPLIES:
        return None
    opening = _common_run([r.sentences for r in read], n)
    # the closing run is read backwards from the end, past whatever the opening already took
    tails = [list(reversed(r.sentences[len(opening) :])) for r in read]
    closing = list(reversed(_common_run(tails, n)))
    if scope != "department":  # an office's name signs its own replies, not another office's
        closing = [(text, count) for text, count in closing if ends_sentence(text)]

    def part(name: str, text: str, count: int) -> StylePart:
        return StylePart(name, text, count, n, scope, department)

    parts: list[StylePart] = [part("开头", text, count) for text, count in opening]
    parts += [part("结尾", text, count) for text, count in closing]
    dated = Counter(r.date_format for r in read if r.date_format)
    date_format = None
    if sum(dated.values()) >= MAJORITY * n:
        date_format, count = dated.most_common(1)[0]
        parts.append(part("日期", shown_format(date_format), count))
    numbered = sum(r.enumerated for r in read)
    enumerator = None
    if numbered >= MAJORITY * n:
        enumerator = "{n}、"
        parts.append(part("分条", "1、2、3、", numbered))
    leads = Counter(r.lead for r in read if r.lead)
    finding_lead = ""
    if leads and leads.most_common(1)[0][1] >= LEAD_SHARE * n:
        word, count = leads.most_common(1)[0]
        finding_lead = word + "，"
        parts.append(part("核实用语", word, count))
    answers = [r.traditional for p, r in kept if p and is_traditional(p)]
    follows_script = len(answers) >= MIN_SCRIPT_EVIDENCE and sum(answers) >= MAJORITY * len(answers)
    if follows_script:
        parts.append(StylePart("字体", "繁体来信以繁体答复", sum(answers), len(answers), scope, department))
    return HouseStyle(
        opening=tuple(t for t, _ in opening),
        closing=tuple(t for t, _ in closing),
        date_format=date_format,
        enumerator=enumerator,
        finding_lead=finding_lead,
        scope=scope,
        department=department,
        parts=tuple(parts),
        follows_script=follows_script,
    )


# --- one style per department, kept while the history does not change ------------------------


class StyleBook:
    """The style a draft for a department uses: the department's own, else the deployment's,
    else the neutral one; mined again when the history has grown since (at most every `ttl` s:
    mining 2,000 replies takes ~0.2 s, and a house's style does not change in minutes)."""

    def __init__(self, history, ttl: float = 600.0) -> None:  # history: triage.retrieval.history.HistoryIndex
        self.history = history
        self.ttl = ttl
        self._cache: dict[str, tuple[int, float, HouseStyle | None]] = {}
        self._lock = threading.Lock()

    def style_for(self, department: str | None) -> HouseStyle:
        if self.history is None:
            return neutral_style()
        if department:
            own = self._mined(department)
            if own is not None:
                return own
        return self._mined(None) or neutral_style()

    def _mined(self, department: str | None) -> HouseStyle | None:
        key = department or ""
        size, now = len(self.history), time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and not self._stale(cached[0], cached[1], size, now):
                return cached[2]
        cases = self.history.recent_cases(department, MAX_REPLIES)
        style = mine_style(
            [reply for _, reply in cases],
            "department" if department else "deployment",
            key,
            [t for t, _ in cases],
        )
        with self._lock:
            self._cache[key] = (size, now, style)
        return style

    def _stale(self, mined_size: int, mined_at: float, size: int, now: float) -> bool:
        """A bulk import (a tenth more cases) shows at once; single replies once `ttl` has passed."""
        if size == mined_size:
            return False
        return now - mined_at >= self.ttl or size >= mined_size * 1.1 + MIN_REPLIES
