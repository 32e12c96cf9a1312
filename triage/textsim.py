"""How much of one text survives in another: character-level ROUGE-L.

Used for a draft's retention (how much of the suggested draft a clerk's sent reply kept) and by
the drafting benchmark (a draft against the official reply). Characters, not words: Chinese
replies are compared as written, without a segmenter's choices.
"""

from __future__ import annotations


def lcs_length(a: str, b: str) -> int:
    """Longest common subsequence, bit-parallel (Allison-Dix / Hyyrö) over the shorter string.

    The same number the row-by-row dynamic programme gives, with one big-integer step per
    character of the longer string instead of a Python loop per cell.
    """
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return 0
    masks: dict[str, int] = {}
    for i, cb in enumerate(b):
        masks[cb] = masks.get(cb, 0) | (1 << i)
    full = (1 << len(b)) - 1
    row = full  # zero bits mark the positions of b matched so far
    for ca in a:
        match = row & masks.get(ca, 0)
        row = ((row + match) | (row - match)) & full
    return len(b) - row.bit_count()


def rouge_l(candidate: str, reference: str) -> float:
    """Character-level ROUGE-L F1 (β = 1) of two texts, after the project's normalisation."""
    from triage.text import normalize

    candidate, reference = normalize(candidate).replace(" ", ""), normalize(reference).replace(" ", "")
    if not candidate or not reference:
        return 0.0
    lcs = lcs_length(candidate, reference)
    if not lcs:
        return 0.0
    precision, recall = lcs / len(candidate), lcs / len(reference)
    return 2 * precision * recall / (precision + recall)
