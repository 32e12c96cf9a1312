"""The service's duplicate index and topic model, and where they live on disk.

Both are derived data: the case store is the record, these are indexes over it that make a
check cost milliseconds. They live beside the model bundles (`<models_dir>/topics/`) because
that directory is already the service's writable, backed-up state; each file is replaced
atomically, so a crash during `save` leaves the previous consistent copy.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

from triage.text import petition_text
from triage.topics import shingles
from triage.topics.clustering import TopicModel
from triage.topics.duplicates import DuplicateIndex
from triage.topics.times import parse_time

DUPLICATES_FILE = "duplicates.npz"
TOPICS_FILE = "topics.json.gz"


class TopicState:
    """One duplicate index and one topic model, loaded from and saved to one directory."""

    def __init__(self, directory: str | Path, duplicates: DuplicateIndex, topics: TopicModel):
        self.directory = Path(directory)
        self.duplicates = duplicates
        self.topics = topics
        self.lock = threading.RLock()

    @classmethod
    def open(cls, directory: str | Path) -> TopicState:
        """Load what was saved; start empty where nothing was."""
        directory = Path(directory)
        dup_path, topics_path = directory / DUPLICATES_FILE, directory / TOPICS_FILE
        duplicates = DuplicateIndex.load(dup_path) if dup_path.exists() else DuplicateIndex()
        topics = TopicModel.load(topics_path) if topics_path.exists() else TopicModel()
        return cls(directory, duplicates, topics)

    def add(self, items: Iterable[Mapping]) -> list[str]:
        """Index petitions that are not in the case store for both duplicates and topics (a
        benchmark's or a screenshot's own set); returns their topic ids. Cases in the store reach
        the duplicates through `add_duplicates` and the topics through the store's shared model
        (triage/topics/shared.py), so every host groups them alike.

        Items are dicts {id, title, body, received_at, likes?}, the shape `TopicModel.add`
        takes. Nothing is saved here: call `save` when a batch is done.
        """
        items = list(items)
        texts = self._texts(items)  # checked first: a bad item must not leave the indexes disagreeing
        with self.lock:
            topic_ids = self.topics.add(items)
            self._index_duplicates(items, texts)
            return topic_ids

    def add_duplicates(self, items: Iterable[Mapping]) -> None:
        """Index stored cases for the duplicate check (the topics come from the store's model)."""
        items = list(items)
        texts = self._texts(items)
        with self.lock:
            self._index_duplicates(items, texts)

    def replace_topics(self, model: TopicModel) -> None:
        """Serve another topic model (the store's newest snapshot) from now on."""
        with self.lock:
            self.topics = model

    @staticmethod
    def _texts(items: list[Mapping]) -> list[str]:
        texts = []
        for item in items:
            text = petition_text(item.get("title"), item.get("body"))
            if not shingles.shingles(text):
                raise ValueError(f"item {item.get('id')}: no text to compare (only punctuation or spaces)")
            texts.append(text)
        return texts

    def _index_duplicates(self, items: list[Mapping], texts: list[str]) -> None:
        for item, text in zip(items, texts, strict=True):
            when: datetime | None = parse_time(item.get("received_at"))
            self.duplicates.add(str(item["id"]), text, when)

    def save(self) -> None:
        with self.lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            self.duplicates.save(self.directory / DUPLICATES_FILE)
            self.topics.save(self.directory / TOPICS_FILE)
