"""Shared fixtures: a model trained once per session on the bundled sample, isolated dirs, apps."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from cli.bootstrap import sample_data
from training.bundles import ModelRegistry
from training.train import train_bundle
from triage.settings import Settings


@pytest.fixture(scope="session")
def sample():
    return sample_data()


@pytest.fixture(scope="session")
def trained_models_dir(tmp_path_factory, sample) -> Path:
    """One models directory with a live bundle trained on the sample; copied per test."""
    root = tmp_path_factory.mktemp("models-session")
    train_bundle(sample, ModelRegistry(root), label_col="department", text_cols=["title", "body"], promote=True)
    return root


@pytest.fixture
def models_dir(tmp_path, trained_models_dir) -> Path:
    target = tmp_path / "models"
    shutil.copytree(trained_models_dir, target)
    return target


@pytest.fixture
def registry(models_dir) -> ModelRegistry:
    return ModelRegistry(models_dir)


@pytest.fixture
def live_model(registry):
    from triage.classifier import PetitionClassifier

    return PetitionClassifier.load(registry.model_path(registry.live_version()))


@pytest.fixture
def settings(tmp_path, models_dir) -> Settings:
    return Settings(
        models_dir=models_dir,
        database_url=f"sqlite:///{tmp_path / 'triage.db'}",
        model_check_seconds=0.0,
    )


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def env_models(monkeypatch, models_dir, tmp_path):
    """Point the CLI (which reads environment variables) at the test's directories."""
    monkeypatch.setenv("TRIAGE_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("TRIAGE_DATABASE_URL", f"sqlite:///{tmp_path / 'triage.db'}")
    return models_dir


def shared_dir() -> Path | None:
    from datasets import shared_datasets_dir

    return shared_datasets_dir()


requires_shared = pytest.mark.skipif(
    shared_dir() is None, reason="../shared/datasets is absent: real-data tests need it beside the checkout"
)

os.environ.setdefault("OMP_NUM_THREADS", "1")
