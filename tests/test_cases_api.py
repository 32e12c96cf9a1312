"""The case workflow over HTTP, on SQLite and (when TRIAGE_TEST_POSTGRES_URL is set) PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from tests.cases_fixtures import routing_decided
from tests.conftest import auth
from triage.settings import Settings
from triage.store.models import Case, Event, Reply, Routing

PETITION = {"title": "公司拖欠工资", "body": "我们公司拖欠农民工工资三个月了，老板不接电话"}
VAGUE = "您好，您的留言已收悉，我们高度重视，已转相关部门处理。"
GOOD = (
    "网友您好：您反映的公司拖欠工资问题已收悉。经核实，该公司拖欠12名员工3个月工资共计15万元。1月9日，"
    "市人社局劳动保障监察支队依据《保障农民工工资支付条例》第三十条向该公司下达限期整改指令书，要求其于1月20日前"
    "足额支付。如逾期未付，将依法处罚。联系电话0571-86523017。人社局 2025年1月10日"
)


@pytest.fixture
def c(db_client):
    """The admin client on both databases (its app carries the real quality checker)."""
    return db_client


def _submit(c, external_id="EXT-1", **extra):
    r = c.post("/cases", json={"external_id": external_id, **PETITION, **extra})
    assert r.status_code in (200, 201), r.text
    return r.json()


def _count(c, model) -> int:
    with c.app.state.store.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_submit_returns_the_documented_fields_and_is_idempotent(c):
    r = c.post(
        "/cases", json={"external_id": "EXT-1", **PETITION, "channel": "12345热线", "request_type": "求助"}
    )
    assert r.status_code == 201
    data = r.json()
    assert {"id", "status", "deadline", "routing", "draft"} <= set(data)
    assert {"label", "department", "confidence", "abstain"} <= set(data["routing"])
    assert {"text", "tier", "sources"} <= set(data["draft"])
    assert data["status"] == "new" and data["routing"]["label"] == "人社局" and data["created"] is True
    assert data["routing"]["model_version"] == c.get("/models").json()["live"]
    assert datetime.fromisoformat(data["deadline"]) > datetime.fromisoformat(
        c.get(f"/cases/{data['id']}").json()["received_at"]
    )
    again = c.post("/cases", json={"external_id": "EXT-1", "title": "另一个标题", "body": "完全不同"})
    assert again.status_code == 200 and again.json()["id"] == data["id"] and again.json()["created"] is False
    assert _count(c, Case) == 1


def test_every_suggestion_shown_is_stored_with_the_model_version(c):
    data = _submit(c)
    with c.app.state.store.session() as s:
        suggestion = s.scalar(select(Routing).where(Routing.case_id == data["id"]))
        assert (
            suggestion.kind == "suggestion" and suggestion.model_version == data["routing"]["model_version"]
        )
        assert suggestion.details["top_k"][0]["label"] == data["routing"]["label"]
        kinds = [e.kind for e in s.scalars(select(Event).where(Event.case_id == data["id"]))]
    assert kinds[:2] == ["created", "routing_suggested"]
    if data["draft"]["text"]:  # a drafter is wired: its draft was stored as shown
        assert "draft_suggested" in kinds


def test_received_at_with_an_offset_and_request_type_set_the_deadline(c):
    # Monday 2025-03-03 09:00 in Beijing, sent as UTC; 咨询 is due in 3 working days: Thursday
    data = _submit(c, received_at="2025-03-03T01:00:00Z", request_type="咨询")
    detail = c.get(f"/cases/{data['id']}").json()
    assert detail["received_at"] == "2025-03-03T09:00:00+08:00"
    assert data["deadline"].startswith("2025-03-06")
    assert detail["overdue"] is True and detail["hours_left"] < 0


@pytest.mark.parametrize(
    "body,status,message",
    [
        ({"external_id": "X", "title": " ", "body": ""}, 422, "empty"),
        ({"title": "t", "body": "b"}, 422, "external_id"),
        ({"external_id": "   ", "title": "t"}, 422, "blank"),
        ({"external_id": "X", "title": "长", "body": "很" * 20_001}, 413, "limit"),
        ({"external_id": "X", "title": "t", "received_at": "yesterday"}, 422, "received_at"),
    ],
)
def test_bad_submissions_name_the_problem_and_store_nothing(c, body, status, message):
    r = c.post("/cases", json=body)
    assert r.status_code == status
    assert message in str(r.json()["detail"])
    assert _count(c, Case) == 0


def test_unknown_case_is_404_everywhere(c):
    assert c.get("/cases/999").status_code == 404
    assert c.post("/cases/999/routing", json={"action": "accept"}).status_code == 404
    assert c.post("/cases/999/reply", json={"text": GOOD}).status_code == 404
    r = c.post("/cases/999/return", json={"reason": "不是我们的"})
    assert r.status_code == 404 and "no case with id 999" in r.json()["detail"]


def test_accept_and_override(c):
    a = _submit(c, "A")
    b = _submit(c, "B")
    r = c.post(f"/cases/{a['id']}/routing", json={"action": "accept"})
    assert (
        r.status_code == 200
        and r.json()["routing"]["state"] == "accepted"
        and r.json()["status"] == "assigned"
    )
    r = c.post(f"/cases/{b['id']}/routing", json={"action": "override", "department": "市场监管局"})
    assert r.status_code == 422 and "reason" in r.json()["detail"]
    r = c.post(f"/cases/{b['id']}/routing", json={"action": "maybe"})
    assert r.status_code == 422
    r = c.post(
        f"/cases/{b['id']}/routing",
        json={"action": "override", "department": "市场监管局", "reason": "涉及商户"},
    )
    body = r.json()
    assert (
        body["routing"]["department"] == "市场监管局" and body["routing"]["suggested_department"] == "人社局"
    )
    overridden = [e for e in body["history"] if e["kind"] == "routing_overridden"][-1]
    assert overridden["actor"].startswith("admin:") and overridden["data"]["reason"] == "涉及商户"
    assert body["history"][-1]["kind"] == "draft_suggested"  # redrafted for the new department


def test_reply_flow_quality_check_refuses_vague_then_sends_and_closes(c):
    case = _submit(c)
    draft = c.post(f"/cases/{case['id']}/reply", json={"text": VAGUE, "send": False})
    assert draft.status_code == 200 and draft.json()["sent"] is False
    assert draft.json()["qc"]["verdict"] == "revise" and draft.json()["qc"]["flags"]
    refused = c.post(f"/cases/{case['id']}/reply", json={"text": VAGUE, "send": True})
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    assert (
        detail["flags"]
        and {"code", "message", "evidence"} <= set(detail["flags"][0])
        and "confirm_reason" in detail["message"]
    )
    assert c.get(f"/cases/{case['id']}").json()["status"] != "closed"
    sent = c.post(f"/cases/{case['id']}/reply", json={"text": GOOD, "send": True})
    assert sent.status_code == 200 and sent.json()["sent"] is True and sent.json()["qc"]["verdict"] == "ok"
    detail = c.get(f"/cases/{case['id']}").json()
    assert detail["status"] == "closed" and detail["reply"]["text"] == GOOD and detail["hours_left"] is None
    kinds = [e["kind"] for e in detail["history"]]
    assert kinds.index("draft_saved") < kinds.index("reply_refused") < kinds.index("reply_sent")
    again = c.post(f"/cases/{case['id']}/reply", json={"text": GOOD, "send": True})
    assert again.status_code == 409 and "closed" in again.json()["detail"]


def test_a_flagged_reply_goes_out_when_the_clerk_confirms_with_a_reason(c):
    case = _submit(c)
    r = c.post(
        f"/cases/{case['id']}/reply",
        json={"text": VAGUE, "send": True, "confirm_reason": "已电话答复，书面简短"},
    )
    assert r.status_code == 200 and r.json()["sent"] is True and r.json()["qc"]["verdict"] == "revise"
    stats = {d["department"]: d for d in c.get("/stats").json()["departments"]}
    assert stats["人社局"]["revise_share"] == 1.0


def test_return_records_a_hard_negative_and_needs_rerouting(c):
    case = _submit(c)
    r = c.post(f"/cases/{case['id']}/return", json={"reason": "不属于我局职责，应由市场监管局处理"})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "returned" and body["manual_queue"] is True and body["department"] is None
    assert body["routing"]["returned_by"][0]["department"] == "人社局"
    assert c.post(f"/cases/{case['id']}/reply", json={"text": GOOD, "send": True}).status_code == 409
    assert c.post(f"/cases/{case['id']}/routing", json={"action": "accept"}).status_code == 422
    assert c.get("/cases", params={"abstained": True}).json()["total"] == 1
    r = c.post(
        f"/cases/{case['id']}/routing",
        json={"action": "override", "department": "市场监管局", "reason": "退单改派"},
    )
    assert r.json()["status"] == "assigned"
    assert c.post(f"/cases/{case['id']}/return", json={"reason": ""}).status_code == 422


def test_stale_version_is_409_and_nothing_is_lost(c):
    case = _submit(c)
    v = case["version"]
    assert c.post(f"/cases/{case['id']}/reply", json={"text": GOOD, "version": v}).status_code == 200
    r = c.post(
        f"/cases/{case['id']}/routing",
        json={"action": "override", "department": "民政局", "reason": "x", "version": v},
    )
    assert r.status_code == 409 and "changed since you read it" in r.json()["detail"]
    detail = c.get(f"/cases/{case['id']}").json()
    assert detail["department"] == "人社局" and detail["latest_reply"]["text"] == GOOD


def test_concurrent_updates_to_one_case_lose_nothing(c):
    """Eight clerks save at once from the same version: one wins, the others get 409, none vanish."""
    case = _submit(c)
    version = case["version"]
    results: list[int] = []

    def save(i: int) -> None:
        r = c.post(f"/cases/{case['id']}/reply", json={"text": f"草稿 {i}", "version": version})
        results.append(r.status_code)

    threads = [threading.Thread(target=save, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] + [409] * 7
    with c.app.state.store.session() as s:
        drafts = s.scalars(select(Reply).where(Reply.case_id == case["id"], Reply.kind == "draft")).all()
    assert len(drafts) == 1
    assert c.get(f"/cases/{case['id']}").json()["version"] == version + 1


def test_concurrent_duplicate_submissions_store_one_case(c):
    codes: list[int] = []
    ids: set[int] = set()

    def submit() -> None:
        r = c.post("/cases", json={"external_id": "DUP", **PETITION})
        codes.append(r.status_code)
        ids.add(r.json()["id"])

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes.count(201) == 1 and codes.count(200) == 5 and len(ids) == 1
    assert _count(c, Case) == 1


def test_queue_filters_pagination_and_search(c):
    for i in range(5):
        _submit(c, f"Q{i}")
    _submit(c, "OLD", received_at="2024-01-02T09:00:00+08:00", title="路灯坏了", body="小区门口路灯不亮")
    page = c.get("/cases", params={"limit": 2}).json()
    assert page["total"] == 6 and len(page["items"]) == 2 and page["items"][0]["external_id"] == "OLD"
    assert page["items"][0]["overdue"] is True
    second = c.get("/cases", params={"limit": 2, "offset": 2}).json()["items"]
    assert {i["id"] for i in second}.isdisjoint({i["id"] for i in page["items"]})
    assert c.get("/cases", params={"overdue": True}).json()["total"] == 1
    assert c.get("/cases", params={"q": "路灯"}).json()["items"][0]["external_id"] == "OLD"
    assert c.get("/cases", params={"department": "人社局"}).json()["total"] >= 5
    assert c.get("/cases", params={"status": "closed"}).json()["total"] == 0
    assert c.get("/cases", params={"status": "open"}).json()["total"] == 6
    bad = c.get("/cases", params={"status": "finished"})
    assert bad.status_code == 422 and "unknown status" in bad.json()["detail"]
    assert c.get("/cases", params={"limit": 0}).status_code == 422


def test_search_finds_a_petition_in_either_script(c):
    """Petitions arrive in Simplified and Traditional; a clerk typing 电梯 found none of the 電梯 ones
    (and the other way round), on both databases and through the trigram index as through LIKE."""
    _submit(
        c, "TW", title="雙溪苑小區電梯又壞了", body="我住在城東區雙溪苑小區3棟18樓，電梯這個月已經壞了三次。"
    )
    _submit(c, "CN", title="锦绣花园电梯困人", body="城南区锦绣花园5幢电梯昨天困人半小时，物业来得很慢。")
    _submit(c, "OTHER", title="路灯坏了", body="小区门口路灯不亮")

    def found(q: str) -> set[str]:
        return {i["external_id"] for i in c.get("/cases", params={"q": q}).json()["items"]}

    assert found("电梯") == found("電梯") == {"TW", "CN"}
    assert found("双溪苑小区") == found("雙溪苑小區") == {"TW"}  # five characters: the trigram path
    assert found("锦绣花园") == found("錦繡花園") == {"CN"}
    assert found("TW") == {"TW"}  # a platform id is still matched as written


def test_stats_follow_the_work(c):
    a, b = _submit(c, "A"), _submit(c, "B")
    c.post(
        f"/cases/{b['id']}/routing", json={"action": "override", "department": "市场监管局", "reason": "商户"}
    )
    c.post(f"/cases/{a['id']}/reply", json={"text": GOOD, "send": True})
    c.post(f"/cases/{b['id']}/reply", json={"text": GOOD, "send": True})
    rows = {d["department"]: d for d in c.get("/stats").json()["departments"]}
    assert set(rows["人社局"]) >= {
        "department",
        "volume",
        "overdue",
        "median_hours_to_reply",
        "unchanged_share",
        "revise_share",
    }
    assert (
        rows["人社局"]["volume"] == 1
        and rows["人社局"]["unchanged_share"] == 1.0
        and rows["人社局"]["revise_share"] == 0.0
    )
    assert rows["市场监管局"]["unchanged_share"] == 0.0
    assert rows["人社局"]["median_hours_to_reply"] >= 0


def test_a_failure_mid_request_writes_nothing(c, monkeypatch):
    import triage.store.repository as repo

    real = repo._event

    def failing(session, case, kind, *args, **kwargs):
        if kind == "routing_suggested":
            raise RuntimeError("disk full")
        return real(session, case, kind, *args, **kwargs)

    monkeypatch.setattr(repo, "_event", failing)
    with TestClient(c.app, raise_server_exceptions=False) as raw:
        raw.headers.update(c.headers)
        assert raw.post("/cases", json={"external_id": "HALF", **PETITION}).status_code == 500
    monkeypatch.setattr(repo, "_event", real)
    assert _count(c, Case) == 0 and _count(c, Routing) == 0 and _count(c, Event) == 0


def test_database_unreachable_is_503_with_a_message(models_dir):
    settings = Settings(
        models_dir=models_dir,
        database_url="postgresql+psycopg://postgres@127.0.0.1:1/none",
        model_check_seconds=0.0,
    )
    with TestClient(create_app(settings)) as c:
        r = c.post(
            "/cases", json={"external_id": "X", **PETITION}, headers={"Authorization": "Bearer tk_a_b"}
        )
        assert r.status_code == 503 and "database unavailable" in r.json()["detail"]
        health = c.get("/health").json()
        assert health["database"]["status"] == "unavailable" and health["model"]["status"] == "ok"


def test_database_locked_by_another_process_is_503_and_nothing_half_written(settings):
    """SQLite held exclusively by another process past the timeout: a clean 503, the case unchanged."""
    db_settings = settings
    app = create_app(db_settings)
    with TestClient(app) as c:
        c.headers.update(auth(app))
        case = _submit(c)
        app.state.store.dispose()
        db = db_settings.database_url.removeprefix("sqlite:///")
        blocker = __import__("sqlite3").connect(db, timeout=1)
        blocker.execute("BEGIN EXCLUSIVE")  # another process holds the database: writes cannot start
        app.state.store.write_engine.dispose()
        import sqlalchemy

        app.state.store._writer.configure(
            bind=sqlalchemy.create_engine(db_settings.database_url, connect_args={"timeout": 0.5})
        )
        r = c.post(f"/cases/{case['id']}/routing", json={"action": "accept"})
        blocker.rollback()
        blocker.close()
        assert r.status_code == 503 and "database unavailable" in r.json()["detail"]
        assert c.get(f"/cases/{case['id']}").json()["routing"]["state"] == "suggested"


def test_received_at_far_in_the_past_is_accepted_and_overdue(c):
    old = (datetime.now() - timedelta(days=60)).isoformat(timespec="seconds")
    data = _submit(c, received_at=old)
    assert c.get(f"/cases/{data['id']}").json()["overdue"] is True


def test_a_repeated_petition_is_linked_to_the_earlier_case(db_client):
    body = "城南区锦绣花园12幢门口的路灯已经坏了两个星期，晚上一片漆黑，老人小孩出行很不安全，请尽快修复。"
    first = db_client.post("/cases", json={"external_id": "dup-1", "title": "路灯坏了", "body": body})
    assert first.status_code == 201, first.text
    assert first.json()["possible_duplicate"] is None
    again = db_client.post(
        "/cases", json={"external_id": "dup-2", "title": "路灯还是坏的", "body": body + "再次反映！"}
    )
    assert again.status_code == 201
    link = again.json()["possible_duplicate"]
    assert link["case_id"] == first.json()["id"] and link["similarity"] >= 0.5
    shown = db_client.get(f"/cases/{again.json()['id']}").json()
    assert shown["possible_duplicate"]["case_id"] == first.json()["id"]
    other = db_client.post(
        "/cases",
        json={"external_id": "dup-3", "title": "拖欠工资", "body": "公司拖欠我们三个月工资，老板失联了。"},
    )
    assert other.json()["possible_duplicate"] is None


def test_a_shortened_repost_is_linked_to_the_earlier_case(db_client):
    """Found in a trial: the citizen posts again with a sentence dropped; nearly all of it is
    the first petition, yet it was not linked (Jaccard estimate under 0.5)."""
    first = db_client.post(
        "/cases",
        json={
            "external_id": "garage-1",
            "title": "地下车库积水",
            "body": "桂花园小区地下车库常年积水，一下雨水就漫到脚踝，业主的车泡在水里好几次了。"
            "物业说是排水泵坏了，报修了两年一直没人来修。车库里的电线也泡在水里，非常危险。"
            "请住建部门督促物业和开发商尽快修好排水设施，保障业主安全。",
        },
    )
    assert first.status_code == 201, first.text
    again = db_client.post(
        "/cases",
        json={
            "external_id": "garage-2",
            "title": "地下车库积水",
            "body": "桂花园小区地下车库常年积水，一下雨水就漫到脚踝，业主的车泡在水里好几次了。"
            "物业说是排水泵坏了，报修了两年一直没人来修。",
        },
    )
    assert again.status_code == 201
    assert again.json()["possible_duplicate"]["case_id"] == first.json()["id"]
    shown = db_client.get(f"/cases/{again.json()['id']}").json()
    assert shown["possible_duplicate"]["case_id"] == first.json()["id"]


def test_a_good_sent_reply_becomes_a_drafting_source_and_a_vague_one_does_not(c):
    good_case = routing_decided(c, _submit(c, "LEARN-1"), "人社局", "欠薪由人社局劳动监察处理")
    assert c.post(f"/cases/{good_case['id']}/reply", json={"text": GOOD, "send": True}).json()["sent"]
    vague_case = _submit(c, "LEARN-2", title="小区停车乱收费", body="物业在小区里乱收停车费，每月三百元")
    vague_case = routing_decided(c, vague_case, "住建局", "物业收费由住建局监管")
    sent = c.post(
        f"/cases/{vague_case['id']}/reply",
        json={"text": VAGUE, "send": True, "confirm_reason": "上级要求先答复"},
    )
    assert sent.json()["sent"] is True and sent.json()["qc"]["verdict"] == "revise"

    history = c.app.state.drafter.history
    learned = {hit.id for hit in history.search(PETITION["title"] + PETITION["body"], k=20)}
    assert f"case-{good_case['id']}" in learned
    parked = {hit.id for hit in history.search("小区停车乱收费 物业", k=20)}
    assert f"case-{vague_case['id']}" not in parked
    draft = c.post("/draft", json=PETITION).json()
    assert any(
        src["kind"] == "history" and src["id"] == f"case-{good_case['id']}" for src in draft["sources"]
    )
