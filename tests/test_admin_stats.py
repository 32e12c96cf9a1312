"""The supervisor's figures (`GET /stats`): revise share from sent replies only, rows that add up."""

from __future__ import annotations

import pytest

from tests.test_cases_api import GOOD, PETITION, VAGUE


@pytest.fixture
def c(db_client):
    return db_client


def _submit(c, external_id: str, petition: dict) -> dict:
    r = c.post("/cases", json={"external_id": external_id, **petition})
    assert r.status_code == 201, r.text
    return r.json()


def test_revise_share_counts_sent_replies_and_the_rows_add_up_to_the_case_count(c):
    refused_then_revised = _submit(c, "S-1", PETITION)
    sent_flagged = _submit(c, "S-2", PETITION)
    _submit(c, "S-3", PETITION)  # open
    returned = _submit(c, "S-4", PETITION)
    back = c.post(f"/cases/{returned['id']}/return", json={"reason": "不属本单位职责，请重新分派"})
    assert back.status_code == 200 and back.json()["department"] is None  # waits for a new department

    refused = c.post(f"/cases/{refused_then_revised['id']}/reply", json={"text": VAGUE, "send": True})
    assert refused.status_code == 422  # a refused attempt ...
    sent = c.post(f"/cases/{refused_then_revised['id']}/reply", json={"text": GOOD, "send": True})
    assert sent.status_code == 200 and sent.json()["qc"]["verdict"] == "ok"  # ... then a clean reply
    confirmed = c.post(
        f"/cases/{sent_flagged['id']}/reply",
        json={"text": VAGUE, "send": True, "confirm_reason": "已电话答复，书面简短"},
    )
    assert confirmed.status_code == 200 and confirmed.json()["sent"] is True

    data = c.get("/stats").json()
    rows = {d["department"]: d for d in data["departments"]}
    assert rows["人社局"]["closed"] == 2
    # one of the two sent replies went out flagged: 50 %, not the 100 % that counting refusals gave
    assert rows["人社局"]["revise_share"] == 0.5
    assert data["unassigned"]["volume"] == 1 and data["unassigned"]["department"] is None
    total = data["total"]
    assert (
        total["volume"] == 4 == sum(d["volume"] for d in data["departments"]) + data["unassigned"]["volume"]
    )
    assert total["closed"] == 2 and total["revise_share"] == 0.5
    assert c.get("/cases?status=new,assigned,returned,closed&limit=100").json()["total"] == total["volume"]


def test_no_unassigned_row_when_every_case_has_a_department(c):
    _submit(c, "S-1", PETITION)
    data = c.get("/stats").json()
    assert data["unassigned"] is None and data["total"]["volume"] == 1
