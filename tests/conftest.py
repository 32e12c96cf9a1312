"""Shared fixtures: a model trained once per session on the bundled sample, isolated dirs, apps."""

from __future__ import annotations

import contextlib
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
    train_bundle(
        sample, ModelRegistry(root), label_col="department", text_cols=["title", "body"], promote=True
    )
    return root


@pytest.fixture
def models_dir(tmp_path, trained_models_dir) -> Path:
    target = tmp_path / "models"
    shutil.copytree(trained_models_dir, target)
    return target


@pytest.fixture
def registry(settings) -> ModelRegistry:
    """The department registry as the service and the CLI open it (rows in the settings' store)."""
    from training.model_store import open_registry
    from triage.store.engine import Store

    store = Store(settings.database_url)
    yield open_registry(settings, store)
    store.dispose()


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


def make_key(app, role: str = "admin", name: str | None = None) -> str:
    """A new API key in the app's own database (the real store, hashed like any other key)."""
    from triage.store.keys import create_key

    with app.state.store.session(write=True) as s:
        key, _ = create_key(s, role, name)
    return key


def auth(app, role: str = "admin") -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key(app, role)}"}


@pytest.fixture
def client(settings):
    """An admin's client: every route is open to it (tests of roles use anon_client / make_key)."""
    with TestClient(create_app(settings)) as c:
        c.headers.update(auth(c.app, "admin"))
        yield c


@pytest.fixture
def anon_client(settings):
    """A client that sends no API key (for 401 tests)."""
    with TestClient(create_app(settings)) as c:
        yield c


def _postgres_schema_url(base: str, schema: str) -> str:
    from urllib.parse import quote

    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


DB_BACKENDS = ["sqlite"] + (
    [pytest.param("postgresql", marks=pytest.mark.postgres)]
    if os.environ.get("TRIAGE_TEST_POSTGRES_URL")
    else []
)


@contextlib.contextmanager
def postgres_schema(base: str):
    """The URL of a new, empty PostgreSQL schema on `base`'s database, dropped afterwards."""
    import uuid

    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _postgres_schema_url(base, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=DB_BACKENDS)
def db_url(request, tmp_path):
    """A fresh, empty database: a SQLite file, and - when TRIAGE_TEST_POSTGRES_URL is set - a
    PostgreSQL schema of its own, dropped afterwards, so runs on a shared server never collide."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cases.db'}"
        return
    with postgres_schema(os.environ["TRIAGE_TEST_POSTGRES_URL"]) as url:
        yield url


@pytest.fixture
def db_settings(tmp_path, models_dir, db_url) -> Settings:
    """Settings on the parametrised database (SQLite, and PostgreSQL when configured)."""
    return Settings(models_dir=models_dir, database_url=db_url, model_check_seconds=0.0)


@pytest.fixture
def db_client(db_settings):
    """An admin's client on the parametrised database; the app's store is disposed afterwards."""
    app = create_app(db_settings)
    with TestClient(app) as c:
        c.headers.update(auth(app, "admin"))
        yield c
    app.state.store.dispose()


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
# In-process apps skip api/heap.py's collect-and-freeze (one full collection of pytest's large
# heap per app built); servers started through benchmarks.server turn it back on.
os.environ.setdefault("TRIAGE_GC_FREEZE", "0")


@pytest.fixture
def hosts(db_settings, tmp_path):
    """Hosts A and B (folders tmp_path/host-a and host-b); a test may close one and append a
    restarted one: whatever the list holds at the end is closed."""
    from tests.hosts_fixtures import close, host

    made = []
    for name in ("a", "b"):
        models = tmp_path / f"host-{name}"
        shutil.copytree(db_settings.models_dir, models)
        made.append(host(db_settings, models))
    yield made
    for client in made:
        close(client)
