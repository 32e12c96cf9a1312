"""`triage classify --input` on a backlog: several processes, the same answers as one."""

from __future__ import annotations

import csv

from cli import main
from cli.classify import PARALLEL_FROM


def test_a_backlog_in_two_processes_matches_one_process_row_for_row(env_models, sample, tmp_path, capsys):
    src = tmp_path / "backlog.csv"
    texts = [f"{t}（第{i}件）" for i, t in enumerate(sample.texts * (PARALLEL_FROM // len(sample.texts) + 1))]
    texts = texts[: PARALLEL_FROM + 7]  # past the size at which extra processes start
    with src.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "body"])
        writer.writerows([i, t] for i, t in enumerate(texts))
    outputs = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out-{jobs}.csv"
        assert (
            main(
                ["classify", "--input", str(src), "--text-col", "body", "--output", str(out), "--jobs", jobs]
            )
            == 0
        )
        outputs[jobs] = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert f"classified {len(texts)} rows" in capsys.readouterr().out
    assert [r["id"] for r in outputs["2"]] == [str(i) for i in range(len(texts))]  # order kept
    assert outputs["1"] == outputs["2"]
    assert {r["label"] for r in outputs["2"]} >= {"人社局", "住建局"}
    # each abstained row says why (an admin sorts the manual ones by it); a routed row leaves it empty
    reasons = {r["abstain_reason"] for r in outputs["2"] if r["abstain"] == "True"}
    assert reasons and reasons <= {"label_not_automatic", "below_threshold", "close_runner_up"}
    assert {r["abstain_reason"] for r in outputs["2"] if r["abstain"] == "False"} == {""}


def test_jobs_below_zero_is_refused(env_models, tmp_path, capsys):
    src = tmp_path / "one.csv"
    src.write_text("body\n路灯不亮\n", encoding="utf-8")
    assert (
        main(
            [
                "classify",
                "--input",
                str(src),
                "--text-col",
                "body",
                "--output",
                str(tmp_path / "o.csv"),
                "--jobs",
                "-1",
            ]
        )
        == 2
    )
    assert "--jobs" in capsys.readouterr().err


def test_an_export_with_its_own_headers_is_told_how_to_name_them(env_models, tmp_path, capsys):
    """A clerk's export headed 编号,标题,内容 was refused for lacking 'title', 'body', with no word
    on the option that names the file's own columns."""
    src = tmp_path / "export.csv"
    src.write_text("编号,标题,内容\n1,路灯不亮,城南区丰乐路的路灯坏了一个月\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    assert main(["classify", "--input", str(src), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert "missing column(s) 'title', 'body' (name the file's own with --text-col)" in err, err
    assert "the file has 编号, 标题, 内容" in err and not out.exists()
    assert main(["classify", "--input", str(src), "--text-col", "标题,内容", "--output", str(out)]) == 0
    with out.open(encoding="utf-8-sig") as fh:
        assert [row["label"] for row in csv.DictReader(fh)] != [""]
