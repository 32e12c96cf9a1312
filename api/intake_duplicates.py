"""Linking a new case to the open or recent case it repeats (可能重复), and indexing it for that.

The duplicate index and the topic model are derived data (the case store is the record), so
they are saved by a background thread at most every `SAVE_EVERY` seconds instead of on every
case: a save rewrites the whole snapshot, seconds at 100,000 petitions, which no request should
wait for. What a crash loses of that window, and what other hosts stored, the index reads back
from the store (triage/topics/store_feed.py) at start and before each check.
"""

from __future__ import annotations

import atexit
import logging
import threading
from datetime import datetime
from typing import Any

log = logging.getLogger("triage.duplicates")

RECENT_DAYS = 30
SAVE_EVERY = 30.0


def find_possible_duplicate(state: Any, text: str, received_at: datetime) -> dict[str, Any] | None:
    """The most similar indexed case received within `RECENT_DAYS`, or None.

    The index first takes in the cases other processes and hosts stored (`DuplicateFeed`)."""
    topic_state = getattr(state, "topic_state", None)
    if topic_state is None:
        return None
    catch_up(state)
    with topic_state.lock:
        matches = topic_state.duplicates.query(text, received_at=received_at, within_days=RECENT_DAYS)
    if not matches:
        return None
    best = matches[0]
    case_id = int(best.case_id) if str(best.case_id).isdigit() else best.case_id
    return {"case_id": case_id, "similarity": round(best.similarity, 3)}


def catch_up(state: Any) -> None:
    """Take in the cases other processes and hosts stored since the last look (at most every
    TRIAGE_MODEL_CHECK_SECONDS); what was added is saved with the next periodic save."""
    feed = getattr(state, "duplicate_feed", None)
    if feed is not None and feed.maybe_catch_up():
        _saver_for(state.topic_state).mark_dirty()


def index_case(state: Any, case_id: int, title: str, body: str, received_at: datetime) -> None:
    """Add a stored case to the duplicate index; never fails the request. (Its topic comes with
    the store's next topic snapshot: triage/topics/shared.py.)"""
    topic_state = getattr(state, "topic_state", None)
    if topic_state is None:
        return
    try:
        topic_state.add_duplicates(
            [{"id": str(case_id), "title": title, "body": body, "received_at": received_at}]
        )
    except ValueError as exc:  # nothing comparable in the text (only punctuation): not indexed
        log.info("case %s not indexed for duplicates: %s", case_id, exc)
        return
    _saver_for(topic_state).mark_dirty()


class _PeriodicSaver:
    def __init__(self, topic_state: Any) -> None:
        self.topic_state = topic_state
        self.dirty = threading.Event()
        self.thread = threading.Thread(target=self._run, name="topic-state-saver", daemon=True)
        self.thread.start()
        atexit.register(self.flush)

    def mark_dirty(self) -> None:
        self.dirty.set()

    def flush(self) -> None:
        if self.dirty.is_set():
            self.dirty.clear()
            try:
                self.topic_state.save()
            except Exception:
                self.dirty.set()
                log.exception("saving the duplicate index failed")

    def _run(self) -> None:
        while True:
            self.dirty.wait()
            threading.Event().wait(SAVE_EVERY)
            self.flush()


_savers: dict[int, _PeriodicSaver] = {}
_savers_lock = threading.Lock()


def _saver_for(topic_state: Any) -> _PeriodicSaver:
    with _savers_lock:
        saver = _savers.get(id(topic_state))
        if saver is None:
            saver = _savers[id(topic_state)] = _PeriodicSaver(topic_state)
        return saver
