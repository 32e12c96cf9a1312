"""Linking a new case to the open or recent case it repeats (可能重复), and indexing it for that.

The duplicate index is a cache of the case store: the store is the record, the index takes in
the cases other processes and hosts stored (`DuplicateFeed`) before each look, and is saved to
its folder by a background thread at most every `SAVE_EVERY` seconds instead of on every case
(a save rewrites the whole snapshot, seconds at 100,000 petitions, which no request should wait
for). What a crash loses of that window the feed reads back from the store at the next start.
"""

from __future__ import annotations

import atexit
import logging
import threading
from datetime import datetime
from typing import Any

from triage.topics.state import TopicState
from triage.topics.store_feed import DuplicateFeed

log = logging.getLogger("triage.duplicates")

RECENT_DAYS = 30
SAVE_EVERY = 30.0


class CaseDuplicates:
    """The intake's duplicate check over one process's index (`state`), fed from the store."""

    def __init__(self, state: TopicState, feed: DuplicateFeed | None = None) -> None:
        self.state = state
        self.feed = feed
        self._saver: _PeriodicSaver | None = None
        self._saver_lock = threading.Lock()

    def find(self, text: str, received_at: datetime) -> dict[str, Any] | None:
        """The most similar indexed case received within `RECENT_DAYS` ({case_id, similarity}), or None."""
        self.catch_up()
        with self.state.lock:
            matches = self.state.duplicates.query(text, received_at=received_at, within_days=RECENT_DAYS)
        if not matches:
            return None
        best = matches[0]
        case_id = int(best.case_id) if str(best.case_id).isdigit() else best.case_id
        return {"case_id": case_id, "similarity": round(best.similarity, 3)}

    def catch_up(self) -> None:
        """Take in the cases other processes and hosts stored since the last look (at most every
        TRIAGE_MODEL_CHECK_SECONDS); what was added is saved with the next periodic save."""
        if self.feed is not None and self.feed.maybe_catch_up():
            self._mark_dirty()

    def add(self, case_id: int, title: str, body: str, received_at: datetime) -> None:
        """Index a stored case; never fails the request. (Its topic comes with the store's next
        topic snapshot: triage/topics/shared.py.)"""
        try:
            self.state.add_duplicates(
                [{"id": str(case_id), "title": title, "body": body, "received_at": received_at}]
            )
        except ValueError as exc:  # nothing comparable in the text (only punctuation): not indexed
            log.info("case %s not indexed for duplicates: %s", case_id, exc)
            return
        self._mark_dirty()

    def _mark_dirty(self) -> None:
        with self._saver_lock:
            if self._saver is None:
                self._saver = _PeriodicSaver(self.state)
        self._saver.dirty.set()


class _PeriodicSaver:
    """Saves the index a while after it changed, and once more as the process exits."""

    def __init__(self, state: TopicState) -> None:
        self.state = state
        self.dirty = threading.Event()
        self.thread = threading.Thread(target=self._run, name="topic-state-saver", daemon=True)
        self.thread.start()
        atexit.register(self.flush)

    def flush(self) -> None:
        if self.dirty.is_set():
            self.dirty.clear()
            try:
                self.state.save()
            except Exception:
                self.dirty.set()
                log.exception("saving the duplicate index failed")

    def _run(self) -> None:
        while True:
            self.dirty.wait()
            threading.Event().wait(SAVE_EVERY)
            self.flush()
