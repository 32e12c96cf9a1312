"""A classifier with the version it was loaded as, and where a workflow gets one from.

The service (a `LiveModel` that follows the store's live pointer) and a command (the version it
was told, loaded once) hand the same kind of object to the workflows in `triage/service.py`, so
those workflows do not care which of the two is asking.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from triage.classifier import PetitionClassifier


@dataclass(frozen=True)
class LoadedModel:
    version: str
    model: PetitionClassifier


class NoLiveModel(RuntimeError):
    """No model of this kind can be served (none is live, or the live one failed to load)."""


class ModelSource(Protocol):
    def get(self) -> LoadedModel:
        """The model to use now; raises NoLiveModel when there is none."""
        ...


class FixedModel:
    """One loaded model, always the same: what a command that loaded a version works with."""

    def __init__(self, version: str, model: PetitionClassifier) -> None:
        self._loaded = LoadedModel(version, model)

    def get(self) -> LoadedModel:
        return self._loaded
