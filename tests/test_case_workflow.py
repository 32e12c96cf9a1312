"""Issue 16, findings 3-6 over HTTP: no implicit labels, merging repeats (并单), re-routing that
redrafts and checks departments, out-of-scope drafts. SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import auth
from training.from_store import load_store_data
from triage.routing.out_of_scope import OutOfScopeDetector
from triage.store.clock import now
from triage.store.models import Event, Reply
from triage.textsim import rouge_l

WAGES = {"title": "公司拖欠工资", "body": "我们公司拖欠农民工工资三个月了，老板不接电话"}
UNSURE = {"title": "咨询一下", "body": "请问这个事情应该找谁？"}  # the model abstains (about 37 %)
LAWSUIT = {
    "title": "劳动纠纷",
    "body": "我和公司的劳动纠纷已经向法院起诉了，法院已经立案，请你们督促公司尽快支付工资。",
}
LAMP = "城南区锦绣花园12幢门口的路灯已经坏了两个星期，晚上一片漆黑，老人小孩出行很不安全，请尽快修复。"
GOOD = (
    "网友您好：您反映的公司拖欠工资问题已收悉。经核实，该公司拖欠12名员工3个月工资共计15万元。1月9日，"
    "市人社局劳动保障监察支队依据《保障农民工工资支付条例》第三十条向该公司下达限期整改指令书，要求其于1月20日前"
    "足额支付。如逾期未付，将依法处罚。联系电话0571-86523017。人社局 2025年1月10日"
)
ANSWER = {
    "department": "市场监管局",
    "question": "公司拖欠工资老板失联，企业经营状态怎么查",
    "answer": "经营者失联的，市场监管部门将核查其登记住所，无法联系的依法列入经营异常名录。",
    "keywords": ["拖欠工资", "老板失联"],
}


@pytest.fixture
def c(db_client):
    return db_client


_n = iter(range(1, 1000))


def submit(c, petition=WAGES, **extra) -> dict:
    r = c.post("/cases", json={"external_id": f"W-{next(_n)}", **petition, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def send(c, case_id, text=GOOD, **extra):
    return c.post(f"/cases/{case_id}/reply", json={"text": text, "send": True, **extra})


def events(c, case_id) -> list[dict]:
    return c.get(f"/cases/{case_id}").json()["history"]


def count(c, model) -> int:
    with c.app.state.store.session() as s:
        return s.scalar(select(func.count()).select_from(model))


# -- 3. no implicit labels -------------------------------------------------------------------------


def test_a_reply_on_an_abstained_case_waits_for_an_explicit_routing_decision(c):
    case = submit(c, UNSURE)
    assert case["routing"]["abstain"] is True
    shown = round(case["routing"]["confidence"] * 100)
    r = send(c, case["id"])
    assert r.status_code == 409
    assert r.json()["detail"] == (
        f"case {case['id']} is waiting for a routing decision (abstained at {shown} %): "
        "accept or override the department first"
    )
    stored = c.get(f"/cases/{case['id']}").json()
    assert stored["status"] == "new" and stored["routing"]["state"] == "suggested"
    assert not [e for e in stored["history"] if e["kind"] in ("routing_accepted", "reply_sent")]
    draft = c.post(f"/cases/{case['id']}/reply", json={"text": GOOD, "send": False})
    assert draft.status_code == 200 and draft.json()["kind"] == "draft"  # a draft is still saved

    assert c.post(f"/cases/{case['id']}/routing", json={"action": "accept"}).status_code == 200
    r = send(c, case["id"], confirm_reason="电话已沟通，书面确认")
    assert r.status_code == 200 and r.json()["sent"] is True
    accepted = [e for e in events(c, case["id"]) if e["kind"] == "routing_accepted"]
    assert len(accepted) == 1 and "implicit" not in accepted[0]["data"]


def test_out_of_scope_and_returned_cases_name_what_they_wait_for(c):
    lawsuit = submit(c, LAWSUIT)
    assert lawsuit["routing"]["abstain"] is False and lawsuit["routing"]["out_of_scope"]["reason"] == "诉讼"
    r = send(c, lawsuit["id"])
    assert r.status_code == 409 and "(out of scope: 诉讼)" in r.json()["detail"]

    returned = submit(c)
    c.post(f"/cases/{returned['id']}/return", json={"reason": "不属本局职责"})
    r = send(c, returned["id"])
    assert r.status_code == 409
    assert "(returned by 人社局): choose the department (override) first" in r.json()["detail"]


def test_implicit_accepts_are_marked_and_never_become_training_labels(c):
    implicit = submit(c)
    explicit = submit(c)
    overridden = submit(c)
    untouched = submit(c)
    assert send(c, implicit["id"]).json()["sent"] is True  # confident: the send accepts implicitly
    c.post(f"/cases/{explicit['id']}/routing", json={"action": "accept"})
    assert send(c, explicit["id"]).json()["sent"] is True
    c.post(
        f"/cases/{overridden['id']}/routing",
        json={"action": "override", "department": "市场监管局", "reason": "企业已注销"},
    )
    marked = [e for e in events(c, implicit["id"]) if e["kind"] == "routing_accepted"]
    assert marked[0]["data"] == {"department": "人社局", "implicit": True}

    loaded = load_store_data(c.app.state.store)
    assert loaded.data.rows == [explicit["id"], overridden["id"]]
    assert loaded.data.labels == ["人社局", "市场监管局"]
    assert untouched["id"] not in loaded.data.rows
    counts = loaded.counts
    assert (counts["explicit_accept"], counts["explicit_override"]) == (1, 1)
    assert (counts["left_out_implicit"], counts["left_out_undecided"], counts["store"]) == (1, 1, 2)


# -- 4. duplicates shown and merged (并单) ------------------------------------------------------------


def _pair(c) -> tuple[dict, dict]:
    first = submit(c, {"title": "路灯坏了", "body": LAMP})
    again = submit(c, {"title": "路灯还是坏的", "body": LAMP + "再次反映！"})
    assert again["possible_duplicate"]["case_id"] == first["id"]
    return first, again


def test_queue_items_and_the_case_carry_the_possible_duplicate(c):
    first, again = _pair(c)
    items = {i["id"]: i for i in c.get("/cases").json()["items"]}
    assert items[again["id"]]["possible_duplicate"] == again["possible_duplicate"]
    assert items[first["id"]]["possible_duplicate"] is None
    assert c.get(f"/cases/{again['id']}").json()["possible_duplicate"]["case_id"] == first["id"]


def test_merge_one_reply_answers_every_merged_petition_and_stats_count_them(c):
    main, repeat = _pair(c)
    c.post(
        f"/cases/{main['id']}/routing", json={"action": "override", "department": "城管局", "reason": "路灯"}
    )
    r = c.post(f"/cases/{repeat['id']}/merge", json={"into": main["id"], "version": repeat["version"]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "merged" and r.json()["merged_into"] == main["id"]
    assert repeat["id"] not in {i["id"] for i in c.get("/cases", params={"status": "open"}).json()["items"]}
    listed = c.get("/cases", params={"status": "merged"}).json()["items"]
    assert [i["id"] for i in listed] == [repeat["id"]] and listed[0]["merged_into"] == main["id"]
    shown = c.get(f"/cases/{main['id']}").json()
    assert [(m["id"], m["external_id"]) for m in shown["merged"]] == [(repeat["id"], repeat["external_id"])]
    assert shown["history"][-1]["kind"] == "merge_received"
    assert events(c, repeat["id"])[-1]["data"]["into"] == main["id"]
    # a merged petition is answered through its main case only
    assert send(c, repeat["id"]).status_code == 409
    assert c.post(f"/cases/{repeat['id']}/routing", json={"action": "accept"}).status_code == 409

    reply = "网友您好：经核实，锦绣花园12幢门口路灯线路老化。城南区综合执法局已于3月5日更换线路，路灯已恢复照明。联系电话0571-86571001。"
    r = send(c, main["id"], text=reply, confirm_reason="现场已修复")
    assert r.status_code == 200 and r.json()["sent"] is True
    answered = c.get(f"/cases/{repeat['id']}").json()
    assert answered["status"] == "closed" and answered["reply"]["text"] == reply
    assert answered["external_id"] == repeat["external_id"] and answered["merged_into"] == main["id"]
    assert (
        answered["history"][-1]["kind"] == "reply_sent"
        and answered["history"][-1]["data"]["via_case"] == main["id"]
    )
    assert events(c, main["id"])[-1]["data"]["merged_cases"] == [repeat["id"]]
    stats = c.get("/stats").json()
    assert stats["petitions"] == {"received": 2, "merged": 1, "merged_waiting": 0, "replies_sent": 2}
    row = next(d for d in stats["departments"] if d["department"] == "城管局")
    assert row["merged"] == 1 and row["closed"] == 2
    r = c.post(f"/cases/{repeat['id']}/unmerge")
    assert r.status_code == 409 and "cannot be unmerged" in r.json()["detail"]


def test_unmerge_puts_the_petition_back_as_it_was(c):
    main, repeat = _pair(c)
    c.post(f"/cases/{repeat['id']}/merge", json={"into": main["id"]})
    r = c.post(f"/cases/{repeat['id']}/unmerge", json={})
    assert r.status_code == 200 and r.json()["status"] == "new" and r.json()["merged_into"] is None
    assert c.get(f"/cases/{main['id']}").json()["merged"] == []
    assert [e["kind"] for e in events(c, main["id"])][-2:] == ["merge_received", "merge_undone"]
    assert c.get("/stats").json()["petitions"]["merged"] == 0
    again = c.post(f"/cases/{repeat['id']}/unmerge")
    assert again.status_code == 409 and "is not merged" in again.json()["detail"]


@pytest.mark.parametrize(
    "setup,status,message",
    [
        ("itself", 422, "cannot be merged into itself"),
        ("missing", 404, "into: no case with id 99999"),
        ("main_closed", 409, "is closed: merge into an open case"),
        ("repeat_closed", 409, "a case already answered cannot be merged"),
        ("main_merged", 409, "is itself merged into case"),
        ("already_merged", 409, "is already merged into case"),
        ("has_children", 409, "has petitions merged into it"),
        ("reverse", 409, "has petitions merged into it"),
    ],
)
def test_bad_merges_are_refused_and_change_nothing(c, setup, status, message):
    a, b, third = submit(c), submit(c), submit(c)
    repeat, into = b["id"], a["id"]
    if setup == "itself":
        into = repeat
    elif setup == "missing":
        into = 99999
    elif setup == "main_closed":
        send(c, a["id"])
    elif setup == "repeat_closed":
        send(c, b["id"])
    elif setup == "main_merged":
        c.post(f"/cases/{a['id']}/merge", json={"into": third["id"]})
    elif setup == "already_merged":
        c.post(f"/cases/{b['id']}/merge", json={"into": third["id"]})
    elif setup == "has_children":
        c.post(f"/cases/{third['id']}/merge", json={"into": b["id"]})
    elif setup == "reverse":  # a merged into b; then b into a
        c.post(f"/cases/{a['id']}/merge", json={"into": b["id"]})
    before = (c.get(f"/cases/{repeat}").json(), count(c, Event))
    r = c.post(f"/cases/{repeat}/merge", json={"into": into})
    assert r.status_code == status and message in r.json()["detail"], r.text
    after = c.get(f"/cases/{repeat}").json()
    assert (after["status"], after["merged_into"], after["version"]) == (
        before[0]["status"],
        before[0]["merged_into"],
        before[0]["version"],
    )
    assert count(c, Event) == before[1]


def test_merge_of_an_unknown_case_is_404_and_a_platform_key_may_not_merge(c):
    a = submit(c)
    r = c.post("/cases/99999/merge", json={"into": a["id"]})
    assert r.status_code == 404 and "no case with id 99999" in r.json()["detail"]
    platform = {"Authorization": f"Bearer {_key(c, 'platform')}"}
    assert c.post(f"/cases/{a['id']}/merge", json={"into": a["id"]}, headers=platform).status_code == 403
    staff = {"Authorization": f"Bearer {_key(c, 'staff')}"}
    b = submit(c)
    assert c.post(f"/cases/{b['id']}/merge", json={"into": a["id"]}, headers=staff).status_code == 200


def _key(c, role: str) -> str:
    return auth(c.app, role)["Authorization"].removeprefix("Bearer ")


# -- 5. routing edits that stay consistent ---------------------------------------------------------


def test_an_override_redrafts_for_the_new_department_with_its_curated_answer(c):
    answer = c.post("/answers", json=ANSWER)
    assert answer.status_code == 201, answer.text
    case = submit(c)
    assert all(s["id"] != answer.json()["id"] for s in case["draft"]["sources"])
    r = c.post(
        f"/cases/{case['id']}/routing",
        json={"action": "override", "department": "市场监管局", "reason": "老板失联，核查经营主体"},
    )
    assert r.status_code == 200
    draft = r.json()["draft"]
    assert any(
        s["kind"] == "manual" and s["id"] == answer.json()["id"] and s["department"] == "市场监管局"
        for s in draft["sources"]
    ), draft
    assert "经营异常名录" in draft["text"]
    assert r.json()["history"][-1]["data"]["department"] == "市场监管局"
    with c.app.state.store.session() as s:  # the first draft stays on the record
        kinds = s.scalars(select(Reply.kind).where(Reply.case_id == case["id"])).all()
    assert kinds.count("suggested") == 2


def test_a_return_redrafts_without_the_returning_departments_answers(c):
    case = submit(c)
    r = c.post(f"/cases/{case['id']}/return", json={"reason": "不属本局职责"})
    assert r.status_code == 200
    redrafted = [e for e in r.json()["history"] if e["kind"] == "draft_suggested"]
    assert len(redrafted) == 2 and redrafted[-1]["data"]["department"] is None


@pytest.mark.parametrize(
    "path,body",
    [
        ("routing", {"action": "override", "department": "燃气集团", "reason": "燃气"}),
        ("return", {"reason": "不是我们的", "department": "燃气集团"}),
    ],
)
def test_departments_outside_the_routing_table_are_refused(c, path, body):
    case = submit(c)
    r = c.post(f"/cases/{case['id']}/{path}", json=body)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "unknown department '燃气集团'" in detail and "人社局" in detail and "住建局" in detail
    after = c.get(f"/cases/{case['id']}").json()
    assert after["version"] == case["version"] and after["department"] == "人社局"


def test_a_former_department_name_follows_the_table_to_the_current_one(c):
    case = submit(c)
    r = c.post(
        f"/cases/{case['id']}/routing",
        json={"action": "override", "department": "卫计委", "reason": "医疗机构欠薪"},
    )
    assert r.status_code == 200 and r.json()["department"] == "卫健委"


# -- 6. out of scope fully shown -------------------------------------------------------------------


def test_an_out_of_scope_case_suggests_its_reply_template(c):
    case = submit(c, LAWSUIT)
    oos = case["routing"]["out_of_scope"]
    assert oos["evidence"] and case["draft"]["text"] == oos["template"]
    assert case["draft"]["tier"] == "out_of_scope" and case["draft"]["sources"] == []
    c.post(f"/cases/{case['id']}/routing", json={"action": "accept"})
    r = send(c, case["id"], text=oos["template"], confirm_reason="不属受理范围，告知诉讼渠道")
    assert r.status_code == 200 and r.json()["sent"] is True


@pytest.mark.parametrize(
    "body,reason",
    [
        ("我要对市场监管局的处罚决定申请行政复议", "行政复议"),
        ("我对城管的罚款不服，要求复议", "行政复议"),
        ("复议申请已经提交了，一直没有消息", "行政复议"),
        ("我对区信访局的处理意见不服，申请复查", "信访程序"),
        ("对区人社局的信访答复不满意，请求复核", "信访程序"),
        ("我对区住建局的信访答复意见不服", "信访程序"),
    ],
)
def test_reconsideration_and_petition_review_requests_are_flagged(c, body, reason):
    case = submit(c, {"title": "申请", "body": body})
    assert case["routing"]["out_of_scope"]["reason"] == reason
    assert case["draft"]["text"] == case["routing"]["out_of_scope"]["template"]


@pytest.mark.parametrize(
    "text",
    [
        "我之前去信访局反映过小区噪音问题，一直没解决",
        "小区噪音扰民，多次信访无果，请尽快处理",
        "信访局的工作人员态度很差，请处理",
        "我想问一下怎么申请行政复议",
        "行政复议申请去哪里交",
        "医院要求复查，但是挂不上号",
        "孩子中考成绩有问题，申请复核分数",
    ],
)
def test_ordinary_petitions_mentioning_these_words_are_not_flagged(text):
    assert OutOfScopeDetector.from_file().detect(text) is None


def test_the_migration_copies_existing_duplicate_links_onto_the_cases(db_url):
    """A store created before 0004: its suggestions' possible_duplicate reach the queue after upgrade."""
    import json

    from alembic import command
    from sqlalchemy import create_engine, text

    from triage.store.engine import alembic_config

    engine = create_engine(db_url)
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
        stamp = "2026-12-01 09:00:00"
        for case_id in (1, 2):
            conn.execute(
                text(
                    "INSERT INTO cases (id, external_id, title, body, received_at, status, due_at, abstain,"
                    " manual_queue, routing_state, returns, created_at, updated_at, version)"
                    " VALUES (:id, :ext, 't', 'b', :t, 'new', :t, false, false, 'suggested', 0, :t, :t, 1)"
                ),
                {"id": case_id, "ext": f"OLD-{case_id}", "t": stamp},
            )
        link = {"possible_duplicate": {"case_id": 1, "similarity": 0.93}}
        for case_id, details in ((1, {}), (2, link)):
            conn.execute(
                text(
                    "INSERT INTO routings (case_id, kind, details, created_at)"
                    " VALUES (:id, 'suggestion', :details, :t)"
                ),
                {"id": case_id, "details": json.dumps(details), "t": stamp},
            )
        conn.commit()
        command.upgrade(cfg, "head")
        conn.commit()
        rows = conn.execute(
            text("SELECT id, duplicate_of, duplicate_similarity, merged_into FROM cases ORDER BY id")
        )
        assert [tuple(r) for r in rows] == [(1, None, None, None), (2, 1, 0.93, None)]
    engine.dispose()


def test_the_written_cue_sample_is_flagged_with_the_right_reason_and_its_near_misses_are_not():
    import csv
    from pathlib import Path

    detector = OutOfScopeDetector.from_file()
    with (Path(__file__).parent / "data" / "out_of_scope_cues.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    wrong = [
        (r["id"], got)
        for r in rows
        if (got := (d.reason if (d := detector.detect(r["title"] + "。" + r["body"])) else ""))
        != r["expected"]
    ]
    assert len(rows) == 24 and wrong == []


def test_a_reply_with_an_unfilled_slot_is_never_sent_even_with_a_reason(c):
    """The page stops it before the call; the API refuses it too (a script, another client), and
    no reason overrides it: the citizen would read 【核查结果】. Saving the draft is fine."""
    case = submit(c)
    skeleton = "网友您好：经核实，【核查结果】。目前，【办理情况】。如有疑问，请拨打【联系电话】咨询。"
    for extra in ({}, {"confirm_reason": "电话已沟通，书面确认"}):
        r = send(c, case["id"], text=skeleton, **extra)
        assert r.status_code == 422, r.text
        message = r.json()["detail"]["message"]
        assert "3 unfilled slot(s) 【核查结果】、【办理情况】、【联系电话】" in message
    stored = c.get(f"/cases/{case['id']}").json()
    assert stored["status"] != "closed" and stored["reply"] is None
    saved = c.post(f"/cases/{case['id']}/reply", json={"text": skeleton, "send": False})
    assert saved.status_code == 200 and saved.json()["kind"] == "draft"
    # an official reply's own brackets are no blanks: 38 of the public board's 2,252 replies cite
    # documents so (长政发【2018】5号)
    cited = GOOD.replace("第三十条", "第三十条及长政发【2018】5号文件")
    r = send(c, case["id"], text=cited)
    assert r.status_code == 200 and r.json()["sent"] is True, r.text


def test_a_draft_used_days_after_intake_is_dated_the_day_it_is_used(c):
    """The draft is made at intake and dated then; a clerk who answered two days later sent the
    citizen a reply dated two days before it was written."""

    def written(day) -> str:
        return f"{day.year}年{day.month}月{day.day}日"

    case = submit(c)
    drafted = c.get(f"/cases/{case['id']}").json()["draft"]["text"]
    today = now().date()
    assert drafted.endswith(written(today)), drafted
    with c.app.state.store.session(write=True) as s:  # as if it had been drafted two days ago
        row = s.scalars(select(Reply).where(Reply.case_id == case["id"], Reply.kind == "suggested")).one()
        row.created_at -= timedelta(days=2)
        row.text = row.text.removesuffix(written(today)) + written(today - timedelta(days=2))
    assert c.get(f"/cases/{case['id']}").json()["draft"]["text"] == drafted  # dated today again
    # what the reply kept of the draft is measured against the draft as shown
    reply = drafted.replace("【", "").replace("】", "")
    assert send(c, case["id"], text=reply, confirm_reason="试用").status_code == 200
    assert c.get(f"/cases/{case['id']}").json()["reply"]["draft_retention"] == round(
        rouge_l(reply, drafted), 4
    )
