"""Routing through the API (/classify, /admin/routing) and the CLI (triage route)."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from cli import main
from tests.conftest import auth
from triage.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "config" / "routing.yaml"
WAGES = {"title": "公司拖欠工资", "body": "我们公司拖欠农民工工资三个月了，老板不接电话"}


@pytest.fixture
def table_copy(tmp_path) -> Path:
    target = tmp_path / "config" / "routing.yaml"
    target.parent.mkdir()
    shutil.copy(TABLE, target)
    return target


def table_settings(models_dir, tmp_path, table: Path) -> Settings:
    """An app on the test's store and models with `table` as its routing-table (seed) file:
    started again with a changed file, it is a redeploy."""
    return Settings(
        models_dir=models_dir,
        database_url=f"sqlite:///{tmp_path / 'triage.db'}",
        model_check_seconds=0.0,
        routing_table=table,
    )


@contextlib.contextmanager
def admin_client(settings: Settings):
    with TestClient(create_app(settings)) as client:
        client.headers.update(auth(client.app, "admin"))
        yield client


@pytest.fixture
def rclient(tmp_path, models_dir, table_copy):
    settings = table_settings(models_dir, tmp_path, table_copy)
    with admin_client(settings) as c:
        yield c


def test_classify_adds_the_routing_fields(rclient):
    r = rclient.post("/classify", json={**WAGES, "received_at": "2025-09-26 10:00", "request_type": "求助"})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["label"] == "人社局" and data["departments"]["lead"] == "人社局"
    assert isinstance(data["departments"]["assist"], list)
    assert data["request_type"] == "求助"
    assert data["due_at"] == "2025-09-30T23:59:59+08:00"  # 人社局 answers 求助 in 3 working days
    assert data["out_of_scope"] is None and data["place"] is None
    assert rclient.app.state.routing.engine is not None


def test_place_and_out_of_scope_through_the_api(rclient):
    data = rclient.post(
        "/classify",
        json={
            "title": "物业纠纷",
            "body": "我是城南区锦绣花园的业主，物业纠纷法院已经判决了，物业还是不执行",
        },
    ).json()
    assert data["place"]["district"] == "城南区" and data["place"]["community"] == "锦绣花园"
    assert data["out_of_scope"]["reason"] == "诉讼" and "判决" in data["out_of_scope"]["evidence"]


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({"received_at": "2099-01-01 10:00"}, "future"),
        ({"received_at": "上周五"}, "not a date"),
        ({"request_type": "抱怨"}, "unknown request_type"),
    ],
)
def test_bad_received_time_or_type_is_422(rclient, extra, needle):
    r = rclient.post("/classify", json={**WAGES, **extra})
    assert r.status_code == 422 and needle in r.json()["detail"]


def test_batch_routes_each_item_and_names_a_bad_one(rclient):
    ok = rclient.post("/classify/batch", json={"items": [WAGES, {"body": "城北区丰乐路流动摊贩占道经营"}]})
    assert ok.status_code == 200
    items = ok.json()["items"]
    assert all({"departments", "request_type", "due_at", "place", "out_of_scope"} <= set(i) for i in items)
    bad = rclient.post("/classify/batch", json={"items": [WAGES, {**WAGES, "received_at": "2099-01-01"}]})
    assert bad.status_code == 422 and "items[1]" in bad.json()["detail"]


def test_get_routing_shows_the_table_and_the_label_check(rclient, table_copy):
    data = rclient.get("/admin/routing").json()
    assert data["loaded"] and data["error"] is None
    assert data["text"] == table_copy.read_text(encoding="utf-8")
    assert "城管局" in data["table"]["departments"]


def test_put_valid_table_is_written_and_served(rclient, table_copy):
    text = table_copy.read_text(encoding="utf-8").replace("  咨询: 3\n", "  咨询: 1\n")
    r = rclient.put("/admin/routing", content=text.encode(), headers={"content-type": "application/yaml"})
    assert r.status_code == 200, r.text
    assert r.json()["version"]["id"] == 2  # 1 is the seed
    assert rclient.get("/admin/routing").json()["text"] == text
    seed = TABLE.read_text(encoding="utf-8")
    assert table_copy.read_text(encoding="utf-8") == seed  # the seed file is not the record
    due = rclient.post(
        "/classify", json={**WAGES, "received_at": "2025-09-26 10:00", "request_type": "咨询"}
    ).json()
    assert due["due_at"].startswith("2025-09-28")  # one working day: the adjusted Sunday


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (("人社局: {lead: 人社局}", "人社局: {lead: 人设局}"), "人设局"),
        (("    民政局: {lead: 民政局}\n", "    民政局: {lead: 民政局}\n    殡葬: {lead: 民政局}\n"), "殡葬"),
        (("卫计委: {forward_to: 卫健委}", "卫计委: {forward_to: 卫计委}"), "cycle"),
    ],
)
def test_put_invalid_table_is_422_and_the_old_one_stays(rclient, table_copy, change, needle):
    before = table_copy.read_text(encoding="utf-8")
    text = before.replace(*change)
    assert text != before
    r = rclient.put("/admin/routing", content=text.encode())
    assert r.status_code == 422
    assert needle in r.json()["detail"] and "line " in r.json()["detail"]
    assert rclient.get("/admin/routing").json()["text"] == before
    assert len(rclient.get("/admin/routing/versions").json()["items"]) == 1  # only the seed
    assert rclient.post("/classify", json=WAGES).json()["departments"]["lead"] == "人社局"


def test_put_empty_or_not_utf8_is_422(rclient):
    assert rclient.put("/admin/routing", content=b"  ").status_code == 422
    assert rclient.put("/admin/routing", content="部门".encode("gb18030")).status_code == 422


def test_a_newer_seed_file_replaces_a_table_nobody_edited(rclient, table_copy, models_dir, tmp_path):
    """A release that fixes the bundled rules reaches a deployment that never edited its table
    (found on a trial: the store kept the old seed, so a fixed gas rule never applied)."""
    old = table_copy.read_text(encoding="utf-8")
    assert rclient.post("/classify", json=WAGES).json()["departments"]["lead"] == "人社局"
    table_copy.write_text(old.replace("人社局: {lead: 人社局}", "人社局: {lead: 民政局}"), encoding="utf-8")
    settings = table_settings(models_dir, tmp_path, table_copy)
    with admin_client(settings) as restarted:
        assert restarted.post("/classify", json=WAGES).json()["departments"]["lead"] == "民政局"
        versions = restarted.get("/admin/routing/versions").json()["items"]
        assert [(v["id"], v["author"]) for v in versions] == [(2, "seed"), (1, "seed")]
        assert "not edited since" in versions[0]["comment"]
    with admin_client(settings) as again:  # the same file again: no new version
        assert len(again.get("/admin/routing/versions").json()["items"]) == 2


def test_the_seed_file_never_overwrites_an_admins_edit(rclient, table_copy, models_dir, tmp_path):
    """A redeploy brings a new config/routing.yaml; the store keeps the admin's table."""
    good = table_copy.read_text(encoding="utf-8")
    edited = good.replace("人社局: {lead: 人社局}", "人社局: {lead: 住建局}")
    r = rclient.put("/admin/routing", params={"comment": "欠薪先由住建局牵头"}, content=edited.encode())
    assert r.status_code == 200, r.text
    assert rclient.post("/classify", json=WAGES).json()["departments"]["lead"] == "住建局"
    table_copy.write_text(good.replace("  咨询: 3\n", "  咨询: 2\n"), encoding="utf-8")  # the redeploy
    settings = table_settings(models_dir, tmp_path, table_copy)
    with admin_client(settings) as restarted:
        assert restarted.post("/classify", json=WAGES).json()["departments"]["lead"] == "住建局"
        data = restarted.get("/admin/routing").json()
        assert data["version"]["comment"] == "欠薪先由住建局牵头"
        assert data["version"]["author"].startswith("admin")
        versions = restarted.get("/admin/routing/versions").json()["items"]
        assert [v["id"] for v in versions] == [2, 1] and versions[1]["author"] == "seed"


def test_a_table_edited_on_one_host_is_served_by_another(db_settings, tmp_path, table_copy):
    """Two apps on one database (two hosts): B routes by A's edit without a restart."""
    hosts = []
    for name in ("a", "b"):
        models = tmp_path / f"host-{name}"
        shutil.copytree(db_settings.models_dir, models)
        app = create_app(db_settings.model_copy(update={"models_dir": models, "routing_table": table_copy}))
        client = TestClient(app)
        client.__enter__()
        client.headers.update(auth(app, "admin"))
        hosts.append(client)
    a, b = hosts
    try:
        assert b.post("/classify", json=WAGES).json()["departments"]["lead"] == "人社局"
        edited = table_copy.read_text(encoding="utf-8").replace(
            "人社局: {lead: 人社局}", "人社局: {lead: 民政局}"
        )
        assert a.put("/admin/routing", content=edited.encode()).status_code == 200
        assert b.post("/classify", json=WAGES).json()["departments"]["lead"] == "民政局"
    finally:
        for client in hosts:
            client.__exit__(None, None, None)
            client.app.state.store.dispose()


def test_request_type_model_is_used_when_trained(rclient, models_dir):
    from training.request_type import ensure_request_type_model, sample_request_types

    bundle = ensure_request_type_model(models_dir)
    assert bundle is not None and ensure_request_type_model(models_dir) is None
    known = set(sample_request_types().labels)
    data = rclient.post(
        "/classify",
        json={"title": "请问申请低保需要什么条件", "body": "想问问申请低保需要什么材料，去哪里办？"},
    ).json()
    assert data["request_type"] in known
    assert data["request_type"] == "咨询"
    served = rclient.app.state.request_type_model.peek()
    assert served is not None and served.version == bundle.version


# -- CLI --------------------------------------------------------------------------------------


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_cli_route_adds_the_columns(env_models, tmp_path, capsys):
    src = _write(
        tmp_path / "in.csv",
        [
            {
                "id": "1",
                "title": "公司拖欠工资",
                "body": "城南区的公司拖欠工资三个月",
                "received_at": "2025-09-26 10:00",
            },
            {
                "id": "2",
                "title": "判决不执行",
                "body": "法院已经判决了对方还是不还钱",
                "received_at": "2025-09-30 16:00",
            },
        ],
    )
    out = tmp_path / "out.csv"
    assert main(["route", "--input", str(src), "--text-col", "title,body", "--output", str(out)]) == 0
    with out.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert {"departments", "request_type", "due_at", "place", "out_of_scope"} <= set(rows[0])
    assert json.loads(rows[0]["departments"])["lead"] == "人社局"
    assert json.loads(rows[0]["place"])["district"] == "城南区"
    assert rows[0]["due_at"].startswith("2025-")
    assert rows[0]["out_of_scope"] == "" and json.loads(rows[1]["out_of_scope"])["reason"] == "诉讼"
    assert "routed 2 rows" in capsys.readouterr().out


def test_cli_route_bad_time_names_row_and_column(env_models, tmp_path, capsys):
    src = _write(
        tmp_path / "in.csv",
        [
            {"title": "路灯", "body": "路灯坏了", "received_at": "2025-09-26 10:00"},
            {"title": "路灯", "body": "路灯坏了", "received_at": "明天"},
        ],
    )
    out = tmp_path / "out.csv"
    assert main(["route", "--input", str(src), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert "row 3" in err and "received_at" in err and not out.exists()


def test_cli_fit_cohandling_writes_the_threshold_into_the_table(
    env_models, tmp_path, table_copy, monkeypatch, capsys
):
    from datasets import load_sample
    from triage.routing import load_table
    from triage.routing.cohandling import DEFAULT_GRID
    from triage.routing.live import LiveRoutingEngine
    from triage.store.engine import Store

    rows = [{"title": r["title"], "body": r["body"], "department": r["department"]} for r in load_sample()]
    src = _write(tmp_path / "held_out.csv", rows)
    monkeypatch.setenv("TRIAGE_ROUTING_TABLE", str(table_copy))
    before = table_copy.read_text(encoding="utf-8")
    code = main(
        [
            "route",
            "--input",
            str(src),
            "--fit-cohandling",
            "department",
            "--target-precision",
            "0.01",
            "--write",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "fitted min_probability" in out and "wrote cohandling.min_probability" in out
    assert "the store's routing table" in out
    assert table_copy.read_text(encoding="utf-8") == before  # the seed file stays as deployed
    live = LiveRoutingEngine(table_copy, store=Store(os.environ["TRIAGE_DATABASE_URL"]))
    after = live.text()
    assert (
        live.version.comment.startswith("cohandling.min_probability") and live.version.author == "cli:route"
    )
    fitted = live.table.cohandling.min_probability
    assert fitted in DEFAULT_GRID
    # only that one number changed: comments and everything else are kept
    old = load_table(TABLE).cohandling.min_probability
    assert after == before.replace(f"  min_probability: {old:g}\n", f"  min_probability: {fitted:g}\n")
    assert f"fitted min_probability {fitted:.2f}" in out


def test_cli_fit_cohandling_with_labels_the_model_does_not_know(env_models, tmp_path, capsys):
    src = _write(
        tmp_path / "held_out.csv", [{"title": "路灯", "body": "路灯坏了", "department": "气象局"}] * 2
    )
    assert main(["route", "--input", str(src), "--fit-cohandling", "department"]) == 2
    assert "气象局" in capsys.readouterr().err
