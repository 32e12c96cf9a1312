"""The request-type classifier (咨询 / 投诉 / 求助 / 建议 …): a second `PetitionClassifier`.

It is trained, versioned, promoted and hot-swapped exactly like the department model, in its own
registry under `<models_dir>/request_type/`, so the two can be retrained independently and the
department model's pointer never names a request-type bundle.
"""

from __future__ import annotations

from pathlib import Path

from training.bundles import BundleInfo, ModelRegistry
from training.data import LabelledData
from training.train import train_bundle
from triage.classifier import PetitionClassifier

SUBDIR = "request_type"


def request_type_registry(models_dir: str | Path | ModelRegistry) -> ModelRegistry:
    """The request-type registry: given one (the store's, as the service and CLI open it), or the
    file registry under a models folder (a standalone folder, as the benchmarks use)."""
    if isinstance(models_dir, ModelRegistry):
        return models_dir
    return ModelRegistry(Path(models_dir) / SUBDIR)


def sample_request_types() -> LabelledData:
    """The bundled sample's request_type column, as the bootstrap trains on it."""
    from datasets import load_sample
    from triage.csvio import petition_text_of

    rows = [r for r in load_sample() if r.get("request_type")]
    return LabelledData(
        texts=[petition_text_of(r) for r in rows],
        labels=[r["request_type"] for r in rows],
        source="datasets/sample#request_type",
        rows=list(range(2, len(rows) + 2)),
    )


def train_request_type(
    data: LabelledData, models_dir: str | Path | ModelRegistry, *, promote: bool = True, seed: int = 0
) -> BundleInfo:
    return train_bundle(
        data,
        request_type_registry(models_dir),
        label_col="request_type",
        text_cols=["title", "body"],
        promote=promote,
        seed=seed,
    )


def ensure_request_type_model(models_dir: str | Path | ModelRegistry) -> BundleInfo | None:
    """Train on the bundled sample when no request-type model is live; None when one already is."""
    registry = request_type_registry(models_dir)
    registry.clean_temporary()
    live = registry.live_version()
    if live and registry.is_complete(live):
        return None
    return train_request_type(sample_request_types(), models_dir)


def load_live_request_type(models_dir: str | Path | ModelRegistry) -> tuple[str, PetitionClassifier] | None:
    registry = request_type_registry(models_dir)
    version = registry.live_version()
    if version is None or not registry.is_complete(version):
        return None
    return version, PetitionClassifier.load(registry.model_path(version))
