"""Does the reply say anything? A finding, a result, an action with who or when, a decision with
its reason, or an explanation of its own.

Everything is judged on `ReplyReading.view`: the reply with the wrapping, the stock phrases
(认真研究, 妥善处理, 专人跟进 …) and every stretch copied from the petition blanked out. That is
the fix for replies such as “您反映的城南区幸福里小区3号楼后消防通道被私家车占用的问题已收悉。我们高度
重视，将进一步加强管理。”, whose only long words restate the petition. A deferral, a request for more
information and a one-line referral are named separately, so the flag can say which it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from triage.quality.reading import ReplyReading, cjk_count
from triage.quality.rules import QualityRules, SubstanceRules

_CLAUSE = re.compile(r"[^。!?;\n]+")
_FIGURE = re.compile(r"\d+(?:\.\d+)?")
# The kinds of substance, in the order the checklist and the evidence name them.
KINDS = ("finding", "result", "action", "decision", "referral", "explanation")
KIND_NAMES = {
    "finding": "核实情况",
    "result": "处理结果",
    "action": "措施（谁办/何时办）",
    "decision": "决定及理由",
    "referral": "转介（写明单位和联系办法）",
    "explanation": "自身说明",
}


@dataclass
class Substance:
    """What the reply carries, each with the phrases that show it (the evidence)."""

    required: bool
    found: dict[str, list[str]] = field(default_factory=dict)
    deferrals: list[str] = field(default_factory=list)
    info_requests: list[str] = field(default_factory=list)
    referrals: list[str] = field(default_factory=list)  # sends elsewhere, naming no body with a way
    own_chars: int = 0
    dated: bool = False
    reasoned: bool = False
    next_step: bool = False

    @property
    def present(self) -> bool:
        return any(self.found.get(k) for k in KINDS)

    @property
    def problem(self) -> str | None:
        """Why the reply lacks a decision, or None: the `no_decision` flag and the checklist's ✗."""
        if self.present:
            return None
        if self.deferrals and not (self.dated or self.reasoned):
            return "deferral"
        if self.info_requests and not self.next_step:
            return "info_request"
        if self.referrals:
            return "referral"
        if self.required:
            return "nothing"
        return None


def _clauses(view: str) -> list[str]:
    return [c for c in _CLAUSE.findall(view) if c.strip(" ·,")]


def _shown(clause: str) -> str:
    """A clause as evidence: the blanked parts shown as an ellipsis."""
    return re.sub("·+", "…", clause.strip(" ·,"))


def _findings(view: str, rules: QualityRules, sub: SubstanceRules) -> list[str]:
    """经核实/经查 … followed, in the same sentence, by a fact in the reply's own words."""
    out = []
    for clause in _clauses(view):
        for m in rules.patterns["finding"].finditer(clause):
            rest = clause[m.end() :]
            if cjk_count(rest) >= sub.fact_chars or sub.patterns["fact"].search(rest):
                out.append(_shown(clause))
                break
    return out


def _own(match: str) -> bool:
    """A match counts only when at least two of its characters are the reply's own."""
    return cjk_count(match.replace("·", "")) >= 2


def weigh(reading: ReplyReading, rules: QualityRules, request_type: str | None) -> Substance:
    """The substance of an already read reply; `request_type` None means unknown."""
    sub = rules.substance
    assert sub is not None, "rules without a substance section"
    p = sub.patterns
    view = reading.view
    found: dict[str, list[str]] = {k: [] for k in KINDS}
    found["finding"] = _findings(view, rules, sub)
    found["result"] = [_shown(m.group()) for m in p["result"].finditer(view) if _own(m.group())]
    for clause in _clauses(view):
        planned = [m.group() for m in p["planned"].finditer(clause) if _own(m.group())]
        if planned and (p["when"].search(clause) or p["who"].search(clause)):
            found["action"].append(_shown(clause))
    reasoned = bool(p["reason"].search(view))
    if reasoned:
        for clause in _clauses(view):
            m = p["decision"].search(clause)
            # "因信息不全，无法核实" asks for more; it decides nothing
            if (
                m
                and not p["info_request"].search(clause)
                and cjk_count(clause[m.end() :].replace("·", "")) >= 2
            ):
                found["decision"].append(_shown(clause))
    # Sending the citizen to a named body with a number or the papers to bring is a next step they
    # can take, except for the request types the office must handle itself (投诉).
    if request_type not in rules.must_handle:
        found["referral"] = [r.text for r in reading.referrals if r.how and _named(r.text, rules)]
    own = cjk_count(view)
    figures = _FIGURE.findall(view)
    if own >= sub.own_words_enough:
        found["explanation"] = [f"答复自身的文字有 {own} 个字"]
    elif len(figures) >= 2 and own >= sub.fact_chars * 3:
        found["explanation"] = [f"答复给出具体数字：{'、'.join(figures[:3])}"]
    text = reading.text
    return Substance(
        required=sub.required(request_type),
        found=found,
        deferrals=[m.group() for m in p["deferral"].finditer(text) if m.group()],
        info_requests=[m.group() for m in p["info_request"].finditer(text) if m.group()],
        referrals=[r.text for r in reading.referrals],
        own_chars=own,
        dated=bool(p["when"].search(view)),
        reasoned=reasoned,
        next_step=reading.has_contact or bool(p["next_step"].search(text)) or bool(p["when"].search(view)),
    )


def _named(clause: str, rules: QualityRules) -> bool:
    """A body named in the clause that is not "相关部门" in disguise: who will act."""
    for m in rules.patterns["named_body"].finditer(clause):
        if not rules.patterns["generic_body"].search(m.group()):
            return True
    return False
