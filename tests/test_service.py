"""One classify-and-route workflow (triage/service.py) behind /classify, POST /cases and `triage route`.

Petitions written for this test (a gas smell, a Traditional-Chinese street lamp, a wage claim the
platform marked 投诉, a court judgment not enforced) go through the platform's /classify/batch,
through POST /cases as a hotline submits them, and through `triage route` on a CSV, all on one
store and one live model: a clerk, the platform and an admin's backlog must see the same
department, request type, deadline, emergency and out-of-scope finding for the same petition.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime

import pytest

from cli import main
from triage.loaded_model import FixedModel
from triage.routing import RoutingEngine
from triage.service import PetitionError, PetitionInput, TriageService

RECEIVED = "2026-11-30 09:30"
PETITIONS = [
    {
        "id": "S-1",
        "title": "楼道煤气味",
        "body": "我家楼道里煤气味特别重，好几户都闻到了，怕出事，请赶紧派人来",
    },
    {"id": "S-2", "title": "路燈壞了", "body": "我們社區門口的路燈壞了一個多月，晚上走路很危險，請盡快維修"},
    {
        "id": "S-3",
        "title": "装修公司欠薪",
        "body": "我在城南区一家装修公司干了四个月，老板拖欠工资两万多，一直不给",
        "request_type": "投诉",
    },
    {
        "id": "S-4",
        "title": "判决不执行",
        "body": "法院已经判决对方还钱，可是半年了对方一直不执行，请政府帮我讨回欠款",
    },
]


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def test_the_platform_a_clerk_and_the_cli_get_one_routing(client, env_models, tmp_path):
    # the platform's routing call
    items = [
        {
            "title": p["title"],
            "body": p["body"],
            "received_at": RECEIVED,
            "request_type": p.get("request_type"),
        }
        for p in PETITIONS
    ]
    batch = client.post("/classify/batch", json={"items": items})
    assert batch.status_code == 200, batch.text
    api = batch.json()["items"]
    # the same petitions submitted as cases
    cases = []
    for p in PETITIONS:
        r = client.post(
            "/cases",
            json={"external_id": p["id"], "title": p["title"], "body": p["body"], "received_at": RECEIVED}
            | ({"request_type": p["request_type"]} if "request_type" in p else {}),
        )
        assert r.status_code == 201, r.text
        cases.append(client.get(f"/cases/{r.json()['id']}").json())
    # and an admin's backlog file
    src, out = tmp_path / "backlog.csv", tmp_path / "routed.csv"
    with src.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "title", "body", "received_at", "request_type"])
        writer.writeheader()
        writer.writerows({**p, "received_at": RECEIVED} for p in PETITIONS)
    assert main(["route", "--input", str(src), "--output", str(out)]) == 0
    with out.open(encoding="utf-8-sig") as fh:
        cli = list(csv.DictReader(fh))

    for p, a, case, row in zip(PETITIONS, api, cases, cli, strict=True):
        lead = a["departments"]["lead"]
        assert lead and case["department"] == lead == json.loads(row["departments"])["lead"], p["id"]
        assert a["request_type"] == case["request_type"] == row["request_type"], p["id"]
        assert _when(a["due_at"]) == _when(case["deadline"]) == _when(row["due_at"]), p["id"]
        urgent = [a["urgent"], case["urgent"], json.loads(row["urgent"]) if row["urgent"] else None]
        assert len({json.dumps(u, sort_keys=True) for u in urgent}) == 1, (p["id"], urgent)
    # what each of the four is, seen the same way by all three
    assert api[0]["urgent"] and cases[0]["urgent"]["transfer"]  # the gas smell is an emergency
    assert _when(api[0]["due_at"]) < _when(api[1]["due_at"])  # due in hours, not working days
    assert api[2]["request_type"] == cases[2]["request_type"] == "投诉"  # the platform's type is kept
    assert api[3]["out_of_scope"]["reason"] == json.loads(cli[3]["out_of_scope"])["reason"] == "诉讼"
    assert cases[3]["routing"]["manual_queue"]


def test_a_bad_time_names_the_petition_and_the_field(live_model, tmp_path):
    engine = RoutingEngine.from_file("config/routing.yaml")
    service = TriageService(FixedModel("v1", live_model), routing=engine)
    petitions = [
        PetitionInput("路灯", "路灯坏了", received_at=RECEIVED),
        PetitionInput("路灯", "路灯坏了", received_at="明天"),
    ]
    with pytest.raises(PetitionError) as caught:
        service.classify(petitions)
    assert caught.value.index == 1 and caught.value.field == "received_at"
    with pytest.raises(PetitionError) as caught:
        service.classify([PetitionInput("路灯", "路灯坏了", request_type="催办")])
    assert caught.value.index == 0 and caught.value.field == "request_type" and "催办" in caught.value.message


def test_a_draft_asked_for_alone_reads_the_petition_as_intake_does(client, env_models, tmp_path):
    """The platform's /draft and an admin's `triage draft` gave a gas smell the plain skeleton and
    a court case a reply citing past cases, while the same petition submitted as a case got the
    emergency's transfer and the out-of-scope template: now all three draft alike."""
    gas, court = PETITIONS[0], PETITIONS[3]
    alone = [
        client.post("/draft", json={"title": p["title"], "body": p["body"]}).json() for p in (gas, court)
    ]
    cases = []
    for p in (gas, court):
        r = client.post("/cases", json={"external_id": p["id"], "title": p["title"], "body": p["body"]})
        cases.append(client.get(f"/cases/{r.json()['id']}").json()["draft"])
    src, out = tmp_path / "petitions.csv", tmp_path / "drafts.csv"
    with src.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["title", "body"])
        writer.writeheader()
        writer.writerows({"title": p["title"], "body": p["body"]} for p in (gas, court))
    assert main(["draft", "--input", str(src), "--output", str(out)]) == 0
    with out.open(encoding="utf-8-sig") as fh:
        cli = list(csv.DictReader(fh))

    assert [d["tier"] for d in alone] == [c["tier"] for c in cases] == [r["tier"] for r in cli]
    assert [d["tier"] for d in alone] == ["urgent", "out_of_scope"]
    assert "紧急处置" in alone[0]["draft"] and alone[0]["sources"] == []  # no past case for a gas leak
    assert alone[1]["draft"] == cases[1]["text"] == cli[1]["draft"] and "法院" in alone[1]["draft"]
    assert alone[1]["out_of_scope"] == "诉讼"
