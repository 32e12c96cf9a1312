"""The house style through the product's surfaces: `POST /draft`, `triage draft`, a case's draft."""

from __future__ import annotations

import csv
import json

from fastapi.testclient import TestClient

from api.app import create_app
from cli import main
from tests.conftest import auth
from tests.house_style_fixtures import HOUSING, WATER
from tests.test_drafting import write
from triage.retrieval.history import HistoryIndex


def test_post_draft_answers_in_the_departments_style_and_says_where_it_came_from(settings):
    history = HistoryIndex(settings.models_dir / "retrieval" / "history")
    history.add_history([*HOUSING, *WATER])
    history.close()
    with TestClient(create_app(settings.model_copy(update={"answers_encoder": "none"}))) as client:
        client.headers.update(auth(client.app, "staff"))
        r = client.post(
            "/draft", json={"title": "水压低", "body": "滨江苑高层水压低", "department": "江北水务集团"}
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["draft"].startswith("关于您的问题我司回复如下：1、")
    assert {p["part"] for p in body["style"]} == {"开头", "结尾", "日期", "分条", "核实用语"}
    assert all(p["scope"] == "department" and p["of"] == len(WATER) for p in body["style"])


def test_cli_draft_writes_each_rows_style(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TRIAGE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("TRIAGE_DATABASE_URL", f"sqlite:///{tmp_path / 'triage.db'}")
    monkeypatch.setenv("TRIAGE_ANSWERS_ENCODER", "none")
    history = write(
        tmp_path / "history.csv",
        ["id", "text", "reply", "dept"],
        [[i.id, i.text, i.reply, i.department] for i in [*HOUSING, *WATER]],
    )
    args = [
        "index",
        "--history",
        str(history),
        "--text-col",
        "text",
        "--id-col",
        "id",
        "--department-col",
        "dept",
    ]
    assert main(args) == 0
    petitions = write(
        tmp_path / "in.csv",
        ["title", "body", "dept"],
        [["楼道灯坏了", "楼道声控灯坏了一个月", "住建局"], ["停水", "今天停水没有通知", "江北水务集团"]],
    )
    out = tmp_path / "out.csv"
    args = ["draft", "--input", str(petitions), "--department-col", "dept", "--output", str(out)]
    assert main(args) == 0
    with open(out, encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    housing, water = (json.loads(r["style"]) for r in rows)
    assert rows[0]["draft"].startswith("网友您好！您的留言已收悉。") and housing[0]["department"] == "住建局"
    assert (
        rows[1]["draft"].startswith("关于您的问题我司回复如下：") and water[0]["department"] == "江北水务集团"
    )


def test_an_emergencys_draft_says_where_it_was_transferred_and_cites_no_past_case(db_client):
    """A fire told as a caller tells it: the draft reports the transfer to 119 with slots for the
    time and the outcome, not a five-day template citing a past case that shares a few words."""
    fire = {
        "external_id": "FIRE-1",
        "title": "楼下冒黑烟",
        "body": "我家楼下一户人家窗户往外冒黑烟，闻到很浓的焦味，楼上还有老人没下来，快来人啊",
    }
    created = db_client.post("/cases", json=fire)
    assert created.status_code in (200, 201), created.text
    case = db_client.get(f"/cases/{created.json()['id']}").json()
    assert case["routing"]["urgent"]["transfer"] == "119"
    draft = case["draft"]
    assert draft["tier"] == "urgent" and draft["sources"] == []
    assert "已于【转办时间】将情况转119紧急处置。【处置结果】。" in draft["text"]
    assert "【核查结果】" not in draft["text"]
