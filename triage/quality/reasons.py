"""Is a `confirm_reason` a reason? Sending a flagged reply needs a sentence saying why.

A reason is what a supervisor reads later to judge the clerk's call, so "1", "ok", "。。。" or "好好好好"
let a flagged reply through without one. The rule is deliberately simple and explainable: enough
Chinese characters (or words, for a reason written in another language), not one character
repeated, and not a stock token.
"""

from __future__ import annotations

import re

MIN_CJK = 6
MIN_WORDS = 3
MIN_DISTINCT = 4
_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[A-Za-z]{2,}")
TOKENS = frozenset(
    {
        "ok",
        "okay",
        "yes",
        "y",
        "同意",
        "确认",
        "确定",
        "发送",
        "无",
        "没有",
        "好",
        "好的",
        "是",
        "已确认",
        "n/a",
        "na",
        "test",
    }
)


def reason_problem(reason: str | None) -> str | None:
    """What is wrong with the reason, in a sentence for the 422; None when it is a real reason."""
    text = (reason or "").strip()
    if not text:
        return "confirm_reason is empty: say in a sentence why this reply goes out despite the flags"
    if text.lower() in TOKENS:
        return (
            f"confirm_reason {text!r} is a token, not a reason: say in a sentence why the flags do not apply"
        )
    cjk = _CJK.findall(text)
    words = _WORD.findall(text)
    meaningful = cjk + [w.lower() for w in words]
    if len(set(cjk) | {w.lower() for w in words}) < MIN_DISTINCT and len(meaningful) >= 2:
        return f"confirm_reason {_clip(text)!r} repeats the same characters: write what happened instead"
    if len(cjk) < MIN_CJK and len(words) < MIN_WORDS:
        return (
            f"confirm_reason {_clip(text)!r} is too short to be a reason: write at least {MIN_CJK} Chinese "
            f"characters (or {MIN_WORDS} words) saying why the flagged reply is sent anyway"
        )
    return None


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
