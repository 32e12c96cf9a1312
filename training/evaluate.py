"""Quality figures for a fitted classifier on held-out data, in the shape bundles record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from triage.classifier import PetitionClassifier, abstain_summary


def evaluate(model: PetitionClassifier, texts: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Macro-F1, accuracy, top-3 accuracy, a per-label table and coverage at the abstain thresholds."""
    proba = model.predict_proba(texts)
    classes = model.classes_
    y = np.asarray(labels, dtype=object)
    predicted = classes[proba.argmax(axis=1)]
    top3 = np.argsort(-proba, axis=1)[:, :3]
    in_top3 = [y[i] in set(classes[top3[i]]) for i in range(len(y))]
    label_set = sorted(set(classes) | set(y))
    precision, recall, f1, support = precision_recall_fscore_support(
        y, predicted, labels=label_set, zero_division=0
    )
    return {
        "n": len(y),
        "macro_f1": round(
            float(f1_score(y, predicted, labels=label_set, average="macro", zero_division=0)),
            4,
        ),
        "accuracy": round(float(accuracy_score(y, predicted)), 4),
        "top3_accuracy": round(float(np.mean(in_top3)), 4),
        "per_label": {
            label: {
                "precision": round(float(p), 4),
                "recall": round(float(r), 4),
                "f1": round(float(f), 4),
                "support": int(s),
            }
            for label, p, r, f, s in zip(label_set, precision, recall, f1, support, strict=True)
        },
        "abstain": abstain_summary(proba, y, classes, model.thresholds_, model.min_margin),
    }
