"""Fit, evaluate on a stratified hold-out, refit on every row, and write a versioned bundle.

The held-out split is carved out before the evaluation fit and only used for the figures in the
bundle's metadata, so the quality an admin reads is measured on petitions that model never saw.
The model served is then fitted again on every labelled row (`refit`, the default): a fifth of
an admin's labels left out of the served model for good cost accuracy for nothing. Its
calibration and abstain thresholds come from its own out-of-fold scores, as before; the bundle
says which rows the figures come from (`evaluation`) and which the served model saw (`fitted`).
"""

from __future__ import annotations

import platform
import time
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from typing import Any

from sklearn.model_selection import train_test_split

from training.balance import imbalance_warning
from training.bundles import BundleInfo, ModelRegistry, new_version
from training.data import LabelledData
from training.deployment_keywords import KeywordGroups
from training.evaluate import evaluate
from training.overlap import TRAIN_HASHES_FILE, write_hashes
from triage.classifier import PetitionClassifier

LIBRARIES = ("scikit-learn", "numpy", "scipy", "jieba", "rjieba", "opencc", "joblib")


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def split(
    data: LabelledData, test_size: float, seed: int
) -> tuple[list[str], list[str], list[str], list[str]]:
    n_labels = len(set(data.labels))
    n_test = max(round(len(data) * test_size), n_labels)
    return train_test_split(
        data.texts,
        data.labels,
        test_size=n_test,
        stratify=data.labels,
        random_state=seed,
    )


def train_bundle(
    data: LabelledData,
    registry: ModelRegistry,
    *,
    label_col: str = "label",
    text_cols: list[str] | None = None,
    test_size: float = 0.2,
    seed: int = 0,
    promote: bool = False,
    params: dict[str, Any] | None = None,
    rare: dict[str, Any] | None = None,
    refit: bool = True,
    keywords: KeywordGroups | None = None,
) -> BundleInfo:
    """Train on `data` and write a bundle; nothing on disk changes if any step fails.

    With `refit` the served model is fitted on every row once the hold-out figures are taken;
    without, it is the evaluation fit (its hold-out rows never seen). The bundle keeps the hashes
    of the texts the served model was fitted on (training.overlap), its imbalance warning if
    any, and `rare` (what was dropped or merged before training, training.balance).
    `keywords` are the deployment's keyword groups (training.deployment_keywords), learned as
    features when there are any; the bundle says how many and where they came from.
    """
    data.validate()
    params = dict(params or {})
    if keywords:
        params["keywords"] = {label: terms for label, terms in keywords.groups.items() if terms}
    started = time.perf_counter()
    x_train, x_test, y_train, y_test = split(data, test_size, seed)
    model = PetitionClassifier(random_state=seed, **params).fit(x_train, y_train)
    quality = evaluate(model, x_test, y_test)
    x_fitted = x_train
    if refit:
        model = PetitionClassifier(random_state=seed, **params).fit(data.texts, data.labels)
        x_fitted = list(data.texts)
    fit_seconds = time.perf_counter() - started
    data_hash = data.data_hash()
    metadata = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": data.source,
        "label_column": label_col,
        "text_columns": text_cols or [],
        "labels": [str(label) for label in model.classes_],
        "counts": {
            "total": len(data),
            "train": len(y_train),
            "test": len(y_test),
            "per_label": data.label_counts(),
            "fitted": len(x_fitted),
        },
        "evaluation": {
            "rows": "hold-out",
            "description": f"macro_f1, accuracy, per_label and abstain.test: {len(y_test)} rows held out "
            f"(stratified, seed {seed}) from a fit on the other {len(y_train)}",
            "served_model_fitted_on": "every row" if refit else "the other rows only",
        },
        "macro_f1": quality["macro_f1"],
        "accuracy": quality["accuracy"],
        "top3_accuracy": quality["top3_accuracy"],
        "per_label": quality["per_label"],
        "abstain": {
            "target_precision": model.target_precision,
            "min_margin": model.min_margin,
            "thresholds": {
                str(label): round(float(t), 4)
                for label, t in zip(model.classes_, model.thresholds_, strict=True)
            },
            "test": quality["abstain"],
            "train_out_of_fold": model.oof_proba_summary_,
        },
        "params": {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in model.get_params().items()
            if k != "keywords"
        },
        "keywords": (keywords or KeywordGroups()).describe(),
        "data_hash": data_hash,
        "train_hashes": {"file": TRAIN_HASHES_FILE, "rows": len(x_fitted)},
        "warnings": [w for w in (imbalance_warning(data.labels),) if w],
        **({"rare_labels": rare} if rare else {}),
        "fit_seconds": round(fit_seconds, 2),
        "libraries": library_versions(),
    }

    def save(path) -> None:
        model.save(path)
        write_hashes(path.parent / TRAIN_HASHES_FILE, x_fitted)

    bundle = registry.write_bundle(new_version(data_hash), save, metadata)
    if promote:
        registry.promote(bundle.version)
    return bundle
