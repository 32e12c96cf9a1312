import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import auth
from tests.test_training import _tiny
from training.model_store import ArtifactMismatch
from training.train import train_bundle
from triage.settings import Settings

PETITION = {"title": "公司拖欠工资", "body": "我们公司拖欠农民工工资三个月了，老板不接电话"}


def test_classify_returns_the_documented_fields(client, registry):
    r = client.post("/classify", json=PETITION)
    assert r.status_code == 200, r.text
    data = r.json()
    assert set(data) >= {"label", "confidence", "abstain", "top_k", "reasons", "model_version"}
    assert data["label"] == "人社局"
    assert data["model_version"] == registry.live_version()
    assert data["top_k"][0] == {"label": data["label"], "probability": data["confidence"]}
    assert all(set(reason) == {"term", "weight"} for reason in data["reasons"])


def test_traditional_and_simplified_get_the_same_answer(client):
    a = client.post(
        "/classify", json={"title": "公司拖欠工資", "body": "我們公司拖欠農民工工資三個月了"}
    ).json()
    b = client.post(
        "/classify", json={"title": "公司拖欠工资", "body": "我们公司拖欠农民工工资三个月了"}
    ).json()
    assert a["label"] == b["label"] and abs(a["confidence"] - b["confidence"]) < 1e-9


def test_body_alone_or_title_alone_is_enough(client):
    assert client.post("/classify", json={"body": "路灯坏了"}).status_code == 200
    assert client.post("/classify", json={"title": "路灯坏了"}).status_code == 200


def test_empty_text_is_422_with_a_message(client):
    r = client.post("/classify", json={"title": "  ", "body": "\n"})
    assert r.status_code == 422
    assert "empty" in r.json()["detail"]


def test_text_over_the_limit_is_413(client):
    r = client.post("/classify", json={"title": "长", "body": "很" * 20_001})
    assert r.status_code == 413
    assert "20000" in r.json()["detail"]


def test_wrong_json_types_are_422(client):
    assert client.post("/classify", json={"title": 5, "body": ["x"]}).status_code == 422
    assert (
        client.post(
            "/classify", content=b"not json", headers={"content-type": "application/json"}
        ).status_code
        == 422
    )
    assert client.post("/classify", json={"body": "路灯", "k": 0}).status_code == 422


def test_batch_classifies_each_item_in_order(client):
    items = [PETITION, {"body": "孩子上学的学区怎么划分"}, {"title": "超市卖过期食品"}]
    r = client.post("/classify/batch", json={"items": items})
    assert r.status_code == 200
    labels = [item["label"] for item in r.json()["items"]]
    assert labels == ["人社局", "教育局", "市场监管局"]


def test_a_batch_without_reasons_answers_the_same_labels_and_routing(client):
    """`reasons: false` only empties each item's reasons: labels, probabilities and the routing
    (department, deadline, emergency) are those of the default call."""
    items = [PETITION, {"body": "楼道里闻到很浓的煤气味，好几户都闻到了"}, {"title": "超市卖过期食品"}]
    full = client.post("/classify/batch", json={"items": items}).json()["items"]
    bare = client.post("/classify/batch", json={"items": items, "reasons": False}).json()["items"]
    assert all(item["reasons"] for item in full) and not any(item["reasons"] for item in bare)
    # (an emergency is due in hours from the moment of the call: the two calls differ there)
    assert [{**item, "reasons": [], "due_at": None} for item in full] == [
        {**item, "due_at": None} for item in bare
    ]
    assert bare[1]["urgent"] is not None


def test_a_batch_answers_each_petition_exactly_as_classify_does(client):
    """Every field of a batch item, probabilities to the last digit, is what /classify answers
    for the petition alone (the deadline too, given the same received time)."""
    petitions = [
        {"title": "夜間施工擾民", "body": "錦繡花園旁邊的工地每天晚上十一點以後還在打樁，孩子沒法睡覺"},
        {"body": "老板拖欠我三个月工资一万二，一直不给，请劳动部门帮忙追讨"},
        {"title": "公交线路调整", "body": "请问28路公交车为什么取消了人民医院那一站？老人看病很不方便"},
        {"body": "幸福里小区5栋楼道里煤气味很重，已经闻了半小时，有老人在家"},
    ]
    petitions = [{**p, "received_at": "2026-11-20T09:30:00+08:00"} for p in petitions]
    batch = client.post("/classify/batch", json={"items": petitions}).json()["items"]
    alone = [client.post("/classify", json=p).json() for p in petitions]
    assert batch == alone


def test_one_process_keeps_a_batch_clients_connection_open(client):
    """Only `triage serve --workers N` (N > 1) closes a batch's connection (so that the next
    batch can go to another worker: tests/test_reliability_workers.py); one process has no
    other worker, and a client that keeps its connection saves a handshake per batch."""
    answer = client.post("/classify/batch", json={"items": [{"body": "小区噪音扰民"}]})
    assert answer.status_code == 200 and answer.headers.get("connection") != "close"


def test_batch_over_the_limit_is_413(client):
    r = client.post("/classify/batch", json={"items": [{"body": "路灯"}] * 1001})
    assert r.status_code == 413 and "1000" in r.json()["detail"]


def test_batch_with_an_empty_item_names_it(client):
    r = client.post("/classify/batch", json={"items": [{"body": "路灯"}, {"body": ""}]})
    assert r.status_code == 422 and "items[1]" in r.json()["detail"]


def test_empty_batch_is_422(client):
    assert client.post("/classify/batch", json={"items": []}).status_code == 422


def test_health_and_models(client, registry):
    health = client.get("/health").json()
    assert health["model"] == {"status": "ok", "version": registry.live_version()}
    assert health["request_type_model"]["status"] in ("ok", "missing")  # optional: never a 503
    # the served model was warmed before it was swapped in: its fast path is already built
    assert client.app.state.live_model.peek().model.__dict__.get("_fast") is not None
    models = client.get("/models").json()
    assert models["live"] == registry.live_version()
    assert [m["version"] for m in models["models"] if m["live"]] == [registry.live_version()]


def test_no_live_model_is_503_not_a_crash(tmp_path):
    settings = Settings(models_dir=tmp_path / "empty", database_url=f"sqlite:///{tmp_path}/db.sqlite")
    with TestClient(create_app(settings)) as c:
        c.headers.update(auth(c.app))
        r = c.post("/classify", json=PETITION)
        assert r.status_code == 503 and "no model is live" in r.json()["detail"]
        assert c.get("/health").status_code == 503


def test_promotion_is_served_without_restart(client, registry):
    old = client.post("/classify", json=PETITION).json()["model_version"]
    new = train_bundle(_tiny(), registry).version
    registry.promote(new)
    served = client.post("/classify", json={"body": "路灯不亮"}).json()
    assert served["model_version"] == new != old
    assert served["label"] in {"城管局", "人社局", "环卫"}


def test_a_broken_bundle_promoted_keeps_the_old_model_serving(client, registry):
    """A bundle whose file was saved broken (its sha256 matches: the registry recorded the broken
    file) becomes live in the store, but no host swaps to it: the old model serves, /health says why."""
    old = registry.live_version()
    assert client.post("/classify", json=PETITION).json()["model_version"] == old
    broken = registry.write_bundle(
        "broken-1", lambda path: path.write_bytes(b"corrupt"), {"labels": []}
    ).version
    registry.promote(broken)
    r = client.post("/classify", json=PETITION)
    assert r.status_code == 200 and r.json()["model_version"] == old
    model = client.get("/health").json()["model"]
    assert model["version"] == old and "cannot load model broken-1" in model["error"]


def test_a_damaged_bundle_file_is_refused_at_promotion(client, registry):
    old = registry.live_version()
    damaged = train_bundle(_tiny(), registry).version
    (registry.root / damaged / "model.joblib").write_bytes(b"corrupt")
    with pytest.raises(ArtifactMismatch, match="sha256"):
        registry.promote(damaged)
    assert registry.live_version() == old
    assert client.post("/classify", json=PETITION).json()["model_version"] == old


def test_openapi_docs_are_served(client):
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/classify", "/classify/batch", "/health", "/models"} <= set(paths)
