"""`triage check`: a CSV of replies in, the same CSV with score/verdict/flags out, and a summary."""

from __future__ import annotations

import csv
import json

import pytest

from cli import main
from datasets import SAMPLE_DIR

GOOD = (
    "网友您好：经核实，锦绣花园北门外三盏路灯因电缆老化损坏，我局已于3月5日更换电缆，路灯已恢复照明。"
    "如再有问题，可拨打城管热线0571-86512345。"
)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(path, header, rows, encoding="utf-8"):
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_check_sample_file_with_department_summary(capsys, tmp_path):
    src = SAMPLE_DIR / "petitions_a.csv"
    out = tmp_path / "checked.csv"
    code, stdout, _ = run(
        capsys,
        "check", "--input", str(src), "--petition-cols", "title,body", "--reply-col", "reply",
        "--received-col", "received_at", "--replied-col", "replied_at", "--request-type-col", "request_type",
        "--department-col", "department", "--output", str(out),
    )  # fmt: skip
    assert code == 0
    rows = list(csv.DictReader(open(out, encoding="utf-8-sig")))
    source = list(csv.DictReader(open(src, encoding="utf-8-sig")))
    assert [r["id"] for r in rows] == [r["id"] for r in source]
    assert {"score", "verdict", "flags", "flag_evidence"} <= set(rows[0])
    for row in rows:
        assert 0 <= int(row["score"]) <= 100 and row["verdict"] in {"ok", "revise"}
        assert set(json.loads(row["flag_evidence"])) == {c for c in row["flags"].split(";") if c}
    # the sample's own labels: every reply it calls vague is marked revise, and most good ones are not
    vague = [r for r in rows if r["reply_quality"] == "vague"]
    assert vague and all(r["verdict"] == "revise" for r in vague)
    good = [r for r in rows if r["reply_quality"] == "good"]
    assert sum(r["verdict"] == "ok" for r in good) / len(good) > 0.9
    revise = sum(r["verdict"] == "revise" for r in rows)
    assert f"checked {len(rows)} replies: {revise} to revise" in stdout
    departments = {r["department"] for r in rows}
    summary = stdout.split("department", 1)[1]
    for department in departments:
        share = sum(r["verdict"] == "revise" for r in rows if r["department"] == department) / sum(
            r["department"] == department for r in rows
        )
        line = next(line for line in summary.splitlines() if line.startswith(department))
        assert f"{share:.1%}" in line


def test_single_reply_prints_json(capsys):
    code, out, _ = run(
        capsys, "check", "--title", "路灯不亮", "--body", "北门路灯坏了", "--reply", "留言已收悉。"
    )
    assert code == 0
    data = json.loads(out)
    assert data["verdict"] == "revise" and "ack_only" in [f["code"] for f in data["flags"]]


def test_single_reply_bad_date_exits_2(capsys):
    code, _, err = run(capsys, "check", "--title", "路灯", "--reply", GOOD, "--replied-at", "tomorrow")
    assert code == 2 and "--replied-at" in err


def test_gb18030_file_and_single_petition_column(capsys, tmp_path):
    src = write(
        tmp_path / "in.csv",
        ["内容", "答复"],
        [["路燈壞了", "已收悉"], ["路灯坏了", GOOD]],
        encoding="gb18030",
    )
    out = tmp_path / "out.csv"
    code, _, _ = run(
        capsys,
        "check",
        "--input",
        str(src),
        "--petition-cols",
        "内容",
        "--reply-col",
        "答复",
        "--output",
        str(out),
    )
    assert code == 0
    rows = list(csv.DictReader(open(out, encoding="utf-8-sig")))
    assert [r["verdict"] for r in rows] == ["revise", "ok"]


@pytest.mark.parametrize(
    ("rows", "extra", "expected"),
    [
        ([["路灯", "坏了", GOOD, "2025/13/1"]], ["--replied-col", "replied"], ["row 2", "'replied'"]),
        ([["路灯", "坏了", GOOD, ""], ["", "", GOOD, ""]], [], ["row 3", "'title,body'"]),
        ([["路灯", "坏了", "好" * 20_001, ""]], [], ["row 2", "'reply'", "20000"]),
    ],
)
def test_bad_rows_fail_with_row_and_column_and_write_nothing(capsys, tmp_path, rows, extra, expected):
    src = write(tmp_path / "in.csv", ["title", "body", "reply", "replied"], rows)
    out = tmp_path / "out.csv"
    code, _, err = run(capsys, "check", "--input", str(src), "--output", str(out), *extra)
    assert code == 2
    assert all(e in err for e in expected), err
    assert not out.exists()


def test_missing_column_is_named(capsys, tmp_path):
    src = write(tmp_path / "in.csv", ["title", "body", "answer"], [["路灯", "坏了", GOOD]])
    code, _, err = run(capsys, "check", "--input", str(src), "--output", str(tmp_path / "o.csv"))
    assert code == 2 and "'reply'" in err


def test_output_is_required_with_input(capsys, tmp_path):
    src = write(tmp_path / "in.csv", ["title", "body", "reply"], [["路灯", "坏了", GOOD]])
    code, _, err = run(capsys, "check", "--input", str(src))
    assert code == 2 and "--output" in err


def test_broken_rules_file_exits_2(capsys, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("flags: []\n", encoding="utf-8")
    code, _, err = run(capsys, "check", "--reply", GOOD, "--title", "路灯", "--rules", str(rules))
    assert code == 2 and "rules.yaml" in err and "flags" in err


def test_templates_in_the_file_are_near_duplicates(capsys, tmp_path):
    template = "您的留言已收悉。关于您反映的问题，已转{}调查处理。"
    rows = [[f"问题{i}", "内容", template.format(p)] for i, p in enumerate("甲乙丙丁戊己庚辛壬癸")]
    rows.append(["路灯", "北门路灯坏了", GOOD])
    src = write(tmp_path / "in.csv", ["title", "body", "reply"], rows)
    out = tmp_path / "out.csv"
    assert run(capsys, "check", "--input", str(src), "--output", str(out))[0] == 0
    checked = list(csv.DictReader(open(out, encoding="utf-8-sig")))
    assert all("near_duplicate" in r["flags"] for r in checked[:10])
    assert "near_duplicate" not in checked[10]["flags"]


def test_reference_file_replaces_the_input_as_the_reference_set(capsys, tmp_path):
    template = "您的留言已收悉。关于您反映的问题，已转{}调查处理。"
    reference = write(
        tmp_path / "past.csv", ["reply"], [[template.format(p)] for p in "甲乙丙丁戊己庚辛壬癸"]
    )
    src = write(
        tmp_path / "in.csv", ["title", "body", "reply"], [["路灯", "北门路灯坏了", template.format("子")]]
    )
    out = tmp_path / "out.csv"
    assert run(capsys, "check", "--input", str(src), "--output", str(out))[0] == 0
    assert "near_duplicate" not in next(csv.DictReader(open(out, encoding="utf-8-sig")))["flags"]
    args = ["check", "--input", str(src), "--output", str(out), "--reference", str(reference)]
    assert run(capsys, *args)[0] == 0
    row = next(csv.DictReader(open(out, encoding="utf-8-sig")))
    assert (
        "near_duplicate" in row["flags"]
        and "另有 10 条" in json.loads(row["flag_evidence"])["near_duplicate"]
    )
