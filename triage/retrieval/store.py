"""Saving arrays for the retrieval indexes, through the project's atomic writes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from triage.atomic import atomic_write_bytes, atomic_write_json, read_json

__all__ = ["atomic_save_npz", "atomic_write_json", "read_json"]


def atomic_save_npz(path: Path, **arrays: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())
