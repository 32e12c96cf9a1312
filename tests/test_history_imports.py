"""Imported drafting history lives in the case store (issue 17): `triage index` on one host is
drafted from on every host, a bad file stores nothing, an older installation's history folder is
imported on its first start, and a lost folder is rebuilt. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import shutil

from cli import main
from tests.hosts_fixtures import close, host
from triage.drafting import retrieval_dir
from triage.retrieval.history import HistoryIndex, HistoryItem
from triage.retrieval.sparse import retrieval_tokens
from triage.store.engine import Store
from triage.store.history_imports import batch_ids, imported_count

ROWS = [
    (
        "jb-101",
        "江北新村二次供水水箱多年没清洗",
        "江北新村7栋的二次供水水箱好几年没人清洗，放出来的水有股怪味，水箱盖子也是坏的。",
        "您好！经核实，江北新村二次供水设施由物业管理，水务部门已督促物业于3月20日前完成水箱清洗消毒并更换箱盖，"
        "水质检测结果将在小区公示。",
        "住建局",
    ),
    (
        "jb-102",
        "沿江路人行道地砖松动",
        "沿江路靠近百花里那一段人行道地砖松动，下雨踩上去溅一身泥水。",
        "您好！市政养护单位已于4月2日对沿江路百花里段松动地砖进行更换修复。",
        "城管局",
    ),
]
PETITION = {
    "title": "水箱没人清洗",
    "body": "江北新村二次供水水箱一直没人清洗，放出来的水有怪味，水箱盖也坏了",
    "department": "住建局",
}


def write_history(path, rows=ROWS) -> str:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "title", "body", "reply", "dept"])
        w.writerows(rows)
    return str(path)


def index_on(monkeypatch, models_dir, db_url, path) -> int:
    monkeypatch.setenv("TRIAGE_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("TRIAGE_DATABASE_URL", db_url)
    monkeypatch.setenv("TRIAGE_ANSWERS_ENCODER", "none")
    return main(["index", "--history", path, "--id-col", "id", "--department-col", "dept"])


def history_ids(client) -> list[str]:
    r = client.post("/draft", json=PETITION)
    assert r.status_code == 200, r.text
    return [s["id"] for s in r.json()["sources"] if s["kind"] == "history"]


def store_counts(db_url) -> tuple[int, int]:
    store = Store(db_url)
    try:
        with store.session() as s:
            return len(batch_ids(s)), imported_count(s)
    finally:
        store.dispose()


def test_an_import_on_one_host_is_drafted_from_on_the_other(
    hosts, db_settings, tmp_path, monkeypatch, capsys
):
    _, b = hosts
    assert "jb-101" not in history_ids(b)
    code = index_on(
        monkeypatch, tmp_path / "host-a", db_settings.database_url, write_history(tmp_path / "h.csv")
    )
    assert code == 0
    assert '"indexed": 2' in capsys.readouterr().out
    assert store_counts(db_settings.database_url) == (1, 2)
    assert history_ids(b)[0] == "jb-101"  # B caught up from the store, not from A's folder


def test_a_bad_file_stores_nothing_and_a_repeat_adds_nothing(db_settings, tmp_path, monkeypatch, capsys):
    bad = tmp_path / "bad.csv"
    with open(bad, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(
            [["id", "title", "body", "dept"], *[r[:3] + r[4:] for r in ROWS]]
        )  # no reply column
    assert index_on(monkeypatch, tmp_path / "m", db_settings.database_url, str(bad)) == 2
    assert "reply" in capsys.readouterr().err
    assert store_counts(db_settings.database_url) == (0, 0)
    good = write_history(tmp_path / "h.csv")
    assert index_on(monkeypatch, tmp_path / "m", db_settings.database_url, good) == 0
    assert index_on(monkeypatch, tmp_path / "m", db_settings.database_url, good) == 0
    assert '"indexed": 0, "duplicates": 2' in capsys.readouterr().out.replace("\n", "").replace("  ", " ")
    assert store_counts(db_settings.database_url) == (1, 2)


def test_an_older_installations_history_folder_is_imported_on_first_start(db_settings, tmp_path):
    """Before this table, `triage index` wrote only the host's folder: the first start with the
    store puts those cases in it, once, and then every host drafts from them."""
    old = tmp_path / "host-old"
    shutil.copytree(db_settings.models_dir, old)
    folder = HistoryIndex(retrieval_dir(old) / "history")
    folder.add_history(
        [HistoryItem(id=i, text=f"{t}。{b}", reply=r, department=d) for i, t, b, r, d in ROWS]
        + [HistoryItem(id="case-7", text="已发送的答复", reply="网友您好：已处理。", department="住建局")]
    )
    folder.close()
    first = host(db_settings, old)
    try:
        assert store_counts(db_settings.database_url) == (
            1,
            2,
        )  # the sent reply's case is the store's already
        close(first)
        again = host(db_settings, old)  # a restart imports nothing twice
        close(again)
        assert store_counts(db_settings.database_url) == (1, 2)
        fresh = tmp_path / "host-new"
        shutil.copytree(db_settings.models_dir, fresh)
        other = host(db_settings, fresh)
        assert history_ids(other)[0] == "jb-101"
        close(other)
    finally:
        first.app.state.store.dispose()


def test_a_lost_history_folder_gets_its_imports_back_from_the_store(db_settings, tmp_path, monkeypatch):
    models = tmp_path / "host-a"
    shutil.copytree(db_settings.models_dir, models)
    assert index_on(monkeypatch, models, db_settings.database_url, write_history(tmp_path / "h.csv")) == 0
    shutil.rmtree(retrieval_dir(models) / "history")
    restarted = host(db_settings, models)
    try:
        assert history_ids(restarted)[0] == "jb-101"
    finally:
        close(restarted)


def test_imported_rows_carry_their_tokens(db_settings, tmp_path, monkeypatch):
    """No host tokenises an import again: the store holds each row's retrieval words."""
    from sqlalchemy import select

    from triage.store.models import ImportedCase

    assert (
        index_on(monkeypatch, tmp_path / "m", db_settings.database_url, write_history(tmp_path / "h.csv"))
        == 0
    )
    store = Store(db_settings.database_url)
    try:
        with store.session() as s:
            row = s.scalars(select(ImportedCase).where(ImportedCase.case_id == "jb-101")).one()
        assert row.tokens.split(" ") == retrieval_tokens(row.text)
    finally:
        store.dispose()


def test_a_vague_past_reply_is_never_imported_as_a_source(db_settings, tmp_path, monkeypatch, capsys):
    """“已转相关部门” closed a case once; it must not be shown to staff as the answer to copy."""
    vague = (
        "jb-103",
        "楼道灯不亮",
        "江北新村3栋楼道灯不亮一个月了",
        "您好！您的留言已收悉，已转相关部门处理。",
        "住建局",
    )
    path = write_history(tmp_path / "h.csv", [*ROWS, vague])
    assert index_on(monkeypatch, tmp_path / "m", db_settings.database_url, path) == 0
    out = capsys.readouterr().out
    assert '"indexed": 2' in out and '"skipped_vague_reply": 1' in out
    assert store_counts(db_settings.database_url) == (1, 2)
