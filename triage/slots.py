"""The reply skeleton, and which 【…】 in a reply are blanks staff have not filled yet.

Official replies use 【】 for their own ends too: document numbers (长政发【2018】5号, 楚发改价
【（2017）771号】) and headings. Only the drafter's blanks must stop a reply: the skeleton's slots
(【核查结果】, 【联系电话】, 【处置部门】 …), a template's 【请填写…】 (and its 【称呼】, 【事项】,
【地点】, 【日期】 when the drafter had no value for them), and the facts a draft carried over from a
past case for staff to check (【3月12日】, listed in the draft's `missing` as 核实：3月12日). One home
for the rule: the quality check reads no finding or basis into a sentence with such a blank, and a
reply holding one is never sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

import yaml

_BRACKETED = re.compile(r"【([^】]{1,40})】")
TEMPLATE_PREFIX = "请填写"
# how a draft's `missing` names a fact to check (核实：3月12日), beside the slots to fill (核查结果)
CHECK = "核实："


@lru_cache(maxsize=1)
def skeleton() -> dict:
    """The reply skeleton (triage/resources/reply_skeleton.yaml): the drafter's parts and slots."""
    text = resources.files("triage.resources").joinpath("reply_skeleton.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _strings(value) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


@lru_cache(maxsize=1)
def skeleton_slots() -> frozenset[str]:
    """Every slot the skeleton writes (【核查结果】 …) or names (称呼, 事项, 地点, 日期; 依据 …)."""
    data = skeleton()
    names = {name for text in _strings(data) for name in _BRACKETED.findall(text)}
    names |= set(data.get("known_slots", {})) | set(data.get("slot_names", {}).values())
    return frozenset(names)


def _is_blank(name: str, facts: Iterable[str] = ()) -> bool:
    return name.startswith(TEMPLATE_PREFIX) or name in skeleton_slots() or name in facts


def unfilled_slots(text: str, missing: Iterable[str] = ()) -> list[str]:
    """The blanks of `text`, each once, in order; `missing` is the draft's own list (its facts to check)."""
    facts = {name.removeprefix(CHECK) for name in missing}
    return list(dict.fromkeys(m for m in _BRACKETED.findall(text) if _is_blank(m, facts)))


def has_unfilled_slot(sentence: str) -> bool:
    """Whether a sentence holds a skeleton or template blank (without a draft's facts to hand)."""
    return "【" in sentence and any(_is_blank(m) for m in _BRACKETED.findall(sentence))
