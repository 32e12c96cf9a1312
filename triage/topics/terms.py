"""Term weights for topic similarity: TF-IDF over character bigrams, with growing counts.

Character bigrams rather than jieba words: names of estates and roads are split by the
segmenter differently in different sentences ("丽发新城" / "区丽发 / 新城"), while their bigrams
are always the same, and bigrams cost nothing to compute (segmenting was 80 % of the time of
grouping). Document frequencies are counted over every petition seen so far, with a flat
prior worth `PRIOR_DOCS` pseudo-documents so that the first day already works:
idf(f) = ln((N + P) / (df(f) + P·PRIOR_RATE)).
Vectors already stored are never re-weighted; only new petitions see the new counts, which is
what lets a day be added without recomputing the history.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from triage.topics.entities import Entity

PRIOR_DOCS = 200.0
PRIOR_RATE = 0.02
TITLE_WEIGHT = 2.0
ENTITY_WEIGHT = {"estate": 2.0, "school": 2.0, "company": 2.0, "road": 1.5, "place": 1.0}
_RUNS = re.compile(r"[\u4e00-\u9fa5A-Za-z0-9]+")
_DIGITS = re.compile(r"^[\d.]+$")


def grams(text: str) -> list[str]:
    """Character bigrams inside runs of CJK letters and digits (not across punctuation)."""
    out = []
    for run in _RUNS.findall(text):
        if len(run) == 1:
            continue
        for i in range(len(run) - 1):
            g = run[i : i + 2]
            if not (g[0].isdigit() and g[1].isdigit()):
                out.append(g)
    return out


class TermStats:
    """Document frequencies over every petition seen so far."""

    def __init__(self, n_docs: int = 0, df: Counter | None = None):
        self.n_docs = n_docs
        self.df: Counter = df if df is not None else Counter()

    def idf(self, feature: str) -> float:
        return math.log((self.n_docs + PRIOR_DOCS) / (self.df.get(feature, 0) + PRIOR_DOCS * PRIOR_RATE))

    def observe(self, features: set[str]) -> None:
        self.n_docs += 1
        self.df.update(features)

    def vector(
        self, title_grams: list[str], body_grams: list[str], entities: list[Entity]
    ) -> dict[str, float]:
        """L2-normalised sublinear TF-IDF; title bigrams and named entities count extra."""
        tf: Counter = Counter(body_grams)
        for g in title_grams:
            tf[g] += TITLE_WEIGHT
        for e in entities:
            tf["@" + e.name] += ENTITY_WEIGHT[e.kind]
        vec = {f: (1.0 + math.log(c)) * self.idf(f) for f, c in tf.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {f: v / norm for f, v in vec.items()}
