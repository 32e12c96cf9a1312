"""The quality gate over HTTP (issue 16, finding 1): boilerplate is refused, a token confirm_reason is
a 422 naming the problem and stores nothing, a real reason sends the reply, and the supervisor's
list shows it with case, department, flags, reason, actor and time. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.cases_fixtures import routing_decided
from tests.conftest import auth
from triage.store.models import Reply

PETITION = {
    "title": "幸福里小区消防通道被私家车占用",
    "body": "城南区幸福里小区3号楼后面的消防通道长期被私家车占用，万一发生火灾消防车进不来。",
    "request_type": "投诉",
}
BOILERPLATE = "网友您好：您反映的幸福里小区消防通道被私家车占用的问题已收悉。我们高度重视，将进一步加强管理。"
GOOD = (
    "您好！经核实，幸福里小区3号楼后消防通道确有6辆私家车长期停放。城南区消防救援大队已于6月3日通知车主"
    "挪车，并在通道两端加装了隔离桩，6月5日复查时通道已畅通。"
)
REASON = "已电话联系群众说明处理情况，群众同意书面答复从简"


@pytest.fixture
def c(db_client):
    return db_client


def _case(c, external_id: str) -> dict:
    r = c.post("/cases", json={"external_id": external_id, **PETITION})
    assert r.status_code == 201, r.text
    case = r.json()
    routing_decided(c, case, "城管局", "消防通道由城管执法")  # a model that was unsure: a clerk decides first
    return case


def _replies(c) -> int:
    with c.app.state.store.session() as s:
        return s.scalar(select(func.count()).select_from(Reply).where(Reply.kind.in_(("final", "refused"))))


def test_check_flags_the_issues_reply_and_the_checklist_agrees(c):
    r = c.post("/check", json={"petition": PETITION, "reply": BOILERPLATE})
    data = r.json()
    assert r.status_code == 200 and data["verdict"] == "revise"
    assert "no_decision" in [f["code"] for f in data["flags"]]
    substance = next(i for i in data["checklist"] if i["item"] == "实质内容")
    assert substance == {**substance, "required": True, "present": False}
    good = c.post("/check", json={"petition": PETITION, "reply": GOOD}).json()
    assert good["verdict"] == "ok" and all(i["present"] for i in good["checklist"] if i["required"])


@pytest.mark.parametrize("token", ["1", "ok", "。。。", "好好好好好好好好"])
def test_a_token_reason_is_refused_with_422_and_nothing_is_stored(c, token):
    case = _case(c, "Q-TOKEN")
    before = _replies(c)
    r = c.post(
        f"/cases/{case['id']}/reply", json={"text": BOILERPLATE, "send": True, "confirm_reason": token}
    )
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail["field"] == "confirm_reason" and "confirm_reason" in detail["message"]
    assert "no_decision" in [f["code"] for f in detail["flags"]]
    assert _replies(c) == before
    assert c.get(f"/cases/{case['id']}").json()["status"] != "closed"


def test_a_real_reason_sends_and_the_supervisor_sees_it(c):
    case = _case(c, "Q-REASON")
    assert c.get("/stats/flagged-replies").json() == {"items": [], "total": 0, "limit": 50}
    r = c.post(
        f"/cases/{case['id']}/reply", json={"text": BOILERPLATE, "send": True, "confirm_reason": REASON}
    )
    assert r.status_code == 200 and r.json()["sent"] is True and r.json()["qc"]["verdict"] == "revise"
    listed = c.get("/stats/flagged-replies").json()
    assert listed["total"] == 1
    item = listed["items"][0]
    department = c.get(f"/cases/{case['id']}").json()["department"]
    assert item["case_id"] == case["id"] and item["department"] == department and department
    assert item["reason"] == REASON and "no_decision" in item["flags"] and item["actor"].startswith("admin:")
    assert item["at"] and item["title"] == PETITION["title"]
    # a good reply sent without flags is not listed
    other = _case(c, "Q-GOOD")
    assert c.post(f"/cases/{other['id']}/reply", json={"text": GOOD, "send": True}).json()["sent"] is True
    assert c.get("/stats/flagged-replies").json()["total"] == 1


def test_the_supervisor_list_is_for_staff_and_checks_its_limit(c):
    assert c.get("/stats/flagged-replies", params={"limit": 0}).status_code == 422
    assert c.get("/stats/flagged-replies", params={"limit": 201}).status_code == 422
    anon = c.get("/stats/flagged-replies", headers={"Authorization": ""})
    assert anon.status_code == 401
    staff = c.get("/stats/flagged-replies", headers=auth(c.app, "staff"))
    assert staff.status_code == 200
