"""Which rows of a file the model was trained on: compact hashes of the training texts.

A bundle keeps one 64-bit hash per training text (`train_hashes.bin`, 8 bytes a row: 800 kB for
100,000 petitions), so `triage evaluate` can say how many rows of the file it scores the model
has already seen - figures on those rows are optimistic, and an admin evaluating on the
training file should be told rather than read 0.96 as the model's quality.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

TRAIN_HASHES_FILE = "train_hashes.bin"


def text_hash(text: str) -> int:
    """A 64-bit hash of a petition's text as the classifier receives it (whitespace-trimmed)."""
    return int.from_bytes(hashlib.blake2b(text.strip().encode("utf-8"), digest_size=8).digest(), "little")


def write_hashes(path: Path, texts: Iterable[str]) -> int:
    """Write the sorted unique hashes of `texts`; returns how many."""
    hashes = np.unique(np.fromiter((text_hash(t) for t in texts), dtype=np.uint64))
    path.write_bytes(hashes.astype("<u8").tobytes())
    return int(hashes.size)


def read_hashes(path: Path) -> np.ndarray | None:
    """The bundle's training hashes, or None for a bundle written before they were kept."""
    if not path.is_file():
        return None
    return np.frombuffer(path.read_bytes(), dtype="<u8")


def seen_in_training(bundle_dir: Path, texts: list[str]) -> int | None:
    """How many of `texts` the bundle was trained on; None when the bundle kept no hashes."""
    known = read_hashes(bundle_dir / TRAIN_HASHES_FILE)
    if known is None:
        return None
    wanted = np.fromiter((text_hash(t) for t in texts), dtype=np.uint64, count=len(texts))
    return int(np.isin(wanted, known).sum())
