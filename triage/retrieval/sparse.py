"""The always-on sparse side: BM25 (bm25s) over jieba tokens, growing without full rebuilds.

bm25s precomputes every document's term scores into a sparse matrix, which makes queries fast
but cannot take a new document without re-indexing everything. So the index is two segments:
a large *main* segment in bm25s and a small *delta* of recent additions scored here with the
same Lucene BM25 formula and the combined document frequencies. When the delta outgrows its
bound it is merged into main (one rebuild per many additions, not one per case).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from triage.text import normalize, tokenize

K1, B = 1.5, 0.75


def retrieval_tokens(text: str) -> list[str]:
    """jieba words (domain dictionary, stop words removed) of the normalised text, plus their parts.

    jieba keeps phrases such as 路灯不亮 whole, so a query for 路灯 would miss them; like a search
    engine's index mode, each word of three or more characters also contributes the dictionary
    words inside it (路灯, 不亮).
    """
    words = tokenize(normalize(text))
    out: list[str] = []
    for word in words:
        out.append(word)
        if len(word) >= 3:
            out.extend(_subwords(word))
    return out


def _subwords(word: str) -> list[str]:
    from triage.text import _get_tokenizer, stopwords  # the shared jieba with the domain dictionary

    freq = _get_tokenizer().FREQ
    stop = stopwords()
    parts = []
    for size in (2, 3):
        for start in range(len(word) - size + 1):
            part = word[start : start + size]
            if part != word and freq.get(part) and part not in stop:
                parts.append(part)
    return parts


def _bm25s():
    import logging

    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


class SparseIndex:
    """BM25 over token lists, addressed by position (0..n-1) in insertion order."""

    def __init__(self, merge_min: int = 2000, merge_fraction: float = 0.05):
        self.merge_min = merge_min
        self.merge_fraction = merge_fraction
        self._main = None
        self._main_n = 0
        self._main_len_sum = 0
        self._delta: list[Counter] = []
        self._delta_len: list[int] = []
        self._delta_postings: dict[str, tuple[list[int], list[int]]] = {}

    def __len__(self) -> int:
        return self._main_n + len(self._delta)

    @property
    def main_size(self) -> int:
        return self._main_n

    # --- building ------------------------------------------------------------------------

    def build(self, docs: Sequence[Sequence[str]]) -> None:
        """Index `docs` as the main segment, replacing everything."""
        self._main, self._main_n, self._main_len_sum = None, 0, 0
        self._clear_delta()
        if not docs:
            return
        bm25s = _bm25s()
        retriever = bm25s.BM25(method="lucene", k1=K1, b=B)
        retriever.index([list(d) or [""] for d in docs], show_progress=False)
        self._main = retriever
        self._main_n = len(docs)
        self._main_len_sum = sum(len(d) for d in docs)

    def _main_df(self, token: str) -> int:
        """Documents of the main segment holding `token`: its column's entries in bm25s' CSC matrix."""
        if self._main is None:
            return 0
        tid = self._main.vocab_dict.get(token)
        if tid is None:
            return 0
        indptr = self._main.scores["indptr"]
        return int(indptr[tid + 1] - indptr[tid])

    def save_main(self, directory: Path) -> dict:
        """Write the main segment into a new directory; returns what `load_main` needs."""
        directory.mkdir(parents=True, exist_ok=True)
        if self._main is not None:
            self._main.save(str(directory), show_progress=False)
        return {"main_size": self._main_n, "main_len_sum": self._main_len_sum}

    def load_main(self, directory: Path, info: dict, mmap: bool = True) -> None:
        """Open a saved main segment (memory-mapped: a million cases need not sit in RAM twice)."""
        self._clear_delta()
        self._main_n = int(info.get("main_size", 0))
        self._main_len_sum = int(info.get("main_len_sum", 0))
        self._main = _bm25s().BM25.load(str(directory), mmap=mmap) if self._main_n else None

    def add(self, docs: Sequence[Sequence[str]]) -> None:
        """Append documents to the delta segment; see `needs_merge` for when to rebuild."""
        for d in docs:
            position = len(self._delta)
            counts = Counter(d)
            self._delta.append(counts)
            self._delta_len.append(len(d))
            for token, tf in counts.items():
                positions, freqs = self._delta_postings.setdefault(token, ([], []))
                positions.append(position)
                freqs.append(tf)

    def _clear_delta(self) -> None:
        self._delta, self._delta_len, self._delta_postings = [], [], {}

    def needs_merge(self) -> bool:
        return len(self._delta) > max(self.merge_min, self.merge_fraction * self._main_n)

    # --- scoring -------------------------------------------------------------------------

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """BM25 score of every document (main then delta) for the query tokens."""
        out = np.zeros(len(self), dtype=np.float32)
        if not query or not len(self):
            return out
        if self._main is not None:
            ids = self._main.get_tokens_ids(list(query))
            if ids:
                out[: self._main_n] = self._main.get_scores_from_ids(ids)
        if self._delta:
            out[self._main_n :] = self._delta_scores(query)
        return out

    def _delta_scores(self, query: Sequence[str]) -> np.ndarray:
        n_delta = len(self._delta)
        scores = np.zeros(n_delta, dtype=np.float32)
        n = len(self)
        avgdl = max((self._main_len_sum + sum(self._delta_len)) / max(n, 1), 1e-9)
        lengths = np.asarray(self._delta_len, dtype=np.float32)
        norm = K1 * (1 - B + B * lengths / avgdl)
        for token in query:  # bm25s also counts a repeated query token once per occurrence
            postings = self._delta_postings.get(token)
            if not postings:
                continue
            positions, freqs = postings
            df = self._main_df(token) + len(positions)
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            pos = np.asarray(positions, dtype=np.int64)
            tf = np.asarray(freqs, dtype=np.float32)
            scores[pos] += idf * tf / (tf + norm[pos])  # bm25s' Lucene variant: no (k1+1)
        return scores

    def idf(self, tokens: Sequence[str]) -> dict[str, float]:
        """Each token's inverse document frequency over main and delta (rare words weigh most)."""
        n = len(self)
        out = {}
        for token in set(tokens):
            postings = self._delta_postings.get(token)
            df = self._main_df(token) + (len(postings[0]) if postings else 0)
            out[token] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return out

    def search(self, query: Sequence[str], k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The top `k` (position, score) with a positive score, optionally within a boolean mask."""
        scores = self.scores(query)
        if mask is not None:
            scores = np.where(mask[: len(scores)], scores, 0.0)
        return top_k(scores, k)


def top_k(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Positions of the `k` highest positive scores, best first (ties by position, stable)."""
    if k <= 0 or scores.size == 0:
        return []
    k = min(k, scores.size)
    part = np.argpartition(-scores, k - 1)[:k] if k < scores.size else np.arange(scores.size)
    part = part[scores[part] > 0]
    order = part[np.lexsort((part, -scores[part]))]
    return [(int(i), float(scores[i])) for i in order]
