"""The petition classifier: routes a petition to a label with calibrated confidence.

A linear model over character n-grams and jieba words is the workhorse: it trains in seconds on
a laptop-class CPU, answers in about a millisecond, and every decision can be explained by the
terms that weighed most. Probabilities come from a multinomial calibrator fitted on
out-of-fold decision scores, and the same out-of-fold predictions set the per-label abstain
thresholds, so that neither is tuned on data the model has memorised.

Optional levers, all off by default: none beat the defaults on raw development rows (section
"Routing levers chosen on raw development rows" of docs/benchmarks.md; the test-split exploration
is the section "Category routing: accuracy levers"):

- `drop_function_words`: remove the function words of `resources/function_words.txt` before the
  character view is built. Use it when the training text was segmented with a stop list applied
  (the public category_train split) and petitions arrive raw: both then yield the same n-grams.
- `keywords`: groups of domain terms (e.g. the 3-level taxonomy's second- and third-level names
  under each first-level class). They add one low-dimensional block that counts hits per group,
  plus one binary feature per term: a prior that does not depend on the training text's style.
- `fit(..., unlabelled=...)`: self-training; the most confident pseudo-labelled raw texts join
  the training set at a lower weight.
- `embedding_model`: the path of a local sentence-transformers model (an admin's own encoder,
  `TRIAGE_EMBEDDING_MODEL`); its sentence vectors join the features as one dense block scaled
  by `embedding_weight`. The bundle keeps the path, not the encoder, so the host that serves the
  model needs the same directory; the per-petition fast path does not repeat the block, so such a
  model predicts through the scikit-learn pipeline.

The word segmenter (`segmenter`, see triage.text.SEGMENTERS) is part of the model: its words,
vocabulary and keyword words come from the segmenter it was trained with, and a saved bundle
keeps using that one. Bundles saved before the parameter existed load as "jieba".
"""

from __future__ import annotations

import pickle
import re
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import joblib
import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from triage.fastpath import SparseRow, TfidfRows, calibrate, concat, linear_scores, token_counts

# the sklearn-free parts, under the names bundles pickled before they moved refer to
from triage.petition_features import (  # noqa: F401 - re-exported for pickles and callers
    KeywordFeatures,
    Prediction,
    Reason,
    TemperatureCalibrator,
    _char_view,
    _l2_row,
    _l2_rows,
    function_words,
    keywords_from_taxonomy,
    prepare,
    split_words,
    word_analyzer,
)
from triage.served import SERVED_HEADER, align, label_scores, predictions, served_blob
from triage.text import SEGMENTERS, normalize

BUNDLE_HEADER = b"triage-model:pickle5+zlib\n"  # what `save` writes first; joblib files lack it

_NOT_A_TERM = re.compile(r"[\W_]")
# The word segmenter of newly trained models (see triage.text.SEGMENTERS); a bundle keeps the one
# it was trained with, and bundles saved before the choice existed load as "jieba". jieba-rs:
# the same macro-F1 on the public split (measured 2026-11-22 with the levers then in use: 0.9178
# both; request types on msgabench 0.8126 against 0.8130) at less than half the CPU per new petition.
DEFAULT_SEGMENTER = "rjieba"
# Up to this many petitions per call the fast path is quicker (measured: 2x for 1-16 petitions,
# even at 64-128 with reasons); beyond, sklearn's vectorised transform wins (25 % at 256 without).
FAST_PATH_MAX_DOCS = 64


class _FastPath:
    """What fast prediction derives from a fitted classifier (see triage/fastpath.py): built
    on first use, never pickled, so bundles saved before it existed use it too."""

    def __init__(self, model: PetitionClassifier) -> None:
        vectorizers = model.vectorizers_
        self.blocks = [TfidfRows(v, token_counts if v.analyzer is split_words else None) for v in vectorizers]
        # as in `_features`: bundles saved before words were prepared re-tokenise the characters
        self.reads_chars = [i == 0 or v.analyzer is word_analyzer for i, v in enumerate(vectorizers)]
        self.word_weight = np.float32(model.word_weight)
        self.keywords: KeywordFeatures | None = model.keyword_features_
        self.keyword_weights = (np.float32(model.keyword_weight), np.float32(model.keyword_term_weight))
        widths = [b.width for b in self.blocks]
        if self.keywords is not None:
            widths += [self.keywords.n_group_features, len(self.keywords.vocabulary_)]
        self.offsets = [sum(widths[:i]) for i in range(len(widths))]
        self.coef_t = np.ascontiguousarray(np.asarray(model.svc_.coef_).T)
        self.intercept = model.svc_.intercept_

    @staticmethod
    def supports(model: PetitionClassifier) -> bool:
        return not model.embedding_model and all(TfidfRows.supports(v) for v in model.vectorizers_)

    def row(self, chars: str, words: str) -> SparseRow:
        """One prepared petition's feature row: the same values as its row of `_features`."""
        parts = []
        for i, block in enumerate(self.blocks):
            part = block.row(chars if self.reads_chars[i] else words)
            parts.append(part if i == 0 else SparseRow(part.indices, part.data * self.word_weight))
        if self.keywords is not None:
            groups, terms = self.keywords.transform_one(chars, words)
            parts += [
                SparseRow(groups.indices, groups.data * self.keyword_weights[0]),
                SparseRow(terms.indices, terms.data * self.keyword_weights[1]),
            ]
        return concat(parts, self.offsets)


class PetitionClassifier:
    """scikit-learn style estimator over raw petition texts (title and body already joined).

    Parameters are plain values so `get_params` / `set_params` work as in scikit-learn and the
    metadata of a bundle can record them.
    """

    def __init__(
        self,
        char_ngram_range: tuple[int, int] = (1, 3),
        word_features: bool = True,
        C: float = 0.5,
        min_df: int = 2,
        max_features: int | None = 400_000,
        target_precision: float = 0.9,
        min_margin: float = 0.1,
        cv: int = 3,
        random_state: int = 0,
        drop_function_words: bool = False,
        word_weight: float = 1.0,
        keywords: Mapping[str, Sequence[str]] | None = None,
        keyword_weight: float = 0.6,
        keyword_term_weight: float = 0.3,
        pseudo_label_share: float = 0.4,
        pseudo_label_weight: float = 0.5,
        calibration: str = "multinomial",
        segmenter: str = DEFAULT_SEGMENTER,
        embedding_model: str | None = None,
        embedding_weight: float = 1.0,
    ) -> None:
        self.char_ngram_range = char_ngram_range
        self.word_features = word_features
        self.C = C
        self.min_df = min_df
        self.max_features = max_features
        self.target_precision = target_precision
        self.min_margin = min_margin
        self.cv = cv
        self.random_state = random_state
        self.drop_function_words = drop_function_words
        self.word_weight = word_weight
        self.keywords = keywords
        self.keyword_weight = keyword_weight
        self.keyword_term_weight = keyword_term_weight
        self.pseudo_label_share = pseudo_label_share
        self.pseudo_label_weight = pseudo_label_weight
        self.calibration = calibration
        self.segmenter = segmenter
        self.embedding_model = embedding_model
        self.embedding_weight = embedding_weight

    # -- scikit-learn protocol ----------------------------------------------------------------

    _PARAMS = (
        "char_ngram_range",
        "word_features",
        "C",
        "min_df",
        "max_features",
        "target_precision",
        "min_margin",
        "cv",
        "random_state",
        "drop_function_words",
        "word_weight",
        "keywords",
        "keyword_weight",
        "keyword_term_weight",
        "pseudo_label_share",
        "pseudo_label_weight",
        "calibration",
        "segmenter",
        "embedding_model",
        "embedding_weight",
    )

    # defaults for bundles pickled before a parameter existed: they keep their old behaviour
    _LEGACY_DEFAULTS: ClassVar[dict[str, Any]] = {
        "drop_function_words": False,
        "word_weight": 1.0,
        "keywords": None,
        "keyword_weight": 0.6,
        "keyword_term_weight": 0.3,
        "pseudo_label_share": 0.4,
        "pseudo_label_weight": 0.5,
        "calibration": "multinomial",
        "segmenter": "jieba",
        "keyword_features_": None,
        "pseudo_labelled_": 0,
        "embedding_model": None,
        "embedding_weight": 1.0,
        "embedding_dim_": 0,
    }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update({**self._LEGACY_DEFAULTS, **state})

    def __getstate__(self) -> dict[str, Any]:
        # the fast path and the encoder are rebuilt on first use, never saved
        return {k: v for k, v in self.__dict__.items() if k not in ("_fast", "_loaded_encoder")}

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self, **params: Any) -> PetitionClassifier:
        for name, value in params.items():
            if name not in self._PARAMS:
                raise ValueError(f"unknown parameter {name!r}")
            setattr(self, name, value)
        self.__dict__.pop("_fast", None)  # weights are read when the fast path is built
        self.__dict__.pop("_loaded_encoder", None)
        return self

    # -- fitting ------------------------------------------------------------------------------

    def _new_vectorizers(self) -> list[TfidfVectorizer]:
        min_df = self.min_df
        vectorizers = [
            TfidfVectorizer(
                analyzer="char",
                preprocessor=_char_view,
                ngram_range=tuple(self.char_ngram_range),
                sublinear_tf=True,
                min_df=min_df,
                max_features=self.max_features,
                dtype=np.float32,
            )
        ]
        if self.word_features:
            vectorizers.append(
                TfidfVectorizer(
                    analyzer=split_words,
                    sublinear_tf=True,
                    min_df=min_df,
                    dtype=np.float32,
                )
            )
        return vectorizers

    def _prepare(self, texts: Sequence[str]) -> list[tuple[str, str]]:
        words = self.word_features or bool(self.keywords)  # segment only when needed
        return [prepare(normalize(t), self.drop_function_words, words, self.segmenter) for t in texts]

    def _features(self, prepared: Sequence[tuple[str, str]], fit: bool = False) -> sparse.csr_matrix:
        """char n-grams | words (× word_weight) | keyword groups | keyword terms | sentence vector."""
        chars = [c for c, _ in prepared]
        words = [w for _, w in prepared]
        fast = None if fit else self._fast_path()
        blocks = []
        for i, vec in enumerate(self.vectorizers_):
            # bundles saved before words were prepared re-tokenise the text themselves
            docs = chars if i == 0 or vec.analyzer is word_analyzer else words
            block = fast.blocks[i].transform(docs) if fast is not None else None
            if block is None:
                block = vec.fit_transform(docs) if fit else vec.transform(docs)
            blocks.append(block if i == 0 else block * np.float32(self.word_weight))
        if self.keyword_features_ is not None:
            groups, terms = self.keyword_features_.transform(prepared)
            blocks += [
                groups * np.float32(self.keyword_weight),
                terms * np.float32(self.keyword_term_weight),
            ]
        if self.embedding_model:
            vectors = self._encoder().encode_passages(chars)
            if fit:
                self.embedding_dim_ = int(vectors.shape[1])
            blocks.append(sparse.csr_matrix(vectors * np.float32(self.embedding_weight), dtype=np.float32))
        return sparse.hstack(blocks, format="csr", dtype=np.float32)

    def _encoder(self) -> Any:
        """The sentence-transformers encoder at `embedding_model`, loaded once per process.

        Raises triage.retrieval.encoders.EncoderError naming the path when it is not there (a
        host serving the model without the admin's encoder directory)."""
        encoder = self.__dict__.get("_loaded_encoder")
        if encoder is None:
            from triage.retrieval.encoders import SentenceTransformerEncoder  # torch only when asked

            encoder = self._loaded_encoder = SentenceTransformerEncoder(str(self.embedding_model))
        return encoder

    def _new_svc(self) -> LinearSVC:
        return LinearSVC(C=self.C, class_weight="balanced", random_state=self.random_state)

    def fit(
        self,
        X: Sequence[str],
        y: Sequence[str],
        unlabelled: Sequence[str] | None = None,
    ) -> PetitionClassifier:
        """Fit on labelled texts; `unlabelled` raw texts, if given, are used for self-training.

        Self-training: a first model labels the unlabelled texts, and the `pseudo_label_share`
        with the widest margin between their first and second label join the training set with
        weight `pseudo_label_weight`. Calibration and abstain thresholds are still fitted on
        out-of-fold predictions of labelled rows only (pseudo-labelled rows are always on the
        training side of a fold), so their precision target is measured on real labels.
        Never pass texts of an evaluation set here.
        """
        if len(X) != len(y):
            raise ValueError(f"{len(X)} texts but {len(y)} labels")
        labels, counts = np.unique(np.asarray(y, dtype=object), return_counts=True)
        if len(labels) < 2:
            raise ValueError("training needs at least two different labels")
        if counts.min() < 2:
            rare = ", ".join(str(lab) for lab, n in zip(labels, counts, strict=True) if n < 2)
            raise ValueError(f"each label needs at least 2 training examples; too few for: {rare}")

        if self.segmenter not in SEGMENTERS:
            raise ValueError(f"segmenter must be one of {SEGMENTERS}, not {self.segmenter!r}")
        y_arr = np.asarray(y, dtype=object)
        self.__dict__.pop("_fast", None)  # derived from the previous fit
        self.__dict__.pop("_feature_names", None)
        extra = [t for t in (unlabelled or []) if t and t.strip()]
        prepared = self._prepare(list(X) + extra)
        self.vectorizers_ = self._new_vectorizers()
        self.keyword_features_ = KeywordFeatures(self.keywords, self.segmenter) if self.keywords else None
        self.__dict__.pop("_loaded_encoder", None)
        self.embedding_dim_ = 0  # set by `_features` when there is an encoder
        all_features = self._features(prepared, fit=True)
        features, pool = all_features[: len(X)], all_features[len(X) :]
        pseudo_x, pseudo_y = self._pseudo_labels(features, y_arr, pool)
        self.pseudo_labelled_ = len(pseudo_y)

        oof_scores = self._out_of_fold_scores(features, y_arr, labels, int(counts.min()), pseudo_x, pseudo_y)
        self.calibrator_ = self._new_calibrator().fit(oof_scores, y_arr)
        oof_proba = self._align(
            self.calibrator_.predict_proba(oof_scores),
            self.calibrator_.classes_,
            labels,
        )
        self.classes_ = labels
        self.thresholds_ = fit_thresholds(oof_proba, y_arr, labels, self.target_precision)

        self.svc_ = self._fit_svc(features, y_arr, pseudo_x, pseudo_y)
        self.oof_proba_summary_ = abstain_summary(oof_proba, y_arr, labels, self.thresholds_, self.min_margin)
        return self

    def _new_calibrator(self) -> LogisticRegression | TemperatureCalibrator:
        if self.calibration == "temperature":
            return TemperatureCalibrator()
        if self.calibration == "multinomial":
            return LogisticRegression(C=10.0, max_iter=2000)
        raise ValueError(f"calibration must be 'multinomial' or 'temperature', not {self.calibration!r}")

    def _pseudo_labels(
        self, features: sparse.csr_matrix, y: np.ndarray, pool: sparse.csr_matrix
    ) -> tuple[sparse.csr_matrix | None, np.ndarray]:
        n = round(pool.shape[0] * self.pseudo_label_share)
        if n == 0:
            return None, np.array([], dtype=object)
        svc = self._new_svc().fit(features, y)
        scores = self._decision(svc, pool, svc.classes_)
        ranked = np.sort(scores, axis=1)
        margin = ranked[:, -1] - ranked[:, -2]
        chosen = np.argsort(-margin, kind="stable")[:n]
        return pool[chosen], svc.classes_[scores[chosen].argmax(axis=1)].astype(object)

    def _fit_svc(
        self,
        features: sparse.csr_matrix,
        y: np.ndarray,
        pseudo_x: sparse.csr_matrix | None,
        pseudo_y: np.ndarray,
    ) -> LinearSVC:
        if pseudo_x is None:
            return self._new_svc().fit(features, y)
        weights = np.concatenate([np.ones(len(y)), np.full(len(pseudo_y), self.pseudo_label_weight)])
        return self._new_svc().fit(
            sparse.vstack([features, pseudo_x], format="csr"),
            np.concatenate([y, pseudo_y]),
            sample_weight=weights,
        )

    def _out_of_fold_scores(
        self,
        features: sparse.csr_matrix,
        y: np.ndarray,
        labels: np.ndarray,
        min_count: int,
        pseudo_x: sparse.csr_matrix | None = None,
        pseudo_y: np.ndarray | None = None,
    ) -> np.ndarray:
        n_splits = max(2, min(self.cv, min_count))
        folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=self.random_state)
        scores = np.zeros((features.shape[0], len(labels)), dtype=np.float64)
        for train_idx, test_idx in folds.split(features, y):
            svc = self._fit_svc(
                features[train_idx],
                y[train_idx],
                pseudo_x,
                pseudo_y if pseudo_y is not None else np.array([], dtype=object),
            )
            scores[test_idx] = self._decision(svc, features[test_idx], labels)
        return scores

    @staticmethod
    def _decision(svc: LinearSVC, features: sparse.csr_matrix, labels: np.ndarray) -> np.ndarray:
        return label_scores(svc.decision_function(features), svc.classes_, labels)

    _label_scores = staticmethod(label_scores)  # one home: triage/served.py
    _align = staticmethod(align)

    # -- prediction ---------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "svc_"):
            raise RuntimeError("the classifier is not fitted yet")

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        self._check_fitted()
        return self._rows_and_proba(self._prepare(X))[1]

    def warm(self) -> PetitionClassifier:
        """Do once now what the first prediction would otherwise do while a caller waits:
        build the fast path, load the segmenter's dictionary, touch every weight page.

        A server calls this before it swaps a freshly loaded model in, so the first requests
        after a start or a promotion are as fast as the rest (without it they stalled for
        seconds and a queue built up behind them).
        """
        self._check_fitted()
        self.predict_top_k(["市民来电反映小区路灯不亮，请尽快维修。"], k=1)
        return self

    def _fast_path(self) -> _FastPath | None:
        fast = self.__dict__.get("_fast")
        if fast is None:
            fast = self._fast = _FastPath(self) if _FastPath.supports(self) else False
        return fast or None

    def _rows_and_proba(self, prepared: Sequence[tuple[str, str]]) -> tuple[Any, np.ndarray]:
        """Feature rows (indexable, each with .indices and .data) and label probabilities.

        The fast path gives the sklearn pipeline's numbers (triage/fastpath.py) for requests of
        up to FAST_PATH_MAX_DOCS petitions; larger batches amortise sklearn's per-call checks
        and go through the pipeline, as do configurations the fast path does not repeat.
        """
        fast = self._fast_path() if len(prepared) <= FAST_PATH_MAX_DOCS else None
        if fast is not None:
            rows = [fast.row(chars, words) for chars, words in prepared]
            scores = self._label_scores(
                linear_scores(rows, fast.coef_t, fast.intercept),
                self.svc_.classes_,
                self.classes_,
            )
            proba = calibrate(self.calibrator_, scores)
            if proba is not None:
                return rows, self._align(proba, self.calibrator_.classes_, self.classes_)
        features = self._features(prepared)
        return features, self._proba_from_features(features)

    def _proba_from_features(self, features: sparse.csr_matrix) -> np.ndarray:
        scores = self._decision(self.svc_, features, self.classes_)
        proba = calibrate(self.calibrator_, scores)  # as the fast path calibrates: the same bits
        if proba is None:
            proba = self.calibrator_.predict_proba(scores)
        return self._align(proba, self.calibrator_.classes_, self.classes_)

    def predict(self, X: Sequence[str]) -> list[str]:
        return [str(self.classes_[i]) for i in self.predict_proba(X).argmax(axis=1)]

    def predict_top_k(self, X: Sequence[str], k: int = 3, n_reasons: int = 6) -> list[Prediction]:
        """Top-k labels with probabilities, the abstain decision and the reasons for each text."""
        self._check_fitted()
        features, proba = self._rows_and_proba(self._prepare(X))
        return predictions(
            proba,
            self.classes_,
            self.thresholds_,
            self.min_margin,
            k,
            (lambda row, best: self._reasons(features[row], best, n_reasons)) if n_reasons else None,
        )

    # -- explanation --------------------------------------------------------------------------

    def feature_names(self) -> list[str]:
        if not hasattr(self, "_feature_names"):
            names: list[str] = []
            for vec in self.vectorizers_:
                names.extend(vec.get_feature_names_out().tolist())
            if self.keyword_features_ is not None:
                names.extend(self.keyword_features_.feature_names())
            names.extend([""] * self.embedding_dim_)  # dimensions of a vector are no terms: no reasons
            self._feature_names = names
        return self._feature_names

    def _coef_row(self, label_index: int) -> np.ndarray:
        coef = self.svc_.coef_
        if coef.shape[0] == 1:  # binary
            return coef[0] if label_index == 1 else -coef[0]
        return coef[label_index]

    def _reasons(self, row: SparseRow | sparse.csr_matrix, label_index: int, n: int) -> list[Reason]:
        coef = self._coef_row(label_index)
        idx, values = row.indices, row.data
        if len(idx) == 0:
            return []
        contributions = values * coef[idx]
        order = np.argsort(-contributions)
        names = self.feature_names()
        chosen: list[Reason] = []
        for j in order:
            weight = float(contributions[j])
            if weight <= 0 or len(chosen) >= n:
                break
            term = names[idx[j]].strip()
            # n-grams across punctuation ("了,老") weigh in the model but explain nothing to staff
            if len(term) < 2 or _NOT_A_TERM.search(term) or any(term in r.term for r in chosen):
                continue
            chosen = [r for r in chosen if r.term not in term]
            chosen.append(Reason(term=term, weight=round(weight, 4)))
        return chosen

    def explain(self, text: str, label: str | None = None, n: int = 8) -> list[Reason]:
        """The terms that pushed `text` towards `label` (the predicted label by default)."""
        self._check_fitted()
        features, proba = self._rows_and_proba(self._prepare([text]))
        if label is None:
            index = int(proba[0].argmax())
        else:
            matches = np.flatnonzero(self.classes_ == label)
            if len(matches) == 0:
                raise ValueError(f"unknown label {label!r}")
            index = int(matches[0])
        return self._reasons(features[0], index, n)

    # -- persistence --------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """One file: the served form (triage/served.py) when the model has one, then a header
        and the whole model pickled (protocol 5) and zlib-compressed.

        Why not joblib.dump: joblib reads its files back with Python's pure-Python unpickler, and a
        model's vocabularies are hundreds of thousands of small strings. A model trained on the
        public 7.5 k petitions took 6.0 s to load that way and takes 0.5 s so, which every
        `triage` command, every server start and every promotion on every host pays. The served
        form first lets a command that only classifies skip scikit-learn altogether.
        """
        served = served_blob(self)
        data = zlib.compress(pickle.dumps(self, protocol=5), 3)
        with open(path, "wb") as fh:
            if served is not None:
                fh.write(SERVED_HEADER)
                fh.write(len(served).to_bytes(8, "little"))
                fh.write(served)
            fh.write(BUNDLE_HEADER)
            fh.write(data)

    @classmethod
    def load(cls, path: str | Path) -> PetitionClassifier:
        """A model saved by `save` (with or without its served form first), or by joblib
        (bundles written before the header existed)."""
        with open(path, "rb") as fh:
            head = fh.read(len(SERVED_HEADER))
            if head == SERVED_HEADER:
                fh.seek(int.from_bytes(fh.read(8), "little"), 1)  # past the served form
                head = fh.read(len(BUNDLE_HEADER))
            else:
                fh.seek(len(BUNDLE_HEADER))
                head = head[: len(BUNDLE_HEADER)]
            if head == BUNDLE_HEADER:
                model = pickle.loads(zlib.decompress(fh.read()))
            else:
                model = joblib.load(path)
        if not isinstance(model, cls):
            raise TypeError(f"{path} does not hold a {cls.__name__}")
        return model


def fit_thresholds(
    proba: np.ndarray, y: np.ndarray, labels: np.ndarray, target_precision: float
) -> np.ndarray:
    """Per label, the lowest confidence at which predictions of that label keep the target precision.

    Scans the held-out predictions of each label from the most to the least confident and keeps
    the widest prefix whose precision still meets the target. A label that never reaches the
    target gets a threshold above 1: the model always abstains on it rather than mislead.
    """
    predicted = proba.argmax(axis=1)
    confidence = proba.max(axis=1)
    thresholds = np.full(len(labels), 1.01)
    for i, label in enumerate(labels):
        mask = predicted == i
        if not mask.any():
            continue
        conf = confidence[mask]
        correct = (y[mask] == label).astype(float)
        order = np.argsort(-conf)
        precision = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
        ok = np.flatnonzero(precision >= target_precision)
        if len(ok):
            thresholds[i] = float(conf[order][ok[-1]])
    return thresholds


def abstain_summary(
    proba: np.ndarray,
    y: np.ndarray,
    labels: np.ndarray,
    thresholds: np.ndarray,
    min_margin: float,
) -> dict[str, float]:
    """Coverage and precision of the confident (non-abstained) share of predictions."""
    order = np.argsort(-proba, axis=1)
    best = order[:, 0]
    top = proba[np.arange(len(proba)), best]
    second = proba[np.arange(len(proba)), order[:, 1]] if proba.shape[1] > 1 else np.zeros(len(proba))
    answered = (top >= thresholds[best]) & (top - second >= min_margin)
    correct = labels[best] == y
    coverage = float(answered.mean()) if len(answered) else 0.0
    precision = float(correct[answered].mean()) if answered.any() else 0.0
    return {
        "coverage": round(coverage, 4),
        "precision_when_answered": round(precision, 4),
        "accuracy_all": round(float(correct.mean()), 4) if len(correct) else 0.0,
    }
