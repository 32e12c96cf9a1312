"""The case workflow as a library (`app.state.service.cases`): a script that drives it gets what
the API shows a clerk, and the same refusals with the same words; both databases."""

from __future__ import annotations

import pytest

from tests.test_cases_api import GOOD, PETITION, VAGUE
from triage.casework import InvalidCaseInput, NewCase, ReplyRefused
from triage.store.repository import CaseNotFound

GAS_TRADITIONAL = NewCase(
    external_id="LIB-GAS",
    title="樓道瓦斯味",
    body="我們這棟樓的樓道裡瓦斯味很重，已經聞了半個小時，住戶都很害怕，請馬上派人來",
)


@pytest.fixture
def desk(db_client):
    return db_client.app.state.service.cases


def test_an_intake_through_the_desk_is_the_case_the_api_shows(db_client, desk):
    intake = desk.intake(GAS_TRADITIONAL, actor="script")
    assert intake.created is True
    view = intake.view
    shown = db_client.get(f"/cases/{view['id']}").json()
    assert shown["urgent"] and "燃气" in shown["urgent"]["reason"]  # an emergency, in the queue's words
    assert (view["deadline"], view["urgent"], view["routing"]["department"]) == (
        shown["deadline"],
        shown["urgent"],
        shown["department"],
    )
    assert shown["draft"]["text"] == view["draft"]["text"] != ""
    [created] = [e for e in shown["history"] if e["kind"] == "created"]
    assert created["actor"] == "script"

    over_http = db_client.post(
        "/cases", json={"external_id": "LIB-GAS", "title": "另一件事", "body": "完全不同的内容"}
    )
    assert over_http.status_code == 200 and over_http.json()["id"] == view["id"]
    again = desk.intake(GAS_TRADITIONAL, actor="script")
    assert again.created is False and again.view["id"] == view["id"] and "note" not in again.view


def test_the_desk_refuses_a_vague_reply_in_the_words_the_api_uses(db_client, desk):
    case_id = desk.intake(NewCase("LIB-1", PETITION["title"], PETITION["body"]), actor="script").view["id"]
    with pytest.raises(ReplyRefused) as refused:
        desk.reply(case_id, text=VAGUE, send=True, confirm_reason=None, actor="script", version=None)
    assert refused.value.status == 422 and refused.value.detail["verdict"] != "ok"
    assert refused.value.detail["flags"], "the clerk is told what to fix"
    over_http = db_client.post(f"/cases/{case_id}/reply", json={"text": VAGUE, "send": True})
    assert over_http.status_code == 422
    assert over_http.json()["detail"]["message"] == refused.value.detail["message"]
    assert db_client.get(f"/cases/{case_id}").json()["status"] != "closed"

    sent = desk.reply(case_id, text=GOOD, send=True, confirm_reason=None, actor="script", version=None)
    assert sent["sent"] is True and sent["status"] == "closed"
    assert db_client.get(f"/cases/{case_id}").json()["reply"]["text"] == GOOD


def test_an_unknown_department_is_refused_with_the_tables_departments(db_client, desk):
    case_id = desk.intake(NewCase("LIB-2", PETITION["title"], PETITION["body"]), actor="script").view["id"]
    with pytest.raises(InvalidCaseInput) as refused:
        desk.decide_routing(
            case_id, action="override", department="不存在局", reason="试试", actor="script", version=None
        )
    message = str(refused.value)
    assert message.startswith("department: unknown department '不存在局'") and "人社局" in message
    over_http = db_client.post(
        f"/cases/{case_id}/routing", json={"action": "override", "department": "不存在局", "reason": "试试"}
    )
    assert over_http.status_code == 422 and over_http.json()["detail"] == message
    with pytest.raises(CaseNotFound, match="into: no case with id 999999"):
        desk.merge(case_id, 999_999, actor="script", version=None)
