"""Co-handling (主办 + 协办): when a second label is plausible too, its department assists.

Each label's calibrated probability is read one-vs-rest: "does this petition concern label j?"
A second label whose probability reaches `min_probability` brings its department in as an
assistant. The threshold is fitted on held-out predictions: the lowest one at which an added
assistant is the petition's true label at least `target_precision` of the time, so assistants are
named only where they often matter and a lead is not buried under guesses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

DEFAULT_GRID = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45)


def assistant_labels(top_k: Sequence[dict[str, Any]], min_probability: float, max_assist: int) -> list[str]:
    """Labels after the first whose probability reaches the threshold, best first."""
    out = []
    for item in list(top_k)[1:]:
        if len(out) >= max_assist:
            break
        if float(item["probability"]) >= min_probability:
            out.append(str(item["label"]))
    return out


def cohandling_curve(
    proba: np.ndarray,
    y: Sequence[str],
    classes: Sequence[str],
    thresholds: Sequence[float] = DEFAULT_GRID,
    max_assist: int = 2,
) -> list[dict[str, float]]:
    """Per threshold: share of petitions given assistants, how often an assistant is the true
    label, and how often the true label is the lead or an assistant."""
    classes_arr = np.asarray(classes, dtype=object)
    y_arr = np.asarray(y, dtype=object)
    order = np.argsort(-proba, axis=1)
    lead_correct = classes_arr[order[:, 0]] == y_arr
    rows = []
    for t in thresholds:
        with_assist = 0
        assists = 0
        assist_hits = 0
        covered = lead_correct.copy()
        for i in range(len(proba)):
            extra = [j for j in order[i, 1 : 1 + max_assist] if proba[i, j] >= t]
            if extra:
                with_assist += 1
                assists += len(extra)
                hit = any(classes_arr[j] == y_arr[i] for j in extra)
                assist_hits += hit
                covered[i] = covered[i] or hit
        rows.append(
            {
                "threshold": float(t),
                "with_assist": with_assist / len(proba) if len(proba) else 0.0,
                "assist_precision": assist_hits / assists if assists else 0.0,
                "lead_accuracy": float(lead_correct.mean()) if len(proba) else 0.0,
                "lead_or_assist": float(covered.mean()) if len(proba) else 0.0,
            }
        )
    return rows


def fit_min_probability(
    proba: np.ndarray,
    y: Sequence[str],
    classes: Sequence[str],
    target_precision: float = 0.3,
    thresholds: Sequence[float] = DEFAULT_GRID,
    max_assist: int = 2,
) -> float:
    """The lowest threshold whose assistants are the true label at least `target_precision` of
    the time; the highest of the grid when none is (assistants then stay rare)."""
    curve = cohandling_curve(proba, y, classes, thresholds, max_assist)
    for row in curve:
        if row["with_assist"] > 0 and row["assist_precision"] >= target_precision:
            return row["threshold"]
    return float(max(thresholds))
