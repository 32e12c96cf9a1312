"""Which past replies may become drafting sources: only those the quality check passes.

A vague reply (“留言已收悉，已转相关部门”, a referral with no answer) closed its case once, but
must never be shown to staff as the model answer for the next petition, nor become the body of a
draft built from a close past case. Sent replies carry their check already
(triage/retrieval/store_feed.py); imported ones are checked here, as they are read.
"""

from __future__ import annotations

from collections.abc import Iterable

from triage.quality.checker import QualityChecker
from triage.retrieval.history import HistoryItem


def substantive(
    items: Iterable[HistoryItem], checker: QualityChecker | None = None
) -> tuple[list[HistoryItem], int]:
    """(the items whose reply passes the quality check against its own petition, how many did not)."""
    checker = checker or QualityChecker()
    kept, vague = [], 0
    for item in items:
        if checker.check({"title": "", "body": item.text}, item.reply).verdict == "ok":
            kept.append(item)
        else:
            vague += 1
    return kept, vague
