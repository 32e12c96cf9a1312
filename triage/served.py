"""The model as served: a fitted PetitionClassifier's numbers, predicting without scikit-learn.

Why it exists: re-routing a backlog (`triage classify --input`) spent more time starting than
classifying. Importing scikit-learn (which pulls scipy.stats) took 1.6 s, and unpickling the
fitted vectorizers, whose character vocabulary is a dictionary of ~400,000 n-grams, half a second,
before the first petition. Prediction needs none of it: the vocabulary as sorted n-gram codes
(triage.fastpath.CharGramCounter), the word vocabulary, the idf weights, the SVM's coefficients,
the calibrator's numbers and the abstain thresholds. `PetitionClassifier.save` writes this form
first in the bundle file; `load_served` reads only it.

Its numbers are the PetitionClassifier batch path's: the same counts, scikit-learn's tf-idf steps
in the same dtypes and order, its row normalisation (`l2_normalise_like_sklearn`), scores as
`X @ coef.T + intercept` (what `decision_function` computes) and the same calibration; the
labels, abstentions and probabilities match the classifier's (tests/test_served.py).
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse

from triage.fastpath import (
    CharGramCounter,
    l2_normalise_rows_like_sklearn,
    logistic_proba,
    token_counts,
    word_count_matrix,
)
from triage.petition_features import KeywordFeatures, Prediction, Reason, _char_view, prepare
from triage.text import normalize

if TYPE_CHECKING:
    from triage.classifier import PetitionClassifier
    from triage.fastpath import TfidfRows

# A bundle file that starts with this line holds the served form (its length as 8 bytes, then the
# form pickled and zlib-compressed) before the whole model (triage.classifier.BUNDLE_HEADER's part).
SERVED_HEADER = b"triage-model:served+pickle5+zlib\n"


def label_scores(raw: np.ndarray, have: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """A linear model's decision scores as one column per label of `labels` (a binary model's
    single column becomes two; a label the model never saw scores -10)."""
    if raw.ndim == 1 or raw.shape[1] == 1:  # binary: one column, positive means classes_[1]
        raw = raw.ravel()
        raw = np.column_stack([-raw, raw])
    return align(raw, have, labels, fill=-10.0)


def align(matrix: np.ndarray, have: np.ndarray, want: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """Columns ordered as `want` from columns ordered as `have`."""
    if len(have) == len(want) and all(a == b for a, b in zip(have, want, strict=True)):
        return matrix
    out = np.full((matrix.shape[0], len(want)), fill, dtype=np.float64)
    index = {label: i for i, label in enumerate(want)}
    for j, label in enumerate(have):
        out[:, index[label]] = matrix[:, j]
    return out


# Why a prediction waits for staff (`Prediction.abstain_reason`): staff reading "置信度 99%，需人工分派"
# need to know that the label itself is not routed automatically yet.
UNTRUSTED_LABEL = "label_not_automatic"  # its threshold is above 1: out of fold, the model never
# reached the target precision on this label, so it is never routed without staff
BELOW_THRESHOLD = "below_threshold"
CLOSE_RUNNER_UP = "close_runner_up"


def abstain_reason(p: np.ndarray, thresholds: np.ndarray, min_margin: float) -> str | None:
    """Why the prediction is too unsure to route (None: it is routed)."""
    order = np.argsort(-p)
    best = int(order[0])
    if thresholds[best] > 1.0:
        return UNTRUSTED_LABEL
    if p[best] < thresholds[best]:
        return BELOW_THRESHOLD
    margin = p[best] - (p[order[1]] if len(order) > 1 else 0.0)
    return CLOSE_RUNNER_UP if margin < min_margin else None


def abstains(p: np.ndarray, thresholds: np.ndarray, min_margin: float) -> bool:
    """Too unsure to route: below the label's threshold, or too close to the runner-up."""
    return abstain_reason(p, thresholds, min_margin) is not None


def predictions(
    proba: np.ndarray,
    classes: np.ndarray,
    thresholds: np.ndarray,
    min_margin: float,
    k: int,
    reasons_of: Callable[[int, int], list[Reason]] | None = None,
) -> list[Prediction]:
    """Top-k labels, the abstain decision and (with `reasons_of(row, label index)`) the reasons."""
    k = max(1, min(k, len(classes)))
    out = []
    for row, p in enumerate(proba):
        order = np.argsort(-p)[:k]
        best = int(order[0])
        why = abstain_reason(p, thresholds, min_margin)
        out.append(
            Prediction(
                label=str(classes[best]),
                confidence=float(p[best]),
                abstain=why is not None,
                abstain_reason=why,
                top_k=[{"label": str(classes[i]), "probability": float(p[i])} for i in order],
                reasons=reasons_of(row, best) if reasons_of is not None else [],
            )
        )
    return out


class LogisticCalibrator:
    """A fitted multinomial (or binary) LogisticRegression calibrator's numbers."""

    def __init__(self, coef: np.ndarray, intercept: np.ndarray, classes: np.ndarray) -> None:
        self.coef, self.intercept, self.classes_ = coef, intercept, classes

    def predict_proba(self, scores: np.ndarray) -> np.ndarray:
        return logistic_proba(self.coef, self.intercept, np.asarray(scores, dtype=np.float64))


class ServedTfidf:
    """One fitted TF-IDF block (character n-grams or prepared words), batch transform only."""

    def __init__(
        self,
        *,
        char_counter: CharGramCounter | None,
        vocabulary: dict[str, int] | None,
        width: int,
        idf: np.ndarray | None,
        sublinear: bool,
        l2: bool,
        binary: bool,
    ) -> None:
        self.char_counter, self.vocabulary, self.width = char_counter, vocabulary, width
        self.idf, self.sublinear, self.l2, self.binary = idf, sublinear, l2, binary

    @classmethod
    def from_rows(cls, rows: TfidfRows) -> ServedTfidf | None:
        """The block of a classifier's fast path, when it counts without scikit-learn: the
        character block through `_char_view`, or the prepared-words block."""
        if rows.dtype != np.float32:
            return None
        if rows.char_counter is not None and rows.preprocess is _char_view:
            counter, vocabulary = rows.char_counter, None
        elif rows.char_counter is None and rows.count_tokens is token_counts:
            counter, vocabulary = None, rows.vocabulary
        else:
            return None
        weighting = {name: getattr(rows, name) for name in ("width", "idf", "sublinear", "l2", "binary")}
        return cls(char_counter=counter, vocabulary=vocabulary, **weighting)

    def matrix(self, docs: Sequence[str]) -> sparse.csr_matrix:
        """`TfidfVectorizer.transform(docs)`, step by step as scikit-learn takes them."""
        if self.char_counter is not None:
            counts = self.char_counter.count_matrix([_char_view(d) for d in docs], self.width)
        else:
            counts = word_count_matrix(docs, self.vocabulary or {})
        if self.binary:
            counts.data.fill(1)
        if self.sublinear:
            np.log(counts.data, counts.data)
            counts.data += 1.0
        if self.idf is not None:
            counts.data *= self.idf[counts.indices]
        if self.l2:
            l2_normalise_rows_like_sklearn(counts)
        return counts


class ServedModel:
    """What prediction needs of a fitted PetitionClassifier; `predict_top_k` without reasons."""

    def __init__(self, model: PetitionClassifier, blocks: list[ServedTfidf]) -> None:
        def param(name: str) -> Any:  # a model from before a parameter existed behaves as then
            return getattr(model, name, model._LEGACY_DEFAULTS.get(name))

        self.classes_ = model.classes_
        self.thresholds_ = model.thresholds_
        self.min_margin = model.min_margin
        self.drop_function_words = param("drop_function_words")
        self.needs_words = bool(model.word_features or param("keywords"))
        self.segmenter = param("segmenter")
        self.blocks = blocks
        self.word_weight = np.float32(param("word_weight"))
        self.keywords: KeywordFeatures | None = param("keyword_features_")
        self.keyword_weights = (np.float32(param("keyword_weight")), np.float32(param("keyword_term_weight")))
        self.coef = np.asarray(model.svc_.coef_)
        self.intercept = np.asarray(model.svc_.intercept_)
        self.svc_classes = model.svc_.classes_
        calibrator = model.calibrator_
        if type(calibrator).__name__ == "LogisticRegression":
            calibrator = LogisticCalibrator(calibrator.coef_, calibrator.intercept_, calibrator.classes_)
        self.calibrator = calibrator

    @classmethod
    def from_classifier(cls, model: PetitionClassifier) -> ServedModel | None:
        """The served form of a fitted model, or None for a configuration it does not repeat
        (an encoder's vectors, a vectorizer counted by scikit-learn alone): such a model is
        served as a whole."""
        fast = model._fast_path()
        if fast is None or getattr(model, "embedding_model", None):
            return None
        calibrator = model.calibrator_
        if (
            type(calibrator).__module__.startswith("sklearn")
            and type(calibrator).__name__ != "LogisticRegression"
        ):
            return None
        blocks = [ServedTfidf.from_rows(rows) for rows in fast.blocks]
        if any(b is None for b in blocks) or not all(
            reads == (i == 0) for i, reads in enumerate(fast.reads_chars)
        ):
            return None
        return cls(model, blocks)  # type: ignore[arg-type]

    def _features(self, texts: Sequence[str]) -> sparse.csr_matrix:
        prepared = [
            prepare(normalize(t), self.drop_function_words, self.needs_words, self.segmenter) for t in texts
        ]
        chars = [c for c, _ in prepared]
        words = [w for _, w in prepared]
        blocks = []
        for i, block in enumerate(self.blocks):
            matrix = block.matrix(chars if i == 0 else words)
            blocks.append(matrix if i == 0 else matrix * self.word_weight)
        if self.keywords is not None:
            groups, terms = self.keywords.transform(prepared)
            blocks += [groups * self.keyword_weights[0], terms * self.keyword_weights[1]]
        return sparse.hstack(blocks, format="csr", dtype=np.float32)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        raw = self._features(texts) @ self.coef.T + self.intercept
        scores = label_scores(np.asarray(raw), self.svc_classes, self.classes_)
        return align(self.calibrator.predict_proba(scores), self.calibrator.classes_, self.classes_)

    def predict_top_k(self, texts: Sequence[str], k: int = 3, n_reasons: int = 0) -> list[Prediction]:
        if n_reasons:
            raise ValueError("the served form gives no reasons: load the whole model for them")
        if not texts:
            return []
        return predictions(self.predict_proba(texts), self.classes_, self.thresholds_, self.min_margin, k)


def served_blob(model: PetitionClassifier) -> bytes | None:
    """The served form as written into a bundle file, or None when the model has none."""
    served = ServedModel.from_classifier(model)
    return None if served is None else zlib.compress(pickle.dumps(served, protocol=5), 3)


def load_served(path: str | Path) -> Any:
    """The served form of the bundle at `path` when it holds one, else the whole model (older
    bundles, encoders): either answers `predict_top_k(texts, k, n_reasons=0)` and has `classes_`."""
    with open(path, "rb") as fh:
        if fh.read(len(SERVED_HEADER)) == SERVED_HEADER:
            size = int.from_bytes(fh.read(8), "little")
            served = pickle.loads(zlib.decompress(fh.read(size)))
            if isinstance(served, ServedModel):
                return served
    from triage.classifier import PetitionClassifier  # scikit-learn: only when there is no served form

    return PetitionClassifier.load(path)
