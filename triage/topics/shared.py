"""The topic model every host serves, kept in the case store: one writer, the same ids everywhere.

Topics group petitions in the order they arrive, so two hosts that each grouped the cases they
saw first would number and even group them differently. Here one host at a time - whoever holds
the store's `topics` lease - brings the model up to date: it starts from the newest snapshot in
the store (when the store has none yet, from this host's own topic file, so an older
installation's topics are kept), adds the stored cases that snapshot lacks in the order they were
stored, and writes a new snapshot (`triage/store/topic_snapshots.py`). Every other host loads the
newest snapshot when it changes. `GET /topics` then answers alike on every host, and a host whose
topic folder is lost loads the store's model again.

A look costs two small reads at most every `check_seconds` (the newest snapshot's id, the ids of
the recent cases); the lease and a write happen only when the model lacks a case. Cases are re-read from `OVERLAP` before the snapshot's newest case, because on PostgreSQL
a transaction can commit after a later one; a case the model holds is skipped.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from triage.store import leases, topic_snapshots
from triage.store.engine import Store, StoreUnavailable
from triage.store.feed import OVERLAP, PAGE, CatchUp
from triage.store.new_cases import NewCase, case_ids_since, created_since
from triage.topics.clustering import TopicModel
from triage.topics.state import TopicState

log = logging.getLogger("triage.topics")

LEASE = "topics"
LEASE_SECONDS = 120.0


class LostLease(RuntimeError):
    """Another host took the writer's lease while this one was adding cases."""


class SharedTopics(CatchUp):
    """Keeps `state.topics` equal to the store's newest topic model, writing it when this host
    holds the lease (its mark is the snapshot's, in the store)."""

    def __init__(self, store: Store, state: TopicState, check_seconds: float = 1.0) -> None:
        super().__init__(store, None, check_seconds)
        self.state = state
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.snapshot_id: int | None = None  # the snapshot `state.topics` is, None: not one yet
        self.read_through: datetime | None = None
        self.ungroupable: set[int] = set()  # cases with nothing to group: never "lacking"

    def catch_up(self) -> int:
        """Bring this host's topics up to the store; how many cases this host added to the model.
        A store that does not answer is logged and tried again at the next look."""
        try:
            self._load_newest()
            if not self._lacks_cases():  # nothing to write: no write transaction, no lease
                return 0
            with self.store.session(write=True) as session:
                writer = leases.take(session, LEASE, self.holder, LEASE_SECONDS)
            if not writer:  # another host is writing: serve what it wrote last
                return 0
            try:
                return self._update()
            finally:
                with self.store.session(write=True) as session:
                    leases.release(session, LEASE, self.holder)
        except (StoreUnavailable, SQLAlchemyError, LostLease) as exc:
            log.warning("topics not caught up with the store: %s", exc)
            self.snapshot_id = None  # what was added locally may not be stored: reload next time
            return 0

    def _lacks_cases(self) -> bool:
        """Whether the store holds a case the model lacks (from `OVERLAP` before the snapshot's
        newest case on): one read of ids, so a host with nothing to add never takes the lease."""
        since = None if self.read_through is None else self.read_through - OVERLAP
        with self.store.session() as session:
            ids = case_ids_since(session, since, PAGE)
        with self.state.lock:
            return any(i not in self.ungroupable and self.state.topics.topic_of(str(i)) is None for i in ids)

    def _load_newest(self) -> None:
        with self.store.session() as session:
            newest_id = topic_snapshots.newest_id(session)
            if newest_id is None or newest_id == self.snapshot_id:
                return
            snapshot = topic_snapshots.newest(session)
        if snapshot is None:  # pragma: no cover - deleted between the two reads: the next look
            return
        self.state.replace_topics(TopicModel.from_bytes(snapshot.data))
        self.snapshot_id, self.read_through = snapshot.id, snapshot.read_through

    def _update(self) -> int:
        self._load_newest()
        since = None if self.read_through is None else self.read_through - OVERLAP
        through, added = self.read_through, 0
        while True:
            with self.store.session() as session:
                page = created_since(session, since, PAGE)
            if not page:
                break
            added += self._add(page)
            newest = page[-1].created_at
            through = newest if through is None or newest > through else through
            if len(page) < PAGE or since == newest:
                break
            since = newest
            self._renew()
        if added:
            with self.store.session(write=True) as session:
                if not leases.take(session, LEASE, self.holder, LEASE_SECONDS):
                    raise LostLease("the topics lease ran out before the snapshot was written")
                with self.state.lock:
                    data, cases = self.state.topics.to_bytes(), self.state.topics.case_count()
                self.snapshot_id = topic_snapshots.add(
                    session, data, cases=cases, read_through=through, writer=self.holder
                )
            self.read_through = through
            log.info("topics: %d cases added, snapshot %s", added, self.snapshot_id)
        return added

    def _add(self, rows: list[NewCase]) -> int:
        """The rows the model lacks, one by one: a petition with nothing to group is skipped."""
        added = 0
        for row in rows:
            item = {
                "id": str(row.case_id),
                "title": row.title,
                "body": row.body,
                "received_at": row.received_at,
            }
            with self.state.lock:
                if self.state.topics.topic_of(item["id"]) is not None:
                    continue
                try:
                    self.state.topics.add([item])
                except ValueError as exc:
                    log.info("case %s not grouped into topics: %s", row.case_id, exc)
                    self.ungroupable.add(row.case_id)
                    continue
            added += 1
        return added

    def _renew(self) -> None:
        with self.store.session(write=True) as session:
            if not leases.take(session, LEASE, self.holder, LEASE_SECONDS):
                raise LostLease("the topics lease ran out while adding cases")
