"""The drafting history catches up with the imports in the case store, batch by batch.

An import is one committed batch (triage/store/history_imports.py). Beside the history index this
host remembers which batches it has applied, for which store; every look asks the store for batch
ids it has not applied (a few rows, whatever their commit order) and applies each whole, in row
order, with the tokens stored at import. A lost history folder applies every batch again; applying
one twice is harmless, since the index skips ids it holds.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from triage.atomic import write_atomic
from triage.retrieval.history import HistoryIndex
from triage.store.engine import Store, StoreUnavailable
from triage.store.feed import CatchUp
from triage.store.history_imports import batch_ids, batch_items, import_batch

log = logging.getLogger("triage.feed")

PAGE = 5000
STATE_FILE = "imported_batches.json"
UPGRADE_FILE = "store_upgrade.json"
FED_FROM_REPLIES = "case-"  # ids of cases the store's sent replies fed (triage/retrieval/store_feed.py)


class ImportFeed(CatchUp):
    def __init__(self, store: Store, history: HistoryIndex, check_seconds: float = 1.0) -> None:
        super().__init__(store, Path(history.directory) / STATE_FILE, check_seconds)
        self.history = history

    def applied(self) -> set[int]:
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
            if state.get("store") == self.identity:
                return {int(b) for b in state.get("applied", [])}
        except (OSError, ValueError, TypeError, AttributeError):
            pass
        return set()

    def mark_applied(self, batches: set[int]) -> None:
        payload = json.dumps({"store": self.identity, "applied": sorted(batches)}).encode("utf-8")
        write_atomic(self.state_path, lambda fh: fh.write(payload))

    def catch_up(self) -> int:
        """Apply the batches this host lacks; how many cases were new. A store that does not answer
        is logged and tried again at the next look."""
        applied = self.applied()
        added = 0
        try:
            with self.store.session() as session:
                missing = [b for b in batch_ids(session) if b not in applied]
            for batch in missing:
                added += self._apply(batch)
                applied.add(batch)
                self.mark_applied(applied)
        except (StoreUnavailable, SQLAlchemyError) as exc:
            log.warning("imported history not caught up with the store: %s", exc)
        if added:
            log.info("drafting history: %d imported cases added from the store", added)
        return added

    def _apply(self, batch: int) -> int:
        added, after = 0, 0
        while True:
            with self.store.session() as session:
                page = batch_items(session, batch, after, PAGE)
            if not page:
                break
            added += self.history.add_history([item for _, item in page], defer_merge=True).added
            after = page[-1][0]
            if len(page) < PAGE:
                break
        self.history.compact(only_if_large=True)
        return added


def import_local_history(feed: ImportFeed) -> int:
    """Once per store: what an installation from before this table imported into its history
    folder (every case not fed from a sent reply) becomes a batch in the store, so that other
    hosts and a rebuilt folder have it too. How many cases the store gained."""
    marker = feed.state_path.with_name(UPGRADE_FILE)
    try:
        if json.loads(marker.read_text(encoding="utf-8")).get("store") == feed.identity:
            return 0
    except (OSError, ValueError, AttributeError):
        pass
    items = feed.history.stored_items(exclude_prefix=FED_FROM_REPLIES)
    added = 0
    if items:
        with feed.store.session(write=True) as session:
            report = import_batch(session, items, f"upgrade: {feed.history.directory}")
        if report.batch_id is not None:
            feed.mark_applied(feed.applied() | {report.batch_id})  # this folder holds it already
            added = report.added
            log.info("drafting history: %d cases of this host's folder imported into the store", added)
    payload = json.dumps({"store": feed.identity}).encode("utf-8")
    write_atomic(marker, lambda fh: fh.write(payload))
    return added
