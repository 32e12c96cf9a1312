"""The drafting history catches up with the replies sent in the case store.

The history index on local disk is a cache: the store holds every case and its final reply. The
process that sends a reply adds it at once (api/feedback.py); every other process and host, and
an index rebuilt after its folder was lost, reads what it has not seen from the store. The feed
remembers (beside the index) the close time it has read through; each look reads again from
`OVERLAP` before it, so a transaction that committed late with an earlier close time is not
skipped, and the index's own ids make the re-read cases no-ops.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from triage.retrieval.history import HistoryIndex, HistoryItem
from triage.retrieval.store import atomic_write_json, read_json
from triage.store.engine import Store, StoreUnavailable
from triage.store.sent_replies import SentReply, sent_since
from triage.text import MAX_TEXT_CHARS, petition_text

log = logging.getLogger("triage.history_feed")

OVERLAP = timedelta(minutes=10)
PAGE = 5000


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


class HistoryFeed:
    def __init__(self, store: Store, history: HistoryIndex, check_seconds: float = 1.0) -> None:
        self.store = store
        self.history = history
        self.check_seconds = check_seconds
        self.state_path = history.directory / "store_feed.json"
        self.identity = hashlib.sha256(store.safe_url().encode()).hexdigest()[:16]
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    def maybe_catch_up(self) -> None:
        """`catch_up` at most every `check_seconds`; a look already under way is not waited for."""
        if time.monotonic() - self._checked_at < self.check_seconds:
            return
        if self._lock.acquire(blocking=False):
            try:
                self._checked_at = time.monotonic()
                self.catch_up()
            finally:
                self._lock.release()

    def _read_through(self) -> datetime | None:
        state = read_json(self.state_path) or {}
        if state.get("store") != self.identity:
            return None  # a new index, or one filled from another store: read everything
        try:
            return datetime.fromisoformat(state["closed_through"])
        except (KeyError, TypeError, ValueError):
            return None

    def catch_up(self) -> int:
        """Add the store's sent replies the index lacks; returns how many were added. A store
        that does not answer is logged and tried again at the next look."""
        through = self._read_through()
        since = None if through is None else through - OVERLAP
        added = 0
        try:
            while True:
                with self.store.session() as session:
                    page = sent_since(session, since, PAGE)
                if not page:
                    break
                report = self.history.add_history([history_item(s) for s in page if learnable(s)])
                added += report.added
                newest = page[-1].closed_at
                if through is None or newest > through:
                    through = newest
                    atomic_write_json(
                        self.state_path, {"store": self.identity, "closed_through": through.isoformat()}
                    )
                if len(page) < PAGE or since == newest:
                    break
                since = newest
        except (StoreUnavailable, SQLAlchemyError) as exc:
            log.warning("drafting history not caught up with the store: %s", exc)
        if added:
            log.info("drafting history: %d sent replies added from the store", added)
        return added
