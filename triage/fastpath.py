"""Prediction without scikit-learn's per-call overhead, with the same numbers.

For one petition, `TfidfVectorizer.transform` + `LinearSVC.decision_function` +
`LogisticRegression.predict_proba` spend most of their time checking their inputs (array
validation, dataframe detection, parameter checks): measured in process on the sample-trained
department model, 4.8 ms per petition through sklearn against 0.75 ms here (a busy 2-core
machine; /classify runs two such models). Here the same arithmetic runs on one document at a
time with plain dictionaries and small numpy arrays:

- n-grams come from the vectorizer's own analyzer and map to its vocabulary ids;
- the tf-idf steps repeat sklearn's in the same dtypes and the same order (log, +1, × idf, then
  the row's L2 norm summed in double precision in column order, as sklearn's Cython loop does),
  so each document's feature values are bit-for-bit those of sklearn's matrix;
- the linear scores come from scipy's sparse product, as a batch's do (`linear_scores`), and the
  calibration adds each row's terms in a fixed order (`logistic_proba`), so a petition's scores
  and probabilities are the same to the last bit alone or in any batch.

scikit-learn still fits every model; nothing here is saved in a bundle: it is
derived from a fitted model when it is first used, so every bundle ever saved can use it.
tests/test_fast_path.py holds it to the sklearn pipeline on real petitions.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from scipy import sparse

if TYPE_CHECKING:  # scikit-learn is imported by whoever fits; the served model never needs it
    from sklearn.feature_extraction.text import TfidfVectorizer

_EMPTY_INDICES = np.zeros(0, dtype=np.int32)
_WHITE_SPACES = re.compile(r"\s\s+")  # sklearn's _VectorizerMixin._white_spaces


@lru_cache(maxsize=32)
def char_ngrams(text: str, min_n: int, max_n: int) -> tuple[str, ...]:
    """sklearn's `_char_ngrams` (the same n-grams in the same order), built with slices in
    comprehensions instead of one append per n-gram: for n-gram lengths `CharGramCounter`
    cannot encode."""
    text = _WHITE_SPACES.sub(" ", text)
    length = len(text)
    grams = list(text) if min_n == 1 else []
    for n in range(max(min_n, 2), min(max_n + 1, length + 1)):
        grams += [text[i : i + n] for i in range(length - n + 1)]
    return tuple(grams)


# A character n-gram of up to three characters is one int64: each code point + 1 (so no
# character is 0 and "a" differs from "\0a") takes 21 bits, the first character highest.
_CODE_BITS = 21
MAX_CODED_N = 3


def gram_code(gram: str) -> int:
    code = 0
    for ch in gram:
        code = (code << _CODE_BITS) | (ord(ch) + 1)
    return code


@lru_cache(maxsize=32)
def coded_char_ngrams(text: str, min_n: int, max_n: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct n-grams of `char_ngrams(text, min_n, max_n)` as sorted int64 codes, and how
    often each occurs.

    The same multiset as sklearn's analyzer, counted in numpy instead of by hashing ~1,200
    Python strings per petition (that hashing and counting was the largest single cost of a
    /classify call). Remembered for a few texts: the category and request-type models read the
    same character view of a petition, so the second model only looks its codes up.
    """
    text = _WHITE_SPACES.sub(" ", text)
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64) + 1
    length = len(points)
    blocks = []
    for n in range(min_n, min(max_n, length) + 1):
        codes = points[: length - n + 1].copy()
        for j in range(1, n):
            codes <<= _CODE_BITS
            codes |= points[j : length - n + 1 + j]
        blocks.append(codes)
    if not blocks:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate(blocks), return_counts=True)


class CodeTable:
    """Sorted int64 codes and their ids as an open-addressing hash table, looked up for many
    codes at once in numpy.

    The same answers as `np.searchsorted` on the sorted codes followed by an equality check, in
    a third of its time: a binary search over the 400,000 n-grams of a public-data vocabulary
    makes about 19 dependent reads per code, scattered over 3 MB; here most codes cost one or
    two reads (the table is at most half full, so linear probing stops soon).
    """

    _EMPTY = -1  # n-gram codes are non-negative (three 21-bit code points fill 63 bits)
    _MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the product's top bits

    def __init__(self, codes: np.ndarray, ids: np.ndarray) -> None:
        self.bits = max(4, int(np.ceil(np.log2(max(len(codes), 1) * 2))))
        self.keys = np.full(1 << self.bits, self._EMPTY, dtype=np.int64)
        self.values = np.zeros(1 << self.bits, dtype=np.int32)
        slots = self._slots(codes)
        pending = np.arange(len(codes))
        while pending.size:  # each round places, per free slot, the first code that wants it
            wanted = slots[pending]
            free = self.keys[wanted] == self._EMPTY
            _, first = np.unique(wanted[free], return_index=True)
            placed = pending[free][first]
            self.keys[slots[placed]] = codes[placed]
            self.values[slots[placed]] = ids[placed]
            pending = np.setdiff1d(pending, placed, assume_unique=True)
            slots[pending] = (slots[pending] + 1) & ((1 << self.bits) - 1)

    def _slots(self, codes: np.ndarray) -> np.ndarray:
        product = codes.astype(np.uint64) * self._MULTIPLIER  # wraps around, as a hash should
        return (product >> np.uint64(64 - self.bits)).astype(np.int64)

    def find(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of `codes` are in the table (a boolean mask) and, for those, their ids."""
        slots = self._slots(codes)
        ids = np.full(len(codes), -1, dtype=np.int64)
        active = np.arange(len(codes))
        mask = (1 << self.bits) - 1
        while active.size:
            at = slots[active]
            keys = self.keys[at]
            hit = keys == codes[active]
            ids[active[hit]] = self.values[at[hit]]
            active = active[~hit & (keys != self._EMPTY)]  # an empty slot ends a miss's probe
            slots[active] = (slots[active] + 1) & mask
        known = ids >= 0
        return known, ids[known].astype(np.int32)


class CharGramCounter:
    """A char analyzer's vocabulary as sorted n-gram codes: one petition's term counts come
    from `coded_char_ngrams` and one `searchsorted`, a batch's from one `CodeTable` lookup per
    n-gram length, with no Python string per n-gram."""

    def __init__(self, vocabulary: dict[str, int], min_n: int, max_n: int) -> None:
        self.min_n, self.max_n = min_n, max_n
        codes = np.fromiter((gram_code(g) for g in vocabulary), dtype=np.int64, count=len(vocabulary))
        ids = np.fromiter(vocabulary.values(), dtype=np.int32, count=len(vocabulary))
        order = np.argsort(codes)
        self.codes, self.ids = codes[order], ids[order]

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (in a bundle's served form) without the lookup table: it is rebuilt from the
        codes on first use, in about 0.1 s, rather than stored as 12 MB of mostly empty slots."""
        return {k: v for k, v in self.__dict__.items() if k != "_table"}

    @property
    def table(self) -> CodeTable:
        table = self.__dict__.get("_table")
        if table is None:
            table = self.__dict__["_table"] = CodeTable(self.codes, self.ids)
        return table

    @staticmethod
    def supports(vocabulary: dict[str, int], min_n: int, max_n: int) -> bool:
        return 1 <= min_n <= max_n <= MAX_CODED_N and all(min_n <= len(g) <= max_n for g in vocabulary)

    def count_matrix(self, texts: Sequence[str], width: int) -> sparse.csr_matrix:
        """Many texts' in-vocabulary n-gram counts at once, as the float32 CSR matrix (sorted
        column ids) that sklearn's `_count_vocab` builds, with no Python step per n-gram.

        All texts' code points go into one array; an n-gram is kept only where it ends inside
        the text it starts in, and each code is looked up in the vocabulary's table once.
        """
        cleaned = [_WHITE_SPACES.sub(" ", t) for t in texts]
        lengths = np.fromiter(map(len, cleaned), dtype=np.int64, count=len(cleaned))
        total = int(lengths.sum())
        points = (
            np.frombuffer("".join(cleaned).encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(
                np.int64
            )
            + 1
        )
        doc_of = np.repeat(np.arange(len(cleaned), dtype=np.int64), lengths)
        end_of = np.cumsum(lengths)[doc_of]  # one past the last character of each position's text
        docs_found, ids_found = [], []
        for n in range(self.min_n, self.max_n + 1):
            span = total - n + 1
            if span <= 0:
                break
            codes = points[:span].copy()
            for j in range(1, n):
                codes <<= _CODE_BITS
                codes |= points[j : span + j]
            inside = np.arange(span) + n <= end_of[:span]
            codes, owners = codes[inside], doc_of[:span][inside]
            if len(self.codes) == 0 or len(codes) == 0:
                continue
            known, ids = self.table.find(codes)
            docs_found.append(owners[known])
            ids_found.append(ids)
        return _count_csr(docs_found, ids_found, len(cleaned), width)

    def counts(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Vocabulary ids (unsorted) and counts of the text's in-vocabulary n-grams."""
        codes, counts = coded_char_ngrams(text, self.min_n, self.max_n)
        if len(self.codes) == 0 or len(codes) == 0:
            return _EMPTY_INDICES, counts[:0]
        # one text's few hundred codes: a binary search is quicker than the table's rounds
        at = np.searchsorted(self.codes, codes)
        at[at == len(self.codes)] = 0
        known = self.codes[at] == codes
        return self.ids[at[known]], counts[known]


def _count_csr(docs: list[np.ndarray], ids: list[np.ndarray], n_docs: int, width: int) -> sparse.csr_matrix:
    """(document, column) pairs summed into a float32 count matrix with sorted column ids."""
    rows = np.concatenate(docs) if docs else np.zeros(0, dtype=np.int64)
    cols = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int32)
    matrix = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n_docs, width), dtype=np.float32
    )
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


def word_count_matrix(docs: Sequence[str], vocabulary: dict[str, int]) -> sparse.csr_matrix:
    """Space-separated words' counts for many documents (out-of-vocabulary words ignored)."""
    rows: list[int] = []
    cols: list[int] = []
    for r, doc in enumerate(docs):
        found = [vocabulary[w] for w in doc.split() if w in vocabulary]
        cols += found
        rows += [r] * len(found)
    return _count_csr(
        [np.asarray(rows, dtype=np.int64)], [np.asarray(cols, dtype=np.int32)], len(docs), len(vocabulary)
    )


@lru_cache(maxsize=32)
def token_counts(doc: str) -> Counter:
    """Counts of a prepared word string's space-separated words (the classifiers' word
    analyzer), remembered so the second model of a request does not count them again."""
    return Counter(doc.split())


class SparseRow(NamedTuple):
    """One document's features: sorted column ids and their values (as in a CSR row)."""

    indices: np.ndarray
    data: np.ndarray


def empty_row(dtype: Any = np.float32) -> SparseRow:
    return SparseRow(_EMPTY_INDICES, np.zeros(0, dtype=dtype))


def concat(parts: list[SparseRow], offsets: list[int], dtype: Any = np.float32) -> SparseRow:
    """Blocks side by side (as `sparse.hstack`), each block's ids shifted by its offset."""
    indices = np.concatenate([p.indices.astype(np.int64) + o for p, o in zip(parts, offsets, strict=True)])
    data = np.concatenate([p.data for p in parts]).astype(dtype, copy=False)
    return SparseRow(indices, data)


def l2_normalise_rows_like_sklearn(matrix: sparse.csr_matrix) -> None:
    """`l2_normalise_like_sklearn` on every row of a CSR matrix at once, in place, with the same
    numbers: each row's squares are laid out in a row of a zero-padded float64 array, whose
    cumulative sum along the row is the same sequential sum (trailing zeros add nothing)."""
    data, indptr = matrix.data, matrix.indptr
    lengths = np.diff(indptr)
    if len(data) == 0:
        return
    rows = np.repeat(np.arange(len(lengths)), lengths)
    columns = np.arange(len(data)) - np.repeat(indptr[:-1], lengths)
    squares = np.zeros((len(lengths), int(lengths.max())), dtype=np.float64)
    squares[rows, columns] = data * data
    totals = np.cumsum(squares, axis=1)[:, -1]
    norms = np.sqrt(totals)
    norms[totals == 0.0] = 1.0  # sklearn leaves an all-zero row as it is
    data[:] = (data.astype(np.float64) / norms[rows]).astype(data.dtype)


def l2_normalise_like_sklearn(data: np.ndarray) -> np.ndarray:
    """sklearn's `inplace_csr_row_normalize_l2` for one row.

    Its Cython loop multiplies in the data's dtype, sums in double in column order, and divides
    each value by the double-precision norm before rounding back: cumsum is that sequential sum.
    """
    if len(data) == 0:
        return data
    total = float(np.cumsum(data * data, dtype=np.float64)[-1])
    if total == 0.0:
        return data
    return (data.astype(np.float64) / np.sqrt(total)).astype(data.dtype)


class TfidfRows:
    """A fitted `TfidfVectorizer`'s transform, one document at a time."""

    def __init__(self, vec: TfidfVectorizer, count_tokens: Callable[[str], Counter] | None = None) -> None:
        """`count_tokens`: a cached counter that gives the same counts as the vectorizer's own
        analyzer (e.g. `token_counts` for an analyzer that splits on spaces)."""
        tfidf = vec._tfidf
        self.analyze = vec.build_analyzer()
        self.count_tokens = count_tokens
        self.char_counter: CharGramCounter | None = None
        if vec.analyzer == "char":  # str documents: sklearn's decode step returns them as they are
            self.preprocess, (lo, hi) = vec.build_preprocessor(), vec.ngram_range
            self.analyze = lambda doc: char_ngrams(self.preprocess(doc), lo, hi)
            if CharGramCounter.supports(vec.vocabulary_, lo, hi):
                self.char_counter = CharGramCounter(vec.vocabulary_, lo, hi)
        self.vocabulary: dict[str, int] = vec.vocabulary_
        self.width = len(vec.vocabulary_)
        self.tfidf = tfidf
        self.dtype = np.dtype(vec.dtype)
        self.binary = bool(vec.binary)
        self.sublinear = bool(tfidf.sublinear_tf)
        self.idf = getattr(tfidf, "idf_", None)
        self.l2 = tfidf.norm == "l2"

    @staticmethod
    def supports(vec: Any) -> bool:
        """Only the configurations whose arithmetic this class repeats exactly."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        tfidf = getattr(vec, "_tfidf", None)
        return (
            isinstance(vec, TfidfVectorizer)
            and tfidf is not None
            and hasattr(vec, "vocabulary_")
            and vec.input == "content"
            and tfidf.norm in ("l2", None)
            and np.dtype(vec.dtype) in (np.dtype(np.float32), np.dtype(np.float64))
        )

    def _counts(self, doc: str) -> tuple[np.ndarray, np.ndarray]:
        if self.char_counter is not None:
            return self.char_counter.counts(self.preprocess(doc))
        if self.count_tokens is not None:
            terms = self.count_tokens(doc)
        else:
            terms = Counter(self.analyze(doc))
        vocabulary = self.vocabulary
        # out-of-vocabulary terms are ignored, as sklearn does
        found = [(vocabulary[t], n) for t, n in terms.items() if t in vocabulary]
        indices = np.fromiter((i for i, _ in found), dtype=np.int32, count=len(found))
        counts = np.fromiter((n for _, n in found), dtype=np.int64, count=len(found))
        return indices, counts

    def transform(self, docs: Sequence[str]) -> sparse.csr_matrix | None:
        """`vec.transform(docs)` for a batch, counting without a Python step per n-gram, then
        sklearn's own tf-idf step: the same matrix. None where counting is not repeated here."""
        if self.char_counter is not None:
            counts = self.char_counter.count_matrix([self.preprocess(d) for d in docs], self.width)
        elif self.count_tokens is token_counts:
            counts = word_count_matrix(docs, self.vocabulary)
        else:
            return None
        if self.binary:
            counts.data.fill(1)
        return self.tfidf.transform(counts, copy=False)

    def row(self, doc: str) -> SparseRow:
        indices, counts = self._counts(doc)
        if len(indices) == 0:
            return empty_row(self.dtype)
        data = counts.astype(self.dtype)
        order = np.argsort(indices)
        indices, data = indices[order], data[order]
        if self.binary:
            data.fill(1)
        if self.sublinear:
            np.log(data, data)
            data += 1.0
        if self.idf is not None:
            data *= self.idf[indices]
        if self.l2:
            data = l2_normalise_like_sklearn(data)
        return SparseRow(indices, data)


def linear_scores(rows: list[SparseRow], coef_t: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """`rows @ coef.T + intercept` exactly as `decision_function` of a linear model computes it
    for a batch's sparse matrix: the rows become one CSR matrix and scipy multiplies it, adding
    each row's terms in column order. A petition's scores are then the same to the last bit
    whether it came alone or in a batch (a BLAS dot product would sum in another order).

    `coef_t` is `coef.T` made C-contiguous once (scipy would copy the transposed coefficients,
    tens of MB, on every call).
    """
    lengths = np.fromiter((len(r.indices) for r in rows), dtype=np.int64, count=len(rows))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.concatenate([r.indices for r in rows]) if rows else _EMPTY_INDICES
    data = np.concatenate([r.data for r in rows]) if rows else np.zeros(0, dtype=np.float32)
    matrix = sparse.csr_matrix((data, indices, indptr), shape=(len(rows), coef_t.shape[0]))
    return np.asarray(matrix @ coef_t) + intercept


def calibrate(calibrator: Any, scores: np.ndarray) -> np.ndarray | None:
    """A fitted calibrator's `predict_proba` on dense scores, or None when not repeated here.

    LogisticRegression: softmax of the linear scores for three or more classes, the logistic
    function (as [1 - p, p]) for two, as sklearn computes them. Others (our own
    TemperatureCalibrator is plain numpy already) answer themselves.
    """
    kind = type(calibrator)
    if kind.__name__ == "LogisticRegression" and kind.__module__.startswith("sklearn"):
        return logistic_proba(calibrator.coef_, calibrator.intercept_, scores)
    if kind.__module__.startswith("sklearn"):
        return None
    return calibrator.predict_proba(scores)


def logistic_proba(coef: np.ndarray, intercept: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """A fitted LogisticRegression's `predict_proba` from its coefficients: softmax of the
    linear scores for three or more classes, the logistic function (as [1 - p, p]) for two.

    The linear step adds the terms of each row one score at a time, in the same order whatever
    the number of rows, where sklearn's matrix product (BLAS) groups a row's terms differently
    in a batch than alone: so a petition's probabilities do not depend on its batch. They agree
    with sklearn's to about 1e-16.
    """
    scores = np.asarray(scores, dtype=np.float64)
    decision = np.zeros((scores.shape[0], coef.shape[0]), dtype=np.float64)
    for j in range(coef.shape[1]):
        decision += scores[:, j : j + 1] * coef[:, j]
    decision += intercept
    if coef.shape[0] == 1:  # two classes
        from scipy.special import expit

        p = expit(decision.ravel())
        return np.stack([1 - p, p], axis=1)
    decision -= decision.max(axis=1, keepdims=True)
    np.exp(decision, out=decision)
    decision /= decision.sum(axis=1, keepdims=True)
    return decision
