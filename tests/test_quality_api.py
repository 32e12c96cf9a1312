"""`POST /check` and `POST /check/batch` through the real app: results, limits and every bad input."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import auth

PETITION = {
    "title": "锦绣花园小区北门路灯不亮",
    "body": "城南区锦绣花园小区北门外的三盏路灯坏了一个多月，晚上很黑。请问什么时候能修好？",
}
GOOD = (
    "网友您好：您反映的锦绣花园北门路灯问题已收悉。经核实，北门外三盏路灯因地下电缆老化损坏。"
    "我局已于3月5日更换电缆，路灯已恢复照明。根据《临江市城市照明管理办法》第十二条，路灯故障应在"
    "7个工作日内修复。如再有问题，可拨打城管热线0571-86512345。临江市城市管理局 2025年3月6日"
)
VAGUE = "网友：您好！留言已收悉，已转相关部门调查处理。"


def test_check_returns_score_verdict_flags_elements(client):
    response = client.post("/check", json={"petition": PETITION, "reply": VAGUE})
    assert response.status_code == 200, response.text
    data = response.json()
    assert set(data) == {"score", "verdict", "flags", "elements", "checklist"}
    assert data["verdict"] == "revise" and data["score"] < 60
    assert "forwarded_only" in [f["code"] for f in data["flags"]]
    assert data["elements"]["称呼"] is True and data["elements"]["联系方式"] is False
    good = client.post("/check", json={"petition": PETITION, "reply": GOOD}).json()
    assert good["verdict"] == "ok" and good["flags"] == [] and all(good["elements"].values())


def test_check_uses_dates_and_request_type(client):
    payload = {
        "petition": {**PETITION, "received_at": "2025/3/3 9:00:00", "request_type": "咨询"},
        "reply": GOOD,
        "replied_at": "2025-03-07T09:00:00",
    }
    data = client.post("/check", json=payload).json()
    assert [f["code"] for f in data["flags"]] == ["late"]
    assert "4 个工作日" in data["flags"][0]["evidence"]
    # top-level fields override the petition's
    data = client.post("/check", json={**payload, "request_type": "complaint"}).json()
    assert data["flags"] == []


def test_the_app_keeps_one_checker(client):
    checker = client.app.state.quality_checker
    client.post("/check", json={"petition": PETITION, "reply": VAGUE})
    client.post("/check", json={"petition": PETITION, "reply": GOOD})
    assert client.app.state.quality_checker is checker
    assert checker.templates is not None and len(checker.templates) > 100  # the bundled sample's replies


def test_traditional_petition_and_reply_give_the_same_answer(client):
    simplified = client.post("/check", json={"petition": PETITION, "reply": VAGUE}).json()
    traditional = client.post(
        "/check",
        json={
            "petition": {
                "title": "錦繡花園小區北門路燈不亮",
                "body": "城南區錦繡花園小區北門外的三盞路燈壞了一個多月，晚上很黑。請問什麼時候能修好？",
            },
            "reply": "網友：您好！留言已收悉，已轉相關部門調查處理。",
        },
    ).json()
    assert traditional == simplified


def test_empty_reply_is_flagged_not_refused(client):
    response = client.post("/check", json={"petition": PETITION, "reply": ""})
    assert response.status_code == 200
    assert [f["code"] for f in response.json()["flags"]] == ["empty_reply"]


def test_reply_over_20000_characters_is_413(client):
    response = client.post("/check", json={"petition": PETITION, "reply": "好" * 20_001})
    assert response.status_code == 413
    assert "reply" in response.json()["detail"] and "20000" in response.json()["detail"]


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        ({"reply": GOOD}, "petition"),
        ({"petition": {"title": "", "body": ""}, "reply": GOOD}, "petition"),
        ({"petition": PETITION}, "reply"),
        ({"petition": PETITION, "reply": GOOD, "replied_at": "next Tuesday"}, "replied_at"),
        ({"petition": {**PETITION, "received_at": "2025/13/45"}, "reply": GOOD}, "received_at"),
        (
            {"petition": PETITION, "reply": GOOD, "received_at": "2025-03-06", "replied_at": "2025-03-01"},
            "replied_at",
        ),
        ({"petition": PETITION, "reply": GOOD, "request_type": "抱怨"}, "request_type"),
    ],
)
def test_bad_input_is_422_naming_the_field(client, payload, named):
    response = client.post("/check", json=payload)
    assert response.status_code == 422, response.text
    assert named in str(response.json()["detail"])


def test_batch_checks_every_item_in_order(client):
    items = [
        {"petition": PETITION, "reply": GOOD},
        {"petition": PETITION, "reply": VAGUE},
        {"petition": PETITION, "reply": ""},
    ]
    response = client.post("/check/batch", json={"items": items})
    assert response.status_code == 200, response.text
    verdicts = [item["verdict"] for item in response.json()["items"]]
    assert verdicts == ["ok", "revise", "revise"]
    singles = [client.post("/check", json=item).json() for item in items]
    assert response.json()["items"] == singles


def test_batch_errors_name_the_item(client):
    items = [
        {"petition": PETITION, "reply": GOOD},
        {"petition": PETITION, "reply": GOOD, "replied_at": "soon"},
    ]
    response = client.post("/check/batch", json={"items": items})
    assert response.status_code == 422 and "items[1].replied_at" in response.json()["detail"]
    items[1] = {"petition": PETITION, "reply": "好" * 20_001}
    response = client.post("/check/batch", json={"items": items})
    assert response.status_code == 413 and "items[1].reply" in response.json()["detail"]


def test_batch_limits(client):
    response = client.post("/check/batch", json={"items": []})
    assert response.status_code == 422 and "empty" in response.json()["detail"]
    limit = client.app.state.settings.max_batch_items
    too_many = [{"petition": PETITION, "reply": "已收悉"}] * (limit + 1)
    response = client.post("/check/batch", json={"items": too_many})
    assert response.status_code == 413 and str(limit) in response.json()["detail"]


def test_reference_replies_from_an_admins_csv(settings, tmp_path):
    reference = tmp_path / "past.csv"
    rows = ["reply"] + [
        f"您的留言已收悉。关于您反映的问题，已转{p}调查处理。" for p in "甲乙丙丁戊己庚辛壬癸"
    ]
    reference.write_text("\n".join(rows) + "\n", encoding="utf-8")
    app = create_app(settings.model_copy(update={"quality_reference_csv": reference}))
    with TestClient(app) as c:
        c.headers.update(auth(app, "admin"))
        data = c.post(
            "/check",
            json={"petition": PETITION, "reply": "您的留言已收悉。关于您反映的问题，已转子调查处理。"},
        ).json()
    near = [f for f in data["flags"] if f["code"] == "near_duplicate"]
    assert near and "10 条" in near[0]["evidence"]


def test_a_broken_reference_csv_is_503_naming_it(settings, tmp_path):
    reference = tmp_path / "past.csv"
    reference.write_text("answer\n已收悉\n", encoding="utf-8")
    app = create_app(settings.model_copy(update={"quality_reference_csv": reference}))
    with TestClient(app) as c:
        c.headers.update(auth(app, "admin"))
        response = c.post("/check", json={"petition": PETITION, "reply": GOOD})
    assert response.status_code == 503 and "past.csv" in response.json()["detail"]


def test_staff_may_check(client):
    staff = {"Authorization": f"Bearer {auth(client.app, 'staff')['Authorization'].split()[1]}"}
    response = client.post("/check", json={"petition": PETITION, "reply": GOOD}, headers=staff)
    assert response.status_code == 200
