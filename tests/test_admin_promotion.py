"""Promotion keeps the model and the routing table in agreement (CLI, admin API, /health)."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from cli import main
from tests.admin_fixtures import train_unrouted, unrouted_csv
from training.bundles import ModelRegistry
from triage.routing.table import RoutingTableError, parse_table
from triage.settings import Settings

NEW_LABELS = "学前教育, 社会救助"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def unrouted_bundle(tmp_path_factory):
    """A bundle (not live) trained on a small slice relabelled with two labels the table lacks."""
    return train_unrouted(tmp_path_factory.mktemp("unrouted"))


def _add_bundle(models_dir, bundle_path) -> str:
    shutil.copytree(bundle_path, models_dir / bundle_path.name)
    return bundle_path.name


def test_train_promote_is_refused_naming_the_labels_and_writes_the_stub(env_models, capsys, tmp_path):
    live_before = ModelRegistry(env_models).live_version()
    stub = tmp_path / "stub.yaml"
    code, _, err = run(
        capsys,
        "train",
        "--data",
        str(unrouted_csv(tmp_path / "train.csv", per_label=6)),
        "--label-col",
        "label",
        "--promote",
        "--write-routing-stub",
        str(stub),
    )
    assert code == 2
    assert f"has no route for its label(s) {NEW_LABELS}" in err and "--force" in err
    assert ModelRegistry(env_models).live_version() == live_before
    text = stub.read_text(encoding="utf-8")
    assert "学前教育: {lead: TODO}   # TODO department" in text and "社会救助: {lead: TODO}" in text
    assert "城乡建设" not in text  # already routed by the category set
    # the stub is a label_sets fragment the admin fills in: TODO is refused until then
    table_text = open(Settings().routing_table, encoding="utf-8").read()
    fragment = yaml.safe_load(text)["label_sets"]
    filled = yaml.safe_load(table_text)
    filled["label_sets"].update(fragment)
    with pytest.raises(RoutingTableError, match="unknown department 'TODO'"):
        parse_table(yaml.safe_dump(filled, allow_unicode=True))
    for entries in fragment.values():
        entries.update({label: {"lead": "民政局"} for label in entries})
    filled["label_sets"].update(fragment)
    table = parse_table(yaml.safe_dump(filled, allow_unicode=True))
    assert {"学前教育", "社会救助"} <= set(table.labels)


def test_models_promote_refuses_then_force_makes_it_live_with_a_warning(env_models, capsys, unrouted_bundle):
    version = _add_bundle(env_models, unrouted_bundle)
    live_before = ModelRegistry(env_models).live_version()
    code, _, err = run(capsys, "models", "promote", version)
    assert code == 2 and NEW_LABELS in err and ModelRegistry(env_models).live_version() == live_before
    code, out, err = run(capsys, "models", "promote", version, "--force")
    assert code == 0 and json.loads(out) == {"live": version}
    assert "warning" in err and NEW_LABELS in err and "/health" in err
    code, out, _ = run(capsys, "models", "rollback")
    assert code == 0 and json.loads(out) == {"live": live_before}


def test_a_routed_model_promotes_as_before(env_models, capsys):
    live = ModelRegistry(env_models).live_version()
    code, out, err = run(capsys, "models", "promote", live)
    assert code == 0 and json.loads(out) == {"live": live} and "warning" not in err


def test_api_promote_409_then_force_and_health_is_degraded(client, settings, unrouted_bundle):
    version = _add_bundle(settings.models_dir, unrouted_bundle)
    before = client.get("/models").json()["live"]
    assert client.get("/health").json()["routing"] == {"status": "ok"}
    refused = client.post(f"/admin/models/{version}/promote")
    assert refused.status_code == 409 and NEW_LABELS in refused.json()["detail"]
    assert client.get("/models").json()["live"] == before
    forced = client.post(f"/admin/models/{version}/promote", json={"force": True})
    assert forced.status_code == 200, forced.text
    assert forced.json() == {
        "live": version,
        "previous": before,
        "forced": True,
        "unrouted_labels": ["学前教育", "社会救助"],
    }
    health = client.get("/health")
    body = health.json()
    assert health.status_code == 200 and body["status"] == "degraded"  # still serving, but says why
    assert body["routing"]["status"] == "unrouted_labels"
    assert body["routing"]["missing_labels"] == ["学前教育", "社会救助"]
    assert "no department" in body["routing"]["error"]
    case = client.post("/cases", json={"external_id": "P-1", "title": "幼儿园收费", "body": "幼儿园乱收费"})
    assert case.status_code == 201
    rolled = client.post("/admin/models/rollback")
    assert rolled.status_code == 200 and client.get("/health").json()["status"] == "ok"


def test_api_promote_unknown_version_is_still_404(client):
    r = client.post("/admin/models/nope/promote", json={"force": True})
    assert r.status_code == 404
