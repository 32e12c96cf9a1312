"""Keep Python's cyclic garbage collector away from the long-lived heap of a serving process.

A worker holds a few hundred thousand objects that live as long as it does: the models, the
retrieval and duplicate indexes, the routing table. CPython's full (generation 2) collection
walks all of them: measured 20-80 ms a pass with the sample models, run whenever enough new
objects have survived, i.e. every few seconds under load, and during that pass no request
moves. Those pauses were most of /classify's p99. `gc.freeze()` moves every object alive at a
quiet moment into a permanent generation the collector never walks, so a full collection only
looks at what requests created since; memory freed by reference counting is still freed.

The quiet moments are the end of app creation and each swap of a live model (start-up, a
promotion, a rollback). Before freezing again the heap is unfrozen and collected once, so a
replaced model's reference cycles are reclaimed instead of pinned for the life of the process.
That one collection costs a pause of the same size, at a moment that already pays seconds to
load and warm the new model.
"""

from __future__ import annotations

import gc
import logging
import threading
import time

log = logging.getLogger("triage.heap")
_lock = threading.Lock()


def settle() -> float:
    """Collect once, then freeze everything alive; returns the milliseconds it took."""
    with _lock:
        start = time.perf_counter()
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        elapsed = (time.perf_counter() - start) * 1000
    log.info("heap settled: %d objects frozen in %.0f ms", gc.get_freeze_count(), elapsed)
    return elapsed
