"""The live classifier of this process, swapped without a restart when the pointer changes.

Every worker process polls the pointer's inode/mtime at most once per `check_seconds`; a
promotion made anywhere (CLI, another worker) is therefore served everywhere within that bound.
The new model is loaded and warmed (one prediction) before the reference is swapped, so requests
in flight keep the old one, the first requests on the new one do not wait for its first-use work,
and a bundle that fails to load or predict never replaces a working model.
"""

from __future__ import annotations

import logging
import threading
import time

from api import heap
from training.bundles import ModelRegistry
from triage.classifier import PetitionClassifier
from triage.loaded_model import LoadedModel, NoLiveModel

__all__ = ["LiveModel", "LoadedModel", "NoLiveModel"]

log = logging.getLogger("triage.model")


class LiveModel:
    def __init__(
        self, registry: ModelRegistry, check_seconds: float = 1.0, settle_heap: bool = False
    ) -> None:
        """`settle_heap`: freeze the heap after each swap (api/heap.py), as a serving process does."""
        self.registry = registry
        self.settle_heap = settle_heap
        self.check_seconds = check_seconds
        self._current: LoadedModel | None = None
        self._stamp: tuple[int, int] | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self.last_error: str | None = None

    def get(self) -> LoadedModel:
        now = time.monotonic()
        if self._current is None or now - self._checked_at >= self.check_seconds:
            self.refresh()
        if self._current is None:
            raise NoLiveModel(self.last_error or "no model is live: train one with `triage train --promote`")
        return self._current

    def peek(self) -> LoadedModel | None:
        return self._current

    def expire(self) -> None:
        """Look at the store at the next use instead of after the interval (the store announced
        a change: triage/store/changes.py)."""
        self._checked_at = float("-inf")

    def refresh(self) -> None:
        with self._lock:
            self._checked_at = time.monotonic()
            stamp = self.registry.pointer_stamp()
            if stamp == self._stamp and self._current is not None:
                return
            version = self.registry.live_version()
            if version is None:
                self.last_error = "no model is live: train one with `triage train --promote`"
                self._stamp = stamp
                return
            if self._current is not None and self._current.version == version:
                self._stamp = stamp
                return
            try:
                model = PetitionClassifier.load(self.registry.model_path(version)).warm()
            except Exception as exc:  # noqa: BLE001 - any load failure keeps the previous model
                error = f"cannot load model {version}: {exc}"
                if error != self.last_error:  # checked every second: log a failure once
                    log.error(error)
                self.last_error = error
                return
            self._current = LoadedModel(version, model)
            self._stamp = stamp
            self.last_error = None
            log.info("serving model %s", version)
        if self.settle_heap:
            heap.settle()  # outside the lock: the old model's cycles go, the new one is frozen
