"""The drafting history catches up with the replies sent in the case store.

The history index on local disk is a cache: the store holds every case and its final reply. The
process that sends a reply adds it at once (triage/casework.py); every other process and host, and
an index rebuilt after its folder was lost, reads what it lacks from the store (triage/store/feed.py
says how it never skips a late commit).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from triage.retrieval.history import HistoryIndex, HistoryItem
from triage.store.engine import Store
from triage.store.feed import StoreFeed
from triage.store.sent_replies import SentReply, sent_since
from triage.text import MAX_TEXT_CHARS, petition_text


def history_item(sent: SentReply) -> HistoryItem:
    return HistoryItem(
        id=f"case-{sent.case_id}",
        text=petition_text(sent.title, sent.body)[: 2 * MAX_TEXT_CHARS],
        reply=sent.reply,
        department=sent.department or "",
        date=sent.closed_at.date().isoformat(),
    )


def learnable(sent: SentReply) -> bool:
    """Only replies the quality check passed become sources: a vague reply sent with a clerk's
    confirmation closed its case, but must not be the model answer for the next petition."""
    return (sent.qc or {}).get("verdict") == "ok"


class HistoryFeed(StoreFeed):
    name = "drafting history"

    def __init__(self, store: Store, history: HistoryIndex, check_seconds: float = 1.0) -> None:
        super().__init__(store, history.directory / "store_feed.json", check_seconds)
        self.history = history

    def fetch(self, session: Session, since: datetime | None, limit: int) -> Sequence[SentReply]:
        return sent_since(session, since, limit)

    def stamp(self, row: SentReply) -> datetime:
        return row.closed_at

    def apply(self, rows: Sequence[SentReply]) -> int:
        items = [history_item(s) for s in rows if learnable(s)]
        return self.history.add_history(items, defer_merge=True).added

    def settle(self) -> None:
        """One merge of the index after the pages of a look, not one per page (rebuilding
        64,770 sent replies: 289 s with a merge per page, 182 s so; benchmarks/rebuild.py)."""
        self.history.compact(only_if_large=True)
