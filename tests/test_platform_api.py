"""The platform hears back: its own cases, supplements, contact and attachments, repeat notes.

On SQLite and (when TRIAGE_TEST_POSTGRES_URL is set) PostgreSQL, through the real app and real
keys of each role.
"""

from __future__ import annotations

import logging

import pytest

from tests.conftest import make_key

PETITION = {"title": "公司拖欠工资", "body": "我们公司拖欠农民工工资三个月了，老板不接电话"}
GOOD = (
    "网友您好：您反映的公司拖欠工资问题已收悉。经核实，该公司拖欠12名员工3个月工资共计15万元。1月9日，"
    "市人社局劳动保障监察支队依据《保障农民工工资支付条例》第三十条向该公司下达限期整改指令书，要求其于1月20日前"
    "足额支付。如逾期未付，将依法处罚。联系电话0571-86523017。人社局 2025年1月10日"
)
PHONE = "13912345678"
CONTACT = {"name": "张先生", "phone": PHONE, "id_number": "330106199001011234", "wechat": "zhang_wx"}
ATTACHMENTS = [
    {
        "name": "欠薪证明.jpg",
        "url": "https://files.example.org/a/1.jpg",
        "content_type": "image/jpeg",
        "size": 48213,
    }
]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def c(db_client):
    return db_client


@pytest.fixture
def keys(c):
    app = c.app
    return {
        "platform": bearer(make_key(app, "platform", "board")),
        "other": bearer(make_key(app, "platform", "hotline")),
        "staff": bearer(make_key(app, "staff", "clerk")),
    }


def submit(c, headers, external_id="P-1", **extra):
    r = c.post("/cases", json={"external_id": external_id, **PETITION, **extra}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def close(c, case_id):
    r = c.post(
        f"/cases/{case_id}/reply", json={"text": GOOD, "send": True, "confirm_reason": "已核实，内容具体"}
    )
    assert r.status_code == 200 and r.json()["sent"], r.text


def test_a_platform_reads_its_own_case_and_its_reply(c, keys):
    case = submit(c, keys["platform"])
    r = c.get("/platform/cases/P-1", headers=keys["platform"])
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["external_id"] == "P-1" and view["id"] == case["id"] and view["status"] == "new"
    assert view["department"] == case["routing"]["department"] and view["deadline"] == case["deadline"]
    assert view["overdue"] is False and view["reply"] is None and view["supplements"] == []
    close(c, case["id"])
    closed = c.get("/platform/cases/P-1", headers=keys["platform"]).json()
    assert closed["status"] == "closed" and closed["closed_at"]
    assert closed["reply"]["text"] == GOOD and closed["reply"]["replied_at"] == closed["closed_at"]


def test_other_platforms_unknown_ids_and_staff_are_refused(c, keys):
    submit(c, keys["platform"])
    theirs = c.get("/platform/cases/P-1", headers=keys["other"])
    unknown = c.get("/platform/cases/NOPE-9", headers=keys["platform"])
    assert theirs.status_code == unknown.status_code == 404
    # the same answer for both: another platform learns nothing about which ids exist
    assert theirs.json()["detail"].replace("P-1", "X") == unknown.json()["detail"].replace("NOPE-9", "X")
    assert "submitted with this key" in unknown.json()["detail"]
    staff = c.get("/platform/cases/P-1", headers=keys["staff"])
    assert staff.status_code == 403 and "platform or admin" in staff.json()["detail"]
    assert c.get("/platform/cases/P-1").status_code == 200  # the admin client reads any case
    refused = c.post("/platform/cases/P-1/supplements", json={"text": "补充"}, headers=keys["other"])
    assert refused.status_code == 404
    assert c.get("/cases/1").json()["supplements"] == []  # nothing was added by the refused call


def test_a_supplement_is_stored_shown_to_staff_and_in_the_history(c, keys):
    case = submit(c, keys["platform"])
    before = c.get(f"/cases/{case['id']}").json()["version"]
    r = c.post(
        "/platform/cases/P-1/supplements",
        json={"text": "  老板今天又说下个月才发，已经四个月了  ", "received_at": "2026-12-06T09:30:00"},
        headers=keys["platform"],
    )
    assert r.status_code == 201, r.text
    added = r.json()
    assert added["supplement"]["text"] == "老板今天又说下个月才发，已经四个月了"
    assert added["supplement"]["received_at"] == "2026-12-06T09:30:00+08:00"
    assert [s["id"] for s in added["case"]["supplements"]] == [added["supplement"]["id"]]
    staff_view = c.get(f"/cases/{case['id']}").json()
    assert [s["text"] for s in staff_view["supplements"]] == ["老板今天又说下个月才发，已经四个月了"]
    event = staff_view["history"][-1]
    assert event["kind"] == "supplement_added" and event["actor"] == "platform:board"
    assert event["data"]["supplement_id"] == added["supplement"]["id"]
    # a clerk answering from a page read before the supplement is told to reload
    assert staff_view["version"] > before
    stale = c.post(f"/cases/{case['id']}/reply", json={"text": GOOD, "version": before})
    assert stale.status_code == 409


@pytest.mark.parametrize("text", ["", "   \n\t"])
def test_an_empty_supplement_is_422_and_stores_nothing(c, keys, text):
    submit(c, keys["platform"])
    r = c.post("/platform/cases/P-1/supplements", json={"text": text}, headers=keys["platform"])
    assert r.status_code == 422 and "text" in str(r.json()["detail"])
    assert c.get("/cases/1").json()["supplements"] == []


def test_a_supplement_to_a_closed_case_is_409_with_what_to_do(c, keys):
    case = submit(c, keys["platform"])
    close(c, case["id"])
    r = c.post("/platform/cases/P-1/supplements", json={"text": "还有一件事"}, headers=keys["platform"])
    assert r.status_code == 409
    assert "closed" in r.json()["detail"] and "new petition" in r.json()["detail"]
    assert c.get(f"/cases/{case['id']}").json()["supplements"] == []


def test_a_repeat_with_different_words_gets_a_note_and_changes_nothing(c, keys):
    case = submit(c, keys["platform"])
    same = c.post("/cases", json={"external_id": "P-1", **PETITION}, headers=keys["platform"])
    assert same.status_code == 200 and same.json()["created"] is False and same.json()["note"] is None
    other = c.post(
        "/cases",
        json={"external_id": "P-1", "title": "补充", "body": "又拖了一个月"},
        headers=keys["platform"],
    )
    assert other.status_code == 200 and other.json()["id"] == case["id"]
    assert "/platform/cases/P-1/supplements" in other.json()["note"]
    stored = c.get(f"/cases/{case['id']}").json()
    assert stored["body"] == PETITION["body"] and stored["supplements"] == []


def test_contact_and_attachments_are_stored_and_shown_to_staff(c, keys):
    case = submit(c, keys["platform"], contact=CONTACT, attachments=ATTACHMENTS)
    stored = c.get(f"/cases/{case['id']}").json()
    assert stored["contact"] == CONTACT
    assert stored["attachments"] == ATTACHMENTS
    plain = submit(c, keys["platform"], external_id="P-2")
    assert c.get(f"/cases/{plain['id']}").json()["contact"] is None


@pytest.mark.parametrize(
    "extra,problem",
    [
        ({"attachments": [{"name": "x", "url": "javascript:alert(1)"}]}, "http"),
        ({"attachments": [{"name": "", "url": "https://a.example/x"}]}, "name"),
        ({"attachments": [{"name": "x", "size": -1}]}, "size"),
        ({"contact": {"phone": "1" * 40}}, "phone"),
        ({"contact": "13912345678"}, "contact"),
    ],
)
def test_bad_contact_or_attachments_are_422_naming_the_field(c, keys, extra, problem):
    r = c.post("/cases", json={"external_id": "P-bad", **PETITION, **extra}, headers=keys["platform"])
    assert r.status_code == 422 and problem in str(r.json()["detail"])
    assert c.get("/cases").json()["total"] == 0


def test_the_raw_phone_never_reaches_a_log_line(c, keys, caplog):
    caplog.set_level(logging.DEBUG)
    case = submit(c, keys["platform"], contact=CONTACT, attachments=ATTACHMENTS)
    c.post(
        "/platform/cases/P-1/supplements", json={"text": f"我的电话{PHONE}，请回电"}, headers=keys["platform"]
    )
    close(c, case["id"])
    c.post(
        "/cases", json={"external_id": "P-1", "title": f"电话{PHONE}", "body": "x"}, headers=keys["platform"]
    )
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged, "the requests were logged"
    assert PHONE not in logged and CONTACT["id_number"] not in logged
