"""`GET /topics`, `GET /topics/{id}` and `POST /duplicates/check` through the real app."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import auth
from tests.topics_fixtures import PROBLEMS, petitions


def fill(client) -> list[dict]:
    items = petitions(days=8)
    client.app.state.topic_state.add(items)
    return items


def test_app_holds_one_index_and_one_topic_model(client):
    state = client.app.state.topic_state
    assert client.app.state.duplicates is state.duplicates
    assert client.app.state.shared_topics.state is state


def test_topics_are_ranked_with_chartable_daily_counts(client):
    fill(client)
    r = client.get("/topics", params={"since": "2024-05-01", "until": "2024-05-31"})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["total"] == 3 and len(data["topics"]) == 3
    assert "ln(1 + likes_i)" in data["heat_formula"]
    heats = [t["heat"] for t in data["topics"]]
    assert heats == sorted(heats, reverse=True)
    lift = next(t for t in data["topics"] if "lift-0" in t["members"])
    assert lift["members"] == ["lift-0", "lift-1", "lift-2", "lift-3"]
    assert "锦绣花园" in lift["place"] and lift["title"] in PROBLEMS[0][2]
    assert lift["count"] == 4 and lift["supporters"] == 6
    assert lift["daily"][:3] == [
        {"date": "2024-05-01", "count": 1},
        {"date": "2024-05-02", "count": 0},
        {"date": "2024-05-03", "count": 1},
    ]
    assert lift["first_time"].startswith("2024-05-01") and lift["last_time"].startswith("2024-05-07")


def test_limit_and_min_count(client):
    fill(client)
    assert len(client.get("/topics", params={"limit": 1}).json()["topics"]) == 1
    singles = client.get("/topics", params={"min_count": 1}).json()
    assert singles["total"] == 3 + 4


def test_window_outside_the_data_is_empty(client):
    fill(client)
    r = client.get("/topics", params={"since": "2023-01-01", "until": "2023-12-31"})
    assert r.status_code == 200 and r.json()["topics"] == []


def test_bad_window_is_422_with_the_reason(client):
    r = client.get("/topics", params={"since": "last week"})
    assert r.status_code == 422 and "since" in r.json()["detail"]
    r = client.get("/topics", params={"since": "2024-06-01", "until": "2024-05-01"})
    assert r.status_code == 422 and "after" in r.json()["detail"]
    assert client.get("/topics", params={"half_life_days": 0}).status_code == 422


def test_one_topic_and_unknown_topic(client):
    fill(client)
    topic_id = client.app.state.topic_state.topics.topic_of("smoke-2")
    r = client.get(f"/topics/{topic_id}")
    assert r.status_code == 200 and "smoke-2" in r.json()["members"]
    r = client.get("/topics/T999999")
    assert r.status_code == 404 and "T999999" in r.json()["detail"]


def test_duplicate_check_finds_the_repeated_case(client):
    items = fill(client)
    lift = items[0]
    r = client.post("/duplicates/check", json={"title": lift["title"], "body": lift["body"]})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["duplicate"] is True and data["matches"][0]["case_id"] == "lift-0"
    assert data["matches"][0]["similarity"] == 1.0
    r = client.post("/duplicates/check", json={"title": "咨询", "body": "请问驾驶证到期换证需要体检吗？"})
    assert r.json() == {"duplicate": False, "threshold": 0.5, "matches": []}


def test_duplicate_check_within_days(client):
    items = fill(client)
    payload = {"title": items[0]["title"], "body": items[0]["body"], "within_days": 10}
    assert client.post("/duplicates/check", json={**payload, "received_at": "2024-05-05"}).json()["duplicate"]
    late = client.post("/duplicates/check", json={**payload, "received_at": "2024-09-01"}).json()
    assert late["duplicate"] is False


def test_duplicate_check_rejects_bad_input(client):
    r = client.post("/duplicates/check", json={"title": "", "body": "  "})
    assert r.status_code == 422 and "empty" in r.json()["detail"]
    r = client.post("/duplicates/check", json={"body": "x" * 20_001})
    assert r.status_code == 413
    r = client.post("/duplicates/check", json={"body": "电梯坏了", "received_at": "soon"})
    assert r.status_code == 422 and "received_at" in r.json()["detail"]


def test_saved_state_is_loaded_by_a_new_app(client, settings):
    fill(client)
    client.app.state.topic_state.save()
    assert (settings.models_dir / "topics" / "duplicates.npz").exists()
    with TestClient(create_app(settings)) as again:
        r = again.get("/topics", headers=auth(again.app))
        assert r.status_code == 200 and r.json()["total"] == 3


def test_staff_may_read_topics(client):
    staff = auth(client.app, "staff")
    with TestClient(client.app) as c:
        assert c.get("/topics", headers=staff).status_code == 200
        assert c.get("/topics").status_code == 401
