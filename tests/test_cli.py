import csv
import json
import subprocess
import sys

import pytest

from cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_classify_text_prints_json(env_models, capsys):
    code, out, _ = run(capsys, "classify", "--text", "超市卖过期牛奶，要求查处")
    assert code == 0
    data = json.loads(out)
    assert data["label"] == "市场监管局"
    assert {"confidence", "abstain", "top_k", "reasons", "model_version"} <= set(data)


def test_classify_csv_adds_columns(env_models, capsys, tmp_path):
    src = tmp_path / "in.csv"
    with open(src, "w", encoding="gb18030", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["编号", "title", "body"])
        w.writerow(["1", "拖欠工资", "公司欠薪三个月"])
        w.writerow(["2", "學區劃分", "孩子上小學的學區怎麼劃分"])
    out = tmp_path / "out.csv"
    code, stdout, _ = run(
        capsys, "classify", "--input", str(src), "--text-col", "title,body", "--output", str(out)
    )
    assert code == 0 and "2 rows" in stdout
    rows = list(csv.DictReader(open(out, encoding="utf-8-sig")))
    assert [r["编号"] for r in rows] == ["1", "2"]
    assert [r["label"] for r in rows] == ["人社局", "教育局"]
    assert rows[0]["abstain"] in {"True", "False"}
    top = json.loads(rows[0]["top_k"])
    assert top[0]["label"] == "人社局" and float(rows[0]["confidence"]) == pytest.approx(
        top[0]["probability"], abs=1e-4
    )


def test_classify_a_labelled_file_keeps_its_labels_beside_the_prediction(env_models, capsys, tmp_path):
    """An admin scoring a labelled test file: the output's `label` is the prediction (the
    contract), the file's own labels stay in `input_label`, and stderr says so."""
    src = tmp_path / "labelled.csv"
    src.write_text(
        "title,body,label\n拖欠工资,公司欠薪三个月,劳动纠纷\n学区划分,孩子上小学的学区怎么划分,教育\n",
        "utf-8",
    )
    out = tmp_path / "out.csv"
    code, _, err = run(
        capsys, "classify", "--input", str(src), "--text-col", "title,body", "--output", str(out)
    )
    assert code == 0
    rows = list(csv.DictReader(open(out, encoding="utf-8-sig")))
    assert [r["label"] for r in rows] == ["人社局", "教育局"]
    assert [r["input_label"] for r in rows] == ["劳动纠纷", "教育"]
    assert "the input's values are kept in 'input_label'" in err


def test_classify_csv_missing_column_fails_with_name(env_models, capsys, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("title,content\n标题,正文\n", encoding="utf-8")
    code, _, err = run(
        capsys,
        "classify",
        "--input",
        str(src),
        "--text-col",
        "title,body",
        "--output",
        str(tmp_path / "o.csv"),
    )
    assert code == 2 and "'body'" in err and "in.csv" in err
    assert not (tmp_path / "o.csv").exists()


def test_classify_empty_text_row_names_the_row(env_models, capsys, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("title,body\n标题,正文\n,\n", encoding="utf-8")
    code, _, err = run(capsys, "classify", "--input", str(src), "--output", str(tmp_path / "o.csv"))
    assert code == 2 and "row 3" in err


def test_train_reports_errors_with_row_and_column(env_models, capsys, tmp_path):
    src = tmp_path / "train.csv"
    src.write_text("title,body,label\n路灯,不亮,城管局\n工资,拖欠,\n", encoding="utf-8")
    before = sorted(p.name for p in env_models.iterdir())
    code, _, err = run(
        capsys, "train", "--data", str(src), "--text-col", "title,body", "--label-col", "label"
    )
    assert code == 2 and "row 3" in err and "'label'" in err
    assert sorted(p.name for p in env_models.iterdir()) == before


def test_train_then_list_promote_rollback(env_models, capsys, tmp_path):
    src = tmp_path / "train.csv"
    lines = ["title,body,dept"]
    for i in range(6):
        lines += [f"路灯不亮{i},小区路灯坏了{i}天,城管局", f"拖欠工资{i},老板欠薪{i}个月,人社局"]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    code, out, _ = run(capsys, "train", "--data", str(src), "--text-col", "title,body", "--label-col", "dept")
    assert code == 0
    trained = json.loads(out)
    assert trained["labels"] == ["人社局", "城管局"] and trained["promoted"] is False

    code, out, _ = run(capsys, "models", "list")
    assert code == 0 and trained["version"] in out

    code, out, _ = run(capsys, "models", "promote", trained["version"])
    assert code == 0 and json.loads(out)["live"] == trained["version"]
    code, out, _ = run(capsys, "classify", "--text", "路灯坏了")
    assert json.loads(out)["model_version"] == trained["version"]

    code, out, _ = run(capsys, "models", "rollback")
    assert code == 0 and json.loads(out)["live"] != trained["version"]


def test_promote_unknown_version_fails_and_keeps_live(env_models, capsys):
    pointer = (env_models / "live.json").read_text()
    code, _, err = run(capsys, "models", "promote", "no-such-version")
    assert code == 2 and "no-such-version" in err
    assert (env_models / "live.json").read_text() == pointer


def test_evaluate_on_a_labelled_file(env_models, capsys, tmp_path):
    src = tmp_path / "eval.csv"
    src.write_text(
        "title,body,label\n拖欠工资,公司欠薪,人社局\n过期食品,超市卖过期牛奶,市场监管局\n", encoding="utf-8"
    )
    code, out, _ = run(capsys, "evaluate", "--data", str(src))
    data = json.loads(out)
    assert code == 0 and data["n"] == 2 and 0 <= data["macro_f1"] <= 1


def test_installed_entry_point_runs(env_models):
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from cli import main; sys.exit(main())",
            "classify",
            "--text",
            "",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "empty" in result.stderr
