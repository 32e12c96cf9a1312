"""`/admin/retrain` and `triage retrain` on an uploaded CSV alone, and promotion's routing check there."""

from __future__ import annotations

import json

from cli import main as cli_main
from datasets import load_sample
from tests.admin_fixtures import unrouted_csv
from tests.cases_fixtures import seed_cases
from tests.test_retrain import _wait
from triage.store.engine import Store


def _upload(tmp_path) -> bytes:
    text = unrouted_csv(tmp_path / "export.csv", per_label=8).read_text(encoding="utf-8")
    return text.replace("title,body,label", "title,body,department", 1).encode("utf-8")


def test_only_upload_trains_on_the_csv_alone_and_an_unrouted_promotion_is_refused(
    db_client, registry, tmp_path
):
    c = db_client
    seed_cases(c.app.state.store, load_sample()[:60])  # the store's history: other labels
    live = registry.live_version()
    r = c.post(
        "/admin/retrain",
        data={"only_upload": "true", "promote": "true"},
        files={"file": ("export.csv", _upload(tmp_path), "text/csv")},
    )
    assert r.status_code == 202, r.text
    job = _wait(c, r.json()["job_id"])
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["data"]["store"] == 0 and result["data"]["csv"] == 24
    assert result["labels"] == sorted(["城乡建设", "社会救助", "学前教育"])
    # the new labels have no route: the bundle is kept, not made live, and the job says why
    assert result["promoted"] is False and "社会救助" in result["promotion_refused"]
    assert registry.live_version() == live and c.get("/health").json()["status"] == "ok"


def test_without_only_upload_the_csv_is_still_merged_with_the_store(db_client, tmp_path):
    c = db_client
    seed_cases(c.app.state.store, load_sample()[:60])
    r = c.post("/admin/retrain", files={"file": ("export.csv", _upload(tmp_path), "text/csv")})
    job = _wait(c, r.json()["job_id"])
    assert job["status"] == "succeeded", job
    assert job["result"]["data"]["store"] == 60 and job["result"]["data"]["csv"] == 24


def test_only_upload_without_a_file_is_422(db_client):
    r = db_client.post("/admin/retrain", data={"only_upload": "true"})
    assert r.status_code == 422 and "only_upload=true needs a file" in r.json()["detail"]
    assert db_client.get("/admin/jobs").json()["jobs"] == []


def test_cli_retrain_only_data(env_models, settings, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("TRIAGE_DATABASE_URL", settings.database_url)
    assert cli_main(["retrain", "--from-store", "--only-data"]) == 2
    assert "--only-data needs --data" in capsys.readouterr().err
    store = Store(settings.database_url)
    seed_cases(store, load_sample()[:60])
    store.dispose()
    export = tmp_path / "export.csv"
    export.write_bytes(_upload(tmp_path))
    code = cli_main(["retrain", "--from-store", "--data", str(export), "--only-data"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    assert result["data"]["store"] == 0 and result["data"]["csv"] == 24 and result["promoted"] is False
    code = cli_main(["retrain", "--from-store", "--data", str(export), "--only-data", "--promote"])
    out, err = capsys.readouterr()
    assert code == 2 and "学前教育, 社会救助" in err and json.loads(out)["promoted"] is False


def test_retrain_on_an_export_with_a_rare_label_merges_it_when_asked(db_client, tmp_path):
    c = db_client
    rows = _upload(tmp_path).decode("utf-8").splitlines()
    rare = [r.rsplit(",", 1)[0] + ",殡葬管理" for r in rows[1:3]]  # two rows of a label too rare to hold out
    upload = "\n".join([*rows, *rare]).encode("utf-8")
    failed = _wait(
        c,
        c.post("/admin/retrain", data={"only_upload": "true"}, files={"file": ("e.csv", upload)}).json()[
            "job_id"
        ],
    )
    assert (
        failed["status"] == "failed"
        and "'殡葬管理' (2)" in failed["error"]
        and "--min-examples" in failed["error"]
    )
    r = c.post(
        "/admin/retrain",
        data={"only_upload": "true", "min_examples": "3", "rare": "merge", "merge_into": "城乡建设"},
        files={"file": ("e.csv", upload)},
    )
    job = _wait(c, r.json()["job_id"])
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["rare_labels"] == {
        "min_examples": 3,
        "merged": {"殡葬管理": 2},
        "rows": 2,
        "into": "城乡建设",
    }
    assert "殡葬管理" not in result["labels"] and result["data"]["csv"] == 26
