"""The duplicate index catches up with the cases stored in the case store.

The index is a cache on one host's disk, saved by a background thread at intervals: a crash loses
the cases indexed since the last save, and another host's cases arrive only through the store.
Before each duplicate check the feed adds what the store holds and the index lacks
(triage/store/feed.py). The topics come from the store's shared model (triage/topics/shared.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from triage.store.engine import Store
from triage.store.feed import StoreFeed
from triage.store.new_cases import NewCase, created_since
from triage.topics.state import TopicState

log = logging.getLogger("triage.duplicates")


class DuplicateFeed(StoreFeed):
    name = "duplicate index"

    def __init__(self, store: Store, state: TopicState, check_seconds: float = 1.0) -> None:
        super().__init__(store, state.directory / "store_feed.json", check_seconds)
        self.state = state

    def fetch(self, session: Session, since: datetime | None, limit: int) -> Sequence[NewCase]:
        return created_since(session, since, limit)

    def stamp(self, row: NewCase) -> datetime:
        return row.created_at

    def apply(self, rows: Sequence[NewCase]) -> int:
        with self.state.lock:
            fresh = [r for r in rows if str(r.case_id) not in self.state.duplicates]
        added = 0
        for row in fresh:  # one by one: a petition with nothing comparable is skipped, not fatal
            try:
                with self.state.lock:
                    if str(row.case_id) in self.state.duplicates:
                        continue
                    self.state.add_duplicates(
                        [
                            {
                                "id": str(row.case_id),
                                "title": row.title,
                                "body": row.body,
                                "received_at": row.received_at,
                            }
                        ]
                    )
                added += 1
            except ValueError as exc:
                log.info("case %s not indexed for duplicates: %s", row.case_id, exc)
        return added
