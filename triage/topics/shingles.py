"""Character shingles and MinHash signatures: the fingerprint a duplicate is recognised by.

Reposted petitions differ in punctuation, spacing, a greeting or a sentence added; character
3-grams over the normalised text without punctuation survive all of those, and need no word
segmentation (jieba would split the same phrase differently in different contexts).
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
from datasketch import MinHash

from triage.text import normalize

NUM_PERM = 128
SEED = 20_200_703
SHINGLE = 3
SCHEME = "affine32"

_NOT_WORD = re.compile(r"[\W_]+")


def canonical(text: str) -> str:
    """Normalised text with punctuation and spaces removed, lower case."""
    return _NOT_WORD.sub("", normalize(text)).lower()


def shingles(text: str, k: int = SHINGLE) -> set[bytes]:
    """The set of k-character shingles; a text shorter than k is its own single shingle."""
    flat = canonical(text)
    if len(flat) <= k:
        return {flat.encode("utf-8")} if flat else set()
    return {flat[i : i + k].encode("utf-8") for i in range(len(flat) - k + 1)}


@lru_cache(maxsize=4)
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Generated once: building them per MinHash costs more than hashing a petition."""
    a, b = MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME).permutations
    return a, b


def minhash(text: str, num_perm: int = NUM_PERM, seed: int = SEED) -> MinHash:
    return minhash_of(shingles(text), num_perm, seed)


def minhash_of(grams: set[bytes], num_perm: int = NUM_PERM, seed: int = SEED) -> MinHash:
    m = MinHash(num_perm=num_perm, seed=seed, permutations=_permutations(num_perm, seed), scheme=SCHEME)
    m.update_batch(grams)
    return m


def from_hashvalues(values: np.ndarray, seed: int = SEED) -> MinHash:
    return MinHash(hashvalues=values, seed=seed, permutations=_permutations(len(values), seed), scheme=SCHEME)
