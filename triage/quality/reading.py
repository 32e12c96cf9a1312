"""Taking a reply apart: which stretches are boilerplate and how much substance is left.

The central measure is *substance*: the Chinese characters that remain once the greeting, the
"已收悉", the "已转…处理", the thanks, the stock promises and the signature are masked out. A reply
that is all wrapping and no content is what citizens call 官样文章, and counting what is left is
easier to explain to a clerk ("only 6 characters say anything") than any learned score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from triage.quality.relevance import echo_spans
from triage.quality.rules import QualityRules
from triage.slots import has_unfilled_slot

BOILERPLATE_GROUPS = ("acknowledgement", "forwarding", "pending", "courtesy", "generic_promise")
CONCRETE_GROUPS = ("finding", "action", "basis", "deadline_words")
GREETING_WINDOW = 40
SIGNATURE_WINDOW = 60
_CJK = re.compile(r"[\u4e00-\u9fff]")
_TRAILING_JUNK = re.compile(r"[\s,.:;!?。、()“”\"'\-—]+$")
_SENTENCE = re.compile(r"[^。!?;\n]+")
_REASON = re.compile(r"因为|由于|因(?!此)|鉴于|考虑到")
_BOOK_TITLE = re.compile(r"《[^》]{0,60}》")
_DIGIT = re.compile(r"\d")


def cjk_count(text: str) -> int:
    return len(_CJK.findall(text))


@dataclass
class Referral:
    text: str
    specific: bool  # names a real body, not "相关部门"
    how: bool = False  # says how: a number, an address, documents to bring


@dataclass
class ReplyReading:
    """What the checker knows about one normalised reply."""

    text: str
    chars: int
    greeting: str | None
    found: dict[str, list[str]] = field(default_factory=dict)
    referrals: list[Referral] = field(default_factory=list)
    substance: str = ""
    substance_chars: int = 0
    has_contact: bool = False
    own_chars: int = 0
    refusals: list[str] = field(default_factory=list)  # refusals in a reply giving no grounds
    # The reply with everything that is not its own words (wrapping, stock phrases, what restates
    # the petition) blanked to "·": where findings, results and decisions are looked for.
    view: str = ""
    echoed: list[str] = field(default_factory=list)  # stretches restating the petition

    @property
    def vague_referrals(self) -> list[Referral]:
        """Referrals naming nobody, unless another referral in the reply does name the body."""
        if any(r.specific for r in self.referrals):
            return []
        return list(self.referrals)

    @property
    def concrete(self) -> bool:
        """A number or date, a finding, an action taken, a basis or a time limit outside the wrapping."""
        return any(self.found.get(g) for g in CONCRETE_GROUPS) or bool(_DIGIT.search(self.substance))


_UNMASKED = re.compile(rb"\x00+")


def _mask(mask: bytearray, start: int, end: int) -> None:
    mask[start:end] = b"\x01" * (end - start)


def _kept(text: str, mask: bytearray, gap: str = "") -> str:
    """The characters not masked, joined (with `gap` where something was masked); runs of bytes
    beat a per-character Python loop."""
    runs = list(_UNMASKED.finditer(bytes(mask)))
    if not gap:
        return "".join(text[m.start() : m.end()] for m in runs)
    parts, last = [], 0
    for m in runs:
        if m.start() > last:
            parts.append(gap)
        parts.append(text[m.start() : m.end()])
        last = m.end()
    if last < len(text):
        parts.append(gap)
    return "".join(parts)


def _trailing_signature(text: str, pattern: re.Pattern[str], mask: bytearray) -> None:
    """Dates and the signing office at the end, peeled off one at a time (office, then date)."""
    end = len(text)
    for _ in range(4):
        head = _TRAILING_JUNK.sub("", text[max(0, end - SIGNATURE_WINDOW) : end])
        offset = max(0, end - SIGNATURE_WINDOW)
        last = None
        for m in pattern.finditer(head):
            if m.end() == len(head) and m.end() > m.start():
                last = m
                break
        if last is None:
            return
        _mask(mask, offset + last.start(), end)
        end = offset + last.start()


def _is_specific(span: str, rules: QualityRules) -> bool:
    """A referral names somebody real: a number to call, or a body that is not "相关部门" in disguise."""
    if rules.patterns["contact"].search(span):
        return True
    for m in rules.patterns["named_body"].finditer(span):
        if not rules.patterns["generic_body"].search(m.group()):
            return True
    return False


def read_reply(text: str, rules: QualityRules, petition: str = "") -> ReplyReading:
    """Find the boilerplate, referrals and concrete markers of an already normalised reply.

    `petition` (its normalised title and body) is what the reply must not get credit for repeating.
    """
    p = rules.patterns
    mask = bytearray(len(text))
    # Stock phrases inside a cited document's title (《关于进一步加强…的通知》) are a basis, not a promise.
    plain = _BOOK_TITLE.sub(lambda m: " " * len(m.group()), text)
    reading = ReplyReading(text=text, chars=cjk_count(text), greeting=None)

    for m in p["greeting"].finditer(text[:GREETING_WINDOW]):
        if m.group():
            reading.greeting = reading.greeting or m.group()
            _mask(mask, m.start(), m.end())
    for group in BOILERPLATE_GROUPS:
        hits = []
        for m in p[group].finditer(plain):
            if m.group().strip():
                hits.append(m.group().strip())
                _mask(mask, m.start(), m.end())
        reading.found[group] = hits
    _trailing_signature(text, p["signature"], mask)
    substance = rules.substance
    if substance is not None:
        stock = []
        for m in substance.patterns["stock"].finditer(plain):
            if m.group().strip():
                stock.append(m.group().strip())
                _mask(mask, m.start(), m.end())
        reading.found["stock"] = stock
        for start, end in echo_spans(text, petition, substance.echo_chars):
            reading.echoed.append(text[start:end])
            _mask(mask, start, end)

    # A sentence with an unfilled slot (以上处理依据【依据】的有关规定) states nothing yet: no basis, contact
    # or finding is credited to it, and the checklist shows it missing until staff fill it in.
    unfilled = (
        [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if has_unfilled_slot(m.group())]
        if "【" in text
        else []
    )
    filled = text
    for start, end in reversed(unfilled):
        _mask(mask, start, end)
        filled = filled[:start] + "·" + filled[end:]
    reading.has_contact = bool(p["contact"].search(filled))
    referral_spans = []
    for m in p["referral"].finditer(text):
        span = m.group()
        if any(start < m.end() and m.start() < end for start, end in unfilled):
            continue  # "请拨打【联系电话】咨询" sends the citizen nowhere yet: it is a slot
        if p["self_referral"].search(span[:10]):
            continue
        specific = _is_specific(span, rules)
        how = reading.has_contact or bool(p["procedure"].search(span))
        reading.referrals.append(Referral(span.strip(), specific, how))
        referral_spans.append((m.start(), m.end(), specific and how))

    early = _kept(text, mask, gap="·")
    for group in CONCRETE_GROUPS:
        reading.found[group] = [m.group() for m in p[group].finditer(early) if m.group()]

    # Referrals count as substance only when they name who and how; a vague one is wrapping too.
    for start, end, named_with_how in referral_spans:
        if not named_with_how:
            _mask(mask, start, end)
    reading.substance = _kept(text, mask)
    reading.view = _kept(text, mask, gap="·")
    reading.substance_chars = cjk_count(reading.substance)
    # What the office says itself once every referral, even a well-named one, is taken out.
    for start, end, _ in referral_spans:
        _mask(mask, start, end)
    reading.own_chars = cjk_count(_kept(text, mask))

    # A refusal needs its grounds somewhere in the reply: a cited rule or at least a reason.
    if not p["basis"].search(text) and not _REASON.search(text):
        for sentence in _SENTENCE.findall(text):
            if p["refusal"].search(sentence) and not p["referral"].search(sentence):
                reading.refusals.append(sentence.strip())
    return reading
