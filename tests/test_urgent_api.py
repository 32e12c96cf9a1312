"""Emergencies first (issue 16) over HTTP and the CLI: `urgent` in /classify, /classify/batch,
POST /cases, GET /cases/{id} and the queue's list items, the hours deadline, urgent cases at the
top of the queue (SQLite, and PostgreSQL when TRIAGE_TEST_POSTGRES_URL is set), `triage route`.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from api.app import create_app
from cli import main
from tests.conftest import auth
from tests.test_routing_api import rclient, table_copy  # noqa: F401
from triage.settings import Settings
from triage.store.models import CLOSED, Case

GAS = {"title": "煤气味", "body": "楼道里闻到很浓的煤气味，好几户都闻到了，怕出事，请尽快派人来看看！"}
WAGES = {"title": "公司拖欠工资", "body": "我们公司拖欠农民工工资三个月了，老板不接电话"}
FIRE_LANE = {"title": "消防通道", "body": "小区消防通道被私家车占用，万一着火消防车进不来"}


def _post_case(c, external_id: str, petition: dict, **extra) -> dict:
    r = c.post("/cases", json={"external_id": external_id, **petition, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def test_classify_carries_urgent_with_reason_evidence_and_line(db_client):
    r = db_client.post("/classify", json={**GAS, "received_at": "2026-11-20 09:00", "request_type": "求助"})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["urgent"] == {
        "reason": "燃气泄漏或燃气味",
        "evidence": "楼道里闻到很浓的煤气味",
        "transfer": "燃气抢修 96777",
    }
    assert data["due_at"] == "2026-11-20T10:00:00+08:00"  # an hour, not five working days
    assert data["departments"]["lead"]  # every existing field is still there
    plain = db_client.post("/classify", json=WAGES).json()
    assert plain["urgent"] is None and plain["departments"]["lead"] == "人社局"


def test_classify_batch_marks_only_the_emergency(db_client):
    r = db_client.post("/classify/batch", json={"items": [WAGES, GAS, FIRE_LANE]})
    assert r.status_code == 200, r.text
    marks = [item["urgent"] for item in r.json()["items"]]
    assert marks[0] is None and marks[2] is None
    assert marks[1]["transfer"] == "燃气抢修 96777"


def test_openapi_documents_the_urgent_field(db_client):
    schema = db_client.get("/openapi.json").json()["components"]["schemas"]
    assert set(schema["UrgentOut"]["properties"]) == {"reason", "evidence", "transfer"}


def test_a_case_carries_urgent_and_is_due_in_hours(db_client):
    received = "2026-11-20T09:00:00+08:00"
    data = _post_case(db_client, "URG-1", GAS, received_at=received, request_type="求助")
    assert data["urgent"]["transfer"] == "燃气抢修 96777"
    assert data["routing"]["urgent"] == data["urgent"]
    assert datetime.fromisoformat(data["deadline"]) - datetime.fromisoformat(received) == timedelta(hours=1)
    again = db_client.get(f"/cases/{data['id']}").json()
    assert again["urgent"] == data["urgent"] and again["routing"]["urgent"] == data["urgent"]
    plain = _post_case(db_client, "URG-2", WAGES)
    assert plain["urgent"] is None and plain["routing"]["urgent"] is None


def test_the_queue_lists_open_urgent_cases_first_then_overdue_then_by_deadline(db_client):
    overdue = _post_case(db_client, "Q-1", WAGES, received_at="2026-01-05T09:00:00+08:00")
    later = _post_case(db_client, "Q-2", FIRE_LANE)
    urgent = _post_case(db_client, "Q-3", GAS)
    items = db_client.get("/cases", params={"status": "open"}).json()["items"]
    assert [i["id"] for i in items] == [urgent["id"], overdue["id"], later["id"]]
    assert items[0]["urgent"]["reason"] == "燃气泄漏或燃气味"
    assert items[1]["urgent"] is None and items[1]["overdue"] is True
    # a closed emergency no longer jumps the queue
    with db_client.app.state.store.session() as s:
        s.execute(update(Case).where(Case.id == urgent["id"]).values(status=CLOSED))
        s.commit()
    items = db_client.get("/cases").json()["items"]
    assert items[0]["id"] == overdue["id"]
    assert next(i for i in items if i["id"] == urgent["id"])["urgent"] is not None  # still marked


def test_an_admin_edit_of_the_hours_applies_to_the_next_petition(rclient, table_copy):  # noqa: F811
    text = table_copy.read_text(encoding="utf-8").replace(
        "      transfer: 燃气抢修 96777\n      hours: 1\n", "      transfer: 燃气抢修 96777\n      hours: 3\n"
    )
    assert rclient.put("/admin/routing", content=text.encode()).status_code == 200
    shown = rclient.get("/admin/routing").json()["table"]["urgent"]
    assert {"reason": "燃气泄漏或燃气味", "transfer": "燃气抢修 96777", "hours": 3.0} in shown
    data = rclient.post("/classify", json={**GAS, "received_at": "2026-11-20 09:00"}).json()
    assert data["due_at"] == "2026-11-20T12:00:00+08:00"
    broken = text.replace("      hours: 3\n", "      hours: -1\n", 1)
    r = rclient.put("/admin/routing", content=broken.encode())
    assert r.status_code == 422 and "hours" in r.json()["detail"]


def test_cli_route_adds_the_urgent_column(env_models, tmp_path, capsys):
    src = tmp_path / "in.csv"
    with src.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "title", "body"])
        writer.writeheader()
        writer.writerow({"id": "1", **WAGES})
        writer.writerow({"id": "2", **GAS})
    out = tmp_path / "out.csv"
    assert main(["route", "--input", str(src), "--output", str(out)]) == 0
    with out.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["urgent"] == ""
    assert json.loads(rows[1]["urgent"])["transfer"] == "燃气抢修 96777"
    assert "1 urgent" in capsys.readouterr().out


def test_the_migration_adds_urgency_to_a_store_with_cases(db_url):
    """A store at revision 0002 with a case upgrades in place: the case reads not urgent, the
    queue's index exists, and the downgrade takes the columns away again."""
    from alembic import command
    from sqlalchemy import create_engine, inspect, text

    from triage.store.engine import alembic_config

    cfg = alembic_config(db_url)
    command.upgrade(cfg, "0002")
    engine = create_engine(db_url)
    stamp = datetime(2026, 11, 20, 9, 0)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO cases (external_id, title, body, received_at, status, due_at, abstain, "
                "manual_queue, routing_state, returns, created_at, updated_at, version) VALUES "
                "('OLD-1', 't', '楼道里闻到煤气味', :t, 'new', :t, false, false, 'suggested', 0, :t, :t, 1)"
            ),
            {"t": stamp},
        )
    command.upgrade(cfg, "head")
    inspector = inspect(engine)
    assert {"is_urgent", "urgent"} <= {c["name"] for c in inspector.get_columns("cases")}
    assert "ix_cases_urgent_status_due" in {i["name"] for i in inspector.get_indexes("cases")}
    with engine.connect() as conn:
        row = conn.execute(text("SELECT is_urgent, urgent FROM cases WHERE external_id = 'OLD-1'")).one()
    assert not row.is_urgent and row.urgent is None  # judged at intake only: old cases stay unmarked
    command.downgrade(cfg, "0002")
    assert "is_urgent" not in {c["name"] for c in inspect(engine).get_columns("cases")}
    engine.dispose()


def test_an_emergency_jumps_the_queue_even_while_no_model_is_live(tmp_path):
    settings = Settings(models_dir=tmp_path / "empty", database_url=f"sqlite:///{tmp_path}/db.sqlite")
    with TestClient(create_app(settings)) as c:
        c.headers.update(auth(c.app))
        received = "2026-11-20T09:00:00+08:00"
        plain = _post_case(c, "NM-1", WAGES, received_at="2026-01-05T09:00:00+08:00")
        gas = _post_case(c, "NM-2", GAS, received_at=received)
        assert gas["urgent"]["transfer"] == "燃气抢修 96777" and gas["routing"]["department"] is None
        assert datetime.fromisoformat(gas["deadline"]) - datetime.fromisoformat(received) == timedelta(
            hours=1
        )
        assert plain["urgent"] is None
        assert [i["id"] for i in c.get("/cases").json()["items"]] == [gas["id"], plain["id"]]


def test_pages_run_across_the_urgent_cases_into_the_rest_without_gaps(db_client):
    ids = [_post_case(db_client, f"PG-{i}", GAS if i % 2 else WAGES)["id"] for i in range(7)]
    whole = db_client.get("/cases", params={"limit": 50}).json()
    order = [i["id"] for i in whole["items"]]
    assert sorted(order) == sorted(ids) and whole["total"] == 7
    assert [i["urgent"] is not None for i in whole["items"]] == [True] * 3 + [False] * 4
    pages = []
    for offset in range(0, 7, 2):
        page = db_client.get("/cases", params={"limit": 2, "offset": offset}).json()
        assert page["total"] == 7
        pages += [i["id"] for i in page["items"]]
    assert pages == order  # the page boundary at 2 and 4 splits the urgent cases from the rest
