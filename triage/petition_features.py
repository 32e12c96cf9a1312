"""What a petition becomes before the linear model reads it, and what a prediction gives back.

Everything here is plain Python, numpy and scipy.sparse, without scikit-learn: the served form of
a model (triage/served.py) predicts from these parts alone, so a command that only classifies does
not pay scikit-learn's import (1.6 s, most of a backlog run's start). triage.classifier imports
them back under their old names, which bundles pickled before the split refer to.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

from triage.fastpath import SparseRow
from triage.text import _resource_lines, normalize, stopwords, tokenize


def _char_view(text: str) -> str:
    """Segmented training text and raw petitions must yield the same character n-grams."""
    return text.replace(" ", "")


def word_analyzer(text: str) -> list[str]:
    """jieba words of normalised text; kept so bundles saved before words were prepared load."""
    return tokenize(_char_view(text))


def split_words(doc: str) -> list[str]:
    """Words prepared once per petition (space-joined); module-level so the model pickles."""
    return doc.split()


_function_words: frozenset[str] | None = None


def function_words() -> frozenset[str]:
    global _function_words
    if _function_words is None:
        _function_words = frozenset(_resource_lines("function_words.txt"))
    return _function_words


def prepare(
    text: str, drop_function_words: bool = False, words: bool = True, segmenter: str = "jieba"
) -> tuple[str, str]:
    """(character view, space-joined words) of normalised text, segmented only once.

    Without `drop_function_words` the character view is the whole text (punctuation and all), as
    the model always saw it. With it, the character view is the concatenation of the remaining
    words, which is exactly what a segmented, stop-word-free training row turns into; the short
    stopwords.txt list is left in it because the training split keeps some of its words (请, 已经).
    `segmenter` names the word segmenter (triage.text.SEGMENTERS) the model was trained with.
    """
    if not drop_function_words:
        chars = _char_view(text)
        return chars, " ".join(tokenize(chars, segmenter=segmenter)) if words else ""
    fw = function_words()
    kept = [w for w in tokenize(_char_view(text), drop_stopwords=False, segmenter=segmenter) if w not in fw]
    stop = stopwords()
    return "".join(kept), " ".join(w for w in kept if w not in stop)


_TERM_SEPARATORS = re.compile(r"[、，,;；|｜/／（）()\s]|[和及与]")


def keywords_from_taxonomy(rows: Sequence[Sequence[str]]) -> dict[str, list[str]]:
    """Keyword groups from taxonomy rows (first, second, third level): the group is the first
    level, its terms the parts of the second- and third-level names.

    Names such as "劳动关系和劳动争议" are split at separators and 和/及/与 because petitions
    rarely quote a whole category name but often use its parts. "其他" carries no signal.
    """
    groups: dict[str, list[str]] = {}
    for row in rows:
        if len(row) < 2 or not row[0].strip():
            continue
        terms = groups.setdefault(row[0].strip(), [])
        for name in row[1:]:
            for part in _TERM_SEPARATORS.split(normalize(name)):
                part = part.strip()
                if len(part) >= 2 and part != "其他" and part not in terms:
                    terms.append(part)
    return groups


class KeywordFeatures:
    """Per-group hit counts and per-term hits of keyword groups, for prepared petitions.

    A term counts as present when the character view contains it, and each of its jieba words
    of two or more characters counts when it is one of the petition's words; the group block is
    log-scaled and L2-normalised so a long petition does not outweigh a short one.
    """

    def __init__(self, groups: Mapping[str, Sequence[str]], segmenter: str = "jieba") -> None:
        self.groups_ = sorted(groups)
        self.term_groups_: dict[str, set[int]] = {}
        self.word_groups_: dict[str, set[int]] = {}
        for g, group in enumerate(self.groups_):
            for term in groups[group]:
                term = normalize(term).replace(" ", "")
                if len(term) < 2:
                    continue
                self.term_groups_.setdefault(term, set()).add(g)
                for word in tokenize(term, segmenter=segmenter):
                    if len(word) >= 2:
                        self.word_groups_.setdefault(word, set()).add(g)
        self.vocabulary_ = {
            t: i for i, t in enumerate(sorted(set(self.term_groups_) | set(self.word_groups_)))
        }

    def _terms_by_first_char(self) -> dict[str, tuple[str, ...]]:
        """Terms indexed by their first character: a petition is checked only for terms that can
        start in it, instead of testing every term against every petition (5x faster here)."""
        index = getattr(self, "by_first_", None)
        if index is None:
            grouped: dict[str, list[str]] = {}
            for term in self.term_groups_:
                grouped.setdefault(term[0], []).append(term)
            index = self.by_first_ = {c: tuple(ts) for c, ts in grouped.items()}
        return index

    @property
    def n_group_features(self) -> int:
        return 2 * len(self.groups_)

    def feature_names(self) -> list[str]:
        # group features are not terms of the petition: empty names keep them out of reasons
        return [""] * self.n_group_features + list(self.vocabulary_)

    def transform(self, prepared: Sequence[tuple[str, str]]) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        n_groups = len(self.groups_)
        counts = np.zeros((len(prepared), self.n_group_features), dtype=np.float32)
        rows: list[int] = []
        cols: list[int] = []
        by_first = self._terms_by_first_char()
        for i, (chars, words) in enumerate(prepared):
            hits = set()
            for first in set(chars):
                for term in by_first.get(first, ()):
                    if term in chars:
                        hits.add(self.vocabulary_[term])
                        for g in self.term_groups_[term]:
                            counts[i, g] += 1
            for word in set(words.split()):
                groups = self.word_groups_.get(word)
                if groups:
                    hits.add(self.vocabulary_[word])
                    for g in groups:
                        counts[i, n_groups + g] += 1
            rows.extend([i] * len(hits))
            cols.extend(hits)
        group_block = _l2_rows(sparse.csr_matrix(np.log1p(counts)))
        term_block = sparse.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)),
            shape=(len(prepared), len(self.vocabulary_)),
        )
        return group_block, _l2_rows(term_block)

    def transform_one(self, chars: str, words: str) -> tuple[SparseRow, SparseRow]:
        """`transform` of one prepared petition as two rows with the same values, without
        building sparse matrices (the fast prediction path, see triage/fastpath.py)."""
        n_groups = len(self.groups_)
        counts = np.zeros(self.n_group_features, dtype=np.float32)
        hits: set[int] = set()
        by_first = self._terms_by_first_char()
        for first in set(chars):
            for term in by_first.get(first, ()):
                if term in chars:
                    hits.add(self.vocabulary_[term])
                    for g in self.term_groups_[term]:
                        counts[g] += 1
        for word in set(words.split()):
            groups = self.word_groups_.get(word)
            if groups:
                hits.add(self.vocabulary_[word])
                for g in groups:
                    counts[n_groups + g] += 1
        logged = np.log1p(counts)
        present = np.flatnonzero(logged).astype(np.int32)
        terms = np.array(sorted(hits), dtype=np.int32)
        return (
            _l2_row(SparseRow(present, logged[present])),
            _l2_row(SparseRow(terms, np.ones(len(terms), dtype=np.float32))),
        )


class TemperatureCalibrator:
    """softmax(scores / T) with one temperature T fitted on out-of-fold scores by log loss.

    Unlike a multinomial calibrator it cannot move the arg-max: the label is the SVM's own, which
    matters when the fold models' scores come from a different text style (segmented training
    rows) than the petitions the model will see (raw), and per-label offsets learned on the
    former would bias the latter.
    """

    def fit(
        self, scores: np.ndarray, y: np.ndarray, classes: np.ndarray | None = None
    ) -> TemperatureCalibrator:
        from scipy.optimize import minimize_scalar

        self.classes_ = np.unique(y) if classes is None else np.asarray(classes)
        index = {label: i for i, label in enumerate(self.classes_)}
        target = np.array([index[label] for label in y])

        def loss(log_t: float) -> float:
            p = self._softmax(scores / np.exp(log_t))
            return float(-np.log(p[np.arange(len(target)), target] + 1e-12).mean())

        self.temperature_ = float(np.exp(minimize_scalar(loss, bounds=(-5.0, 5.0), method="bounded").x))
        return self

    @staticmethod
    def _softmax(z: np.ndarray) -> np.ndarray:
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict_proba(self, scores: np.ndarray) -> np.ndarray:
        return self._softmax(np.asarray(scores, dtype=np.float64) / self.temperature_)


def _l2_rows(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1.0 / norms) @ matrix, dtype=np.float32)


def _l2_row(row: SparseRow) -> SparseRow:
    """`_l2_rows` for one float32 row, step by step in its dtypes: squares summed as scipy's
    row sum does (`np.add.reduceat`), the float32 norm inverted, then multiplied."""
    if len(row.data) == 0:
        return row
    norms = np.sqrt(np.add.reduceat(row.data * row.data, [0]))
    norms[norms == 0] = 1.0
    return SparseRow(row.indices, (row.data * (1.0 / norms)[0]).astype(np.float32, copy=False))


@dataclass(frozen=True)
class Reason:
    term: str
    weight: float


@dataclass
class Prediction:
    label: str
    confidence: float
    abstain: bool
    top_k: list[dict[str, Any]]
    reasons: list[Reason] = field(default_factory=list)
    # why it abstains (triage.served.UNTRUSTED_LABEL …); None when it does not
    abstain_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        # what dataclasses.asdict gives, built directly: asdict deep-copies field by field and
        # cost a tenth of a /classify call
        return {
            "label": self.label,
            "confidence": self.confidence,
            "abstain": self.abstain,
            "abstain_reason": self.abstain_reason,
            "top_k": [dict(entry) for entry in self.top_k],
            "reasons": [{"term": r.term, "weight": r.weight} for r in self.reasons],
        }
