"""The model registry in the case store: a promotion on one host is served by every host, each
host fetches bundles from the shared artifact location and refuses a file whose sha256 does not
match, and an older installation's `live.json` is imported without losing anything."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import select

from tests.hosts_fixtures import close, host
from tests.test_training import _tiny
from training.bundles import MODEL_FILE, POINTER_FILE, file_sha256
from training.model_store import open_registry
from training.train import train_bundle
from triage.store.engine import Store
from triage.store.models import ModelPointer, ModelVersion

PETITION = {"title": "公司拖欠工资", "body": "我们公司拖欠农民工工资三个月了，老板不接电话"}


@pytest.fixture
def two_hosts(db_settings, tmp_path):
    """Host A with the installation's models folder, host B with an empty one (a new host), both on
    one store and one shared artifact location."""
    settings = db_settings.model_copy(update={"artifacts": tmp_path / "shared-artifacts"})
    a = host(settings, db_settings.models_dir)
    b = host(settings, tmp_path / "host-b-models")
    yield settings, a, b
    close(a)
    close(b)


def _version(client) -> str:
    r = client.post("/classify", json=PETITION)
    assert r.status_code == 200, r.text
    return r.json()["model_version"]


def test_a_new_host_serves_the_live_model_from_the_artifact_location(two_hosts):
    settings, a, b = two_hosts
    live = _version(a)
    assert _version(b) == live
    local = settings.models_dir.parent / "host-b-models" / live / MODEL_FILE
    assert file_sha256(local) == file_sha256(settings.artifacts / live / MODEL_FILE)


def test_a_promotion_on_one_host_is_served_by_the_other(two_hosts):
    _, a, b = two_hosts
    old = _version(b)
    new = train_bundle(_tiny(), a.app.state.registry).version
    r = a.post(f"/admin/models/{new}/promote", json={"force": True})
    assert r.status_code == 200, r.text
    assert _version(b) == new != old
    listed = b.get("/models").json()
    assert listed["live"] == new and new in [m["version"] for m in listed["models"]]
    r = b.post("/admin/models/rollback")
    assert r.status_code == 200 and r.json()["live"] == old
    assert _version(a) == old


def test_an_artifact_that_does_not_match_its_sha256_is_refused_and_the_live_model_keeps_serving(two_hosts):
    settings, a, b = two_hosts
    old = _version(b)
    new = train_bundle(_tiny(), a.app.state.registry).version
    assert a.post(f"/admin/models/{new}/promote", json={"force": True}).status_code == 200
    # The shared copy is damaged before host B fetched it (host A verified its own copy).
    (settings.artifacts / new / MODEL_FILE).write_bytes(b"not the model that was registered")
    assert _version(b) == old
    health = b.get("/health").json()
    assert health["model"]["version"] == old and "sha256" in health["model"]["error"]
    assert _version(a) == new


def test_a_damaged_bundle_is_refused_at_promotion_with_the_reason(two_hosts):
    settings, a, _ = two_hosts
    old = _version(a)
    new = train_bundle(_tiny(), a.app.state.registry).version
    (settings.artifacts / new / MODEL_FILE).write_bytes(b"damaged")
    r = a.post(f"/admin/models/{new}/promote", json={"force": True})
    assert r.status_code == 409 and "sha256" in r.json()["detail"]
    assert _version(a) == old


def test_promotions_are_recorded_with_who_made_them(two_hosts):
    _, a, _ = two_hosts
    new = train_bundle(_tiny(), a.app.state.registry).version
    assert a.post(f"/admin/models/{new}/promote", json={"force": True}).status_code == 200
    with a.app.state.store.session() as s:
        rows = s.scalars(
            select(ModelPointer).where(ModelPointer.kind == "department").order_by(ModelPointer.id)
        )
        actions = [(r.action, r.live, r.actor is not None) for r in rows]
    assert actions[0][0] == "import" and actions[-1] == ("promote", new, True)


def test_an_older_installation_is_imported_into_the_store(db_settings):
    """live.json and the bundles on disk become the store's registry on first start; afterwards the
    store decides, even if the file is gone."""
    models = db_settings.models_dir
    pointer = json.loads((models / POINTER_FILE).read_text(encoding="utf-8"))
    store = Store(db_settings.database_url)
    try:
        registry = open_registry(db_settings, store)
        assert registry.live_version() == pointer["live"]
        with store.session() as s:
            row = s.scalars(select(ModelVersion).where(ModelVersion.version == pointer["live"])).one()
        assert row.sha256 == file_sha256(models / pointer["live"] / MODEL_FILE)
        (models / POINTER_FILE).unlink()
        again = open_registry(db_settings, store)
        assert again.live_version() == pointer["live"]
        assert [b.version for b in again.list() if b.live] == [pointer["live"]]
    finally:
        store.dispose()


def test_a_damaged_local_copy_is_replaced_from_the_artifact_location(two_hosts):
    settings, _, b = two_hosts
    live = _version(b)
    local = settings.models_dir.parent / "host-b-models" / live
    close(b)
    (local / MODEL_FILE).write_bytes(b"damaged on this host's disk")
    restarted = host(settings, local.parent)
    try:
        assert _version(restarted) == live
        assert file_sha256(local / MODEL_FILE) == file_sha256(settings.artifacts / live / MODEL_FILE)
    finally:
        close(restarted)
        shutil.rmtree(local.parent, ignore_errors=True)
