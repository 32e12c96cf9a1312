"""Near-duplicate replies: a reference set of known replies and how many a new reply copies.

A template sent regardless of the case ("您的留言已收悉。关于您反映的问题，已转XX调查处理。")
differs from its siblings only in the user id, the date and the office it names. Replies are
reduced to a *skeleton* (no ids, dates, digits or Latin letters), cut into character 3-grams and
compared by the share of 3-grams they have in common (see `similarity`). MinHash with banded
locality-sensitive hashing finds candidates in constant time per query; each candidate is then confirmed with the exact figure, so
the number in the evidence is real, not an estimate.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from triage.text import normalize

# 20 bands of 3 rows: a pair at Jaccard 0.67 (the 0.8 threshold below for replies of one length)
# becomes a candidate with probability 0.9995; at 0.3 with 0.42, which the exact check then drops.
BANDS = 20
ROWS = 3
NUM_PERM = BANDS * ROWS
_rng = np.random.default_rng(20260521)
# Multiply-shift hashing (odd multipliers, arithmetic mod 2^64, keep the high bits): one
# independent-enough permutation per row without a modulo, which is the costly part in numpy.
_A = _rng.integers(1, 2**63, size=NUM_PERM, dtype=np.uint64) | np.uint64(1)
_B = _rng.integers(0, 2**63, size=NUM_PERM, dtype=np.uint64)
_SHIFT = np.uint64(32)

SHINGLE_CHARS = 400
_QUOTED = re.compile(r"[“\"][^”\"]{0,24}[”\"]")
_NOISE = re.compile(r"[A-Za-z0-9]+|\s+|[^\w\u4e00-\u9fff]")


def skeleton(text: str, normalized: bool = False) -> str:
    """The reply with everything that varies between copies of one template taken out."""
    text = _QUOTED.sub("", text if normalized else normalize(text))
    return _NOISE.sub("", text)


def shingles(skel: str) -> frozenset[str]:
    # Templates are short; a long reply's opening 400 characters tell it from any template.
    skel = skel[:SHINGLE_CHARS]
    if len(skel) < 3:
        return frozenset([skel]) if skel else frozenset()
    return frozenset(map("".join, zip(skel, skel[1:], skel[2:], strict=False)))  # shorter tails end it


def _signature(skel: str) -> np.ndarray:
    """MinHash of the skeleton's character 3-grams, computed on code points without Python loops."""
    skel = skel[:SHINGLE_CHARS]
    if len(skel) < 3:
        hashes = np.array([zlib.crc32(skel.encode("utf-8"))], dtype=np.uint64)
    else:
        cp = np.frombuffer(skel.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        hashes = np.unique((cp[:-2] << np.uint64(42)) ^ (cp[1:-1] << np.uint64(21)) ^ cp[2:])
    # Candidates are confirmed with the exact figure, so the hash only has to spread pairs evenly.
    values = (np.outer(_A, hashes) + _B[:, None]) >> _SHIFT
    return values.min(axis=1)


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Share of the longer reply's 3-grams that the other has too.

    Plain Jaccard punishes short templates: "已转城南区调查处理" and "已转高新区调查处理" share
    only 69 % of their 3-grams although a clerk sees one template with a different office. Dividing
    by the larger set instead still keeps a short reply from matching a long one that contains it.
    """
    if not a or not b:
        return 1.0 if a == b else 0.0
    return len(a & b) / max(len(a), len(b))


@dataclass
class Match:
    others: int
    similar_example: str
    similarity: float


class ReplyTemplates:
    """The reference set: unique skeletons with how many replies share each, and an LSH index."""

    def __init__(self, similarity: float = 0.8) -> None:
        self.similarity = similarity
        self.counts: list[int] = []
        self.examples: list[str] = []
        self.grams: list[frozenset[str]] = []
        self._by_skeleton: dict[str, int] = {}
        self._buckets: list[dict[bytes, list[int]]] = [{} for _ in range(BANDS)]

    def __len__(self) -> int:
        return sum(self.counts)

    def add(self, replies: Iterable[str]) -> ReplyTemplates:
        for reply in replies:
            skel = skeleton(reply or "")
            if not skel:
                continue
            idx = self._by_skeleton.get(skel)
            if idx is not None:
                self.counts[idx] += 1
                continue
            idx = len(self.counts)
            self._by_skeleton[skel] = idx
            grams = shingles(skel)
            self.counts.append(1)
            self.examples.append(normalize(reply)[:120])
            self.grams.append(grams)
            sig = _signature(skel)
            for band in range(BANDS):
                key = sig[band * ROWS : (band + 1) * ROWS].tobytes()
                self._buckets[band].setdefault(key, []).append(idx)
        return self

    def match(self, reply: str, normalized: bool = False) -> Match | None:
        """How many *other* known replies are at least `similarity` alike, or None if none are."""
        if not self.counts:
            return None
        skel = skeleton(reply or "", normalized)
        if not skel:
            return None
        grams = shingles(skel)
        sig = _signature(skel)
        candidates: set[int] = set()
        for band in range(BANDS):
            candidates.update(self._buckets[band].get(sig[band * ROWS : (band + 1) * ROWS].tobytes(), ()))
        own = self._by_skeleton.get(skel)
        others, best, best_sim = 0, None, 0.0
        for idx in candidates:
            sim = 1.0 if idx == own else similarity(grams, self.grams[idx])
            if sim < self.similarity:
                continue
            # The reply being checked may itself be in the reference set: it is not its own copy.
            others += self.counts[idx] - (1 if idx == own else 0)
            if idx != own and (sim > best_sim or best is None):
                best, best_sim = idx, sim
        if own is not None and self.counts[own] > 1 and best is None:
            best, best_sim = own, 1.0
        if others == 0 or best is None:
            return None
        return Match(others=others, similar_example=self.examples[best], similarity=round(best_sim, 2))
