"""The curated answer library lives in the case store: two hosts (two apps with their own cache
folders, one database) see each other's entries, keep each other's edits, and refuse a stale edit
of one entry with 409. Runs on SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from tests.conftest import auth
from triage.drafting import retrieval_dir
from triage.store.models import Event

ANSWER = {
    "department": "住建局",
    "question": "物业公司能否自行上调物业费",
    "answer": "物业服务收费标准在合同中约定，合同期内物业公司不得单方面上调，调整须经业主大会表决。",
    "keywords": ["物业费", "涨价"],
}
OTHER = {
    "department": "城管局",
    "question": "路灯不亮找谁",
    "answer": "路灯故障由市政设施管理处负责，接报后三个工作日内修复，可拨打12319报修。",
}


@pytest.fixture
def two_hosts(hosts):
    """Hosts A and B with a staff key: clerks keep the library."""
    for client in hosts:
        client.headers.update(auth(client.app, "staff"))
    return hosts


def test_an_answer_added_on_one_host_is_listed_and_drafted_from_on_the_other(two_hosts):
    a, b = two_hosts
    created = a.post("/answers", json=ANSWER)
    assert created.status_code == 201, created.text
    ident = created.json()["id"]
    assert created.json()["version"] == 1
    assert ident in [x["id"] for x in b.get("/answers").json()["items"]]
    draft = b.post("/draft", json={"body": "物业公司要上调物业费，合法吗？", "department": "住建局"}).json()
    assert any(s["kind"] == "manual" and s["id"] == ident for s in draft["sources"]), draft["sources"]


def test_two_clerks_editing_two_entries_on_two_hosts_both_keep_their_edit(two_hosts):
    a, b = two_hosts
    first = a.post("/answers", json=ANSWER).json()
    second = a.post("/answers", json=OTHER).json()
    b.get("/answers")  # B has read both before the edits

    def edit(args):
        client, ident, text = args
        return client.put(f"/answers/{ident}", json={"question": text})

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(edit, [(a, first["id"], "物业费能涨吗"), (b, second["id"], "路灯坏了")]))
    assert [r.status_code for r in results] == [200, 200], [r.text for r in results]
    on_a = {x["id"]: x for x in a.get("/answers").json()["items"]}
    on_b = {x["id"]: x for x in b.get("/answers").json()["items"]}
    for listing in (on_a, on_b):
        assert listing[first["id"]]["question"] == "物业费能涨吗"
        assert listing[second["id"]]["question"] == "路灯坏了"
        assert listing[first["id"]]["version"] == 2


def test_the_same_entry_edited_from_the_same_version_gives_one_clerk_409(two_hosts):
    a, b = two_hosts
    entry = a.post("/answers", json=ANSWER).json()
    ok = a.put(f"/answers/{entry['id']}", json={"question": "A的修改", "version": entry["version"]})
    assert ok.status_code == 200
    stale = b.put(f"/answers/{entry['id']}", json={"question": "B的修改", "version": entry["version"]})
    assert stale.status_code == 409
    assert "changed by someone else" in stale.json()["detail"]
    assert b.get(f"/answers/{entry['id']}").json()["question"] == "A的修改"  # nothing overwritten


def test_the_same_answer_added_on_both_hosts_is_kept_once(two_hosts):
    a, b = two_hosts
    assert a.post("/answers", json=ANSWER).status_code == 201
    again = b.post("/answers", json={**ANSWER, "question": "另一种问法"})
    assert again.status_code == 409 and "already in the library" in again.json()["detail"]
    assert len(b.get("/answers").json()["items"]) == 1


def test_every_change_leaves_an_audit_event_with_who_and_which_version(two_hosts):
    a, _ = two_hosts
    entry = a.post("/answers", json=ANSWER).json()
    a.put(f"/answers/{entry['id']}", json={"answer": ANSWER["answer"] + "详询12345。"})
    a.delete(f"/answers/{entry['id']}")
    with a.app.state.store.session() as s:
        events = s.scalars(select(Event).where(Event.kind.like("answer_%")).order_by(Event.id)).all()
    assert [(e.kind, e.data["version"]) for e in events] == [
        ("answer_added", 1),
        ("answer_edited", 2),
        ("answer_retired", 3),
    ]
    assert all(e.actor and e.actor.startswith("staff") for e in events), [e.actor for e in events]
    assert events[1].data["fields"] == ["answer"]


def test_an_existing_installations_answers_file_is_imported_once_on_first_start(db_settings, tmp_path):
    folder = retrieval_dir(db_settings.models_dir)
    folder.mkdir(parents=True, exist_ok=True)
    legacy = [
        {"id": "old-1", **ANSWER, "author": "王敏", "created_at": "2025-01-01T00:00:00+00:00"},
        {"id": "old-2", **OTHER, "created_at": "2025-01-02T00:00:00+00:00"},
    ]
    (folder / "answers.json").write_text(json.dumps({"answers": legacy}, ensure_ascii=False))
    settings = db_settings.model_copy(update={"answers_encoder": "none"})
    for _ in range(2):  # a restart imports nothing twice
        app = create_app(settings)
        with TestClient(app) as c:
            c.headers.update(auth(app, "staff"))
            items = c.get("/answers").json()["items"]
            assert sorted(x["id"] for x in items) == ["old-1", "old-2"]
            assert next(x for x in items if x["id"] == "old-1")["author"] == "王敏"
        app.state.store.dispose()


def test_a_stale_version_on_retire_is_refused(two_hosts):
    a, b = two_hosts
    entry = a.post("/answers", json=ANSWER).json()
    a.put(f"/answers/{entry['id']}", json={"question": "改过了"})
    refused = b.delete(f"/answers/{entry['id']}", params={"version": entry["version"]})
    assert refused.status_code == 409
    assert b.get(f"/answers/{entry['id']}").json()["retired"] is False
