"""`POST /draft` and the `/answers` library over HTTP, through the real app."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import auth
from tests.drafting_fixtures import history_items
from triage.text import MAX_TEXT_CHARS

os.environ.setdefault("OMP_NUM_THREADS", "1")

ANSWER = {
    "department": "住建局",
    "question": "物业公司能否自行上调物业费",
    "answer": "物业服务收费标准在合同中约定，合同期内物业公司不得单方面上调，调整须经业主大会表决。",
    "keywords": ["物业费", "涨价"],
    "author": "王敏",
    "valid_from": "2024-01-01",
}


def make_client(settings):
    client = TestClient(create_app(settings))
    client.__enter__()
    client.headers.update(auth(client.app, "admin"))
    return client


@pytest.fixture
def sparse_settings(settings):
    return settings.model_copy(update={"answers_encoder": "none"})  # BM25 only: fast


@pytest.fixture
def api(sparse_settings):
    client = make_client(sparse_settings)
    yield client
    client.__exit__(None, None, None)


def test_fresh_app_drafts_without_any_index(api):
    r = api.post("/draft", json={"title": "路灯不亮", "body": "滨江路的路灯一周没亮了"})
    assert r.status_code == 200
    out = r.json()
    assert out["tier"] == "escalate" and out["sources"] == [] and out["auto_reply"] is False
    assert "核查结果" in out["missing"] and "“路灯不亮”" in out["draft"]


@pytest.mark.parametrize("payload", [{"title": "", "body": ""}, {"title": "  ", "body": " \n"}, {}])
def test_empty_petition_is_422(api, payload):
    r = api.post("/draft", json=payload)
    assert r.status_code == 422 and "empty" in r.json()["detail"]


def test_oversized_petition_is_413(api):
    r = api.post("/draft", json={"title": "长", "body": "字" * (MAX_TEXT_CHARS + 1)})
    assert r.status_code == 413 and "body" in r.json()["detail"]


def test_answers_crud_and_drafts_follow_the_library(api):
    assert api.get("/answers").json() == {"items": [], "total": 0}
    created = api.post("/answers", json=ANSWER)
    assert created.status_code == 201
    entry = created.json()
    assert entry["id"] and entry["author"] == "王敏" and entry["retired"] is False
    assert created.headers["location"] == f"/answers/{entry['id']}"
    assert api.get(f"/answers/{entry['id']}").json()["question"] == ANSWER["question"]
    assert api.get("/answers", params={"department": "城管局"}).json()["total"] == 0
    assert api.get("/answers", params={"department": "住建局"}).json()["total"] == 1

    d = api.post(
        "/draft",
        json={"title": "物业擅自上调物业费", "body": "物业费要涨价，没开业主大会", "department": "住建局"},
    )
    assert d.status_code == 200
    first = d.json()["sources"][0]
    assert first == {**first, "kind": "manual", "id": entry["id"], "department": "住建局"}
    assert "不得单方面上调" in d.json()["draft"]

    edited = api.put(f"/answers/{entry['id']}", json={"answer": ANSWER["answer"] + "如有疑问请拨打12345。"})
    assert edited.status_code == 200 and edited.json()["answer"].endswith("12345。")
    assert edited.json()["created_at"] == entry["created_at"]

    retired = api.delete(f"/answers/{entry['id']}")
    assert retired.status_code == 200 and retired.json()["retired"] is True
    assert api.get("/answers").json()["total"] == 0
    assert api.get("/answers", params={"include_retired": True}).json()["total"] == 1
    d = api.post("/draft", json={"title": "物业擅自上调物业费", "body": "物业费要涨价"})
    assert all(s["id"] != entry["id"] for s in d.json()["sources"])


def test_duplicate_answer_is_409_and_kept_once(api):
    first = api.post("/answers", json=ANSWER).json()
    again = api.post(
        "/answers", json={**ANSWER, "question": "物业费能涨吗", "answer": ANSWER["answer"] + "  "}
    )
    assert again.status_code == 409 and first["id"] in again.json()["detail"]
    assert api.get("/answers").json()["total"] == 1


@pytest.mark.parametrize(
    "change,needle",
    [
        ({"answer": ""}, "answer is empty"),
        ({"valid_from": "2025-05-01", "valid_until": "2025-01-01"}, "before valid_from"),
        ({"colour": "red"}, "colour"),
        ({"valid_from": "明天"}, "valid_from"),
        ({"id": "有空格 的id"}, "id"),
    ],
)
def test_bad_answers_are_422(api, change, needle):
    r = api.post("/answers", json={**ANSWER, **change})
    assert r.status_code == 422 and needle in str(r.json()["detail"])
    assert api.get("/answers").json()["total"] == 0


def test_editing_unknown_or_with_nothing(api):
    assert api.put("/answers/nope", json={"answer": "x"}).status_code == 404
    assert api.delete("/answers/nope").status_code == 404
    assert api.get("/answers/nope").status_code == 404
    entry = api.post("/answers", json=ANSWER).json()
    r = api.put(f"/answers/{entry['id']}", json={})
    assert r.status_code == 422 and "nothing to change" in r.json()["detail"]
    r = api.put(f"/answers/{entry['id']}", json={"answer": "  "})
    assert r.status_code == 422 and api.get(f"/answers/{entry['id']}").json()["answer"] == ANSWER["answer"]


def test_library_and_history_survive_a_restart(sparse_settings):
    client = make_client(sparse_settings)
    entry = client.post("/answers", json=ANSWER).json()
    client.app.state.drafter.history.add_history(history_items())
    client.__exit__(None, None, None)
    client.app.state.drafter.history.close()

    again = make_client(sparse_settings)
    assert [a["id"] for a in again.get("/answers").json()["items"]] == [entry["id"]]
    d = again.post("/draft", json={"title": "电梯老是坏", "body": "阳光小区电梯一个月坏了四次"}).json()
    assert d["tier"] == "suggest" and d["sources"][0] == {**d["sources"][0], "kind": "history", "id": "h2"}
    again.__exit__(None, None, None)


def test_one_drafter_per_app(api):
    drafter = api.app.state.drafter
    api.post("/draft", json={"title": "路灯", "body": "路灯不亮"})
    api.get("/answers")
    assert api.app.state.drafter is drafter


def test_bad_embedding_model_starts_with_bm25(settings, tmp_path):
    broken = tmp_path / "not-a-model"
    broken.mkdir()
    client = make_client(settings.model_copy(update={"embedding_model": str(broken)}))
    drafter = client.app.state.drafter
    assert "not a sentence-transformers model" in drafter.encoder_error
    client.post("/answers", json=ANSWER)
    d = client.post("/draft", json={"title": "物业擅自上调物业费", "body": "物业费要涨价"})
    assert d.status_code == 200 and d.json()["sources"][0]["kind"] == "manual"
    client.__exit__(None, None, None)


def test_staff_may_read_answers_and_draft(sparse_settings):
    client = make_client(sparse_settings)
    staff = {"Authorization": auth(client.app, "staff")["Authorization"]}
    assert client.get("/answers", headers=staff).status_code == 200
    assert client.post("/draft", json={"title": "路灯", "body": "路灯不亮"}, headers=staff).status_code == 200
    client.__exit__(None, None, None)


def test_staff_maintain_the_library_and_are_named_as_authors(sparse_settings):
    """Curated answers are written by the clerks who use them; the entry records who added it."""
    client = make_client(sparse_settings)
    staff = {"Authorization": auth(client.app, "staff")["Authorization"]}
    made = client.post("/answers", json={**ANSWER, "author": ""}, headers=staff)
    assert made.status_code == 201, made.text
    assert made.json()["author"].startswith("staff:")
    answer_id = made.json()["id"]
    edited = client.put(f"/answers/{answer_id}", json={"keywords": ["物业费"]}, headers=staff)
    assert edited.status_code == 200 and edited.json()["keywords"] == ["物业费"]
    retired = client.delete(f"/answers/{answer_id}", headers=staff)
    assert retired.status_code == 200 and retired.json()["retired"] is True
    platform = {"Authorization": auth(client.app, "platform")["Authorization"]}
    assert client.post("/answers", json=ANSWER, headers=platform).status_code == 403
    client.__exit__(None, None, None)
