"""`triage topics`: a CSV of petitions in, a ranked CSV of topics out."""

from __future__ import annotations

import csv
import json

import pytest

from cli import main
from tests.topics_fixtures import petitions


def write(path, rows, header=("id", "title", "body", "received_at", "likes")):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def petition_rows():
    return [
        [p["id"], p["title"], p["body"], p["received_at"].strftime("%Y/%m/%d %H:%M:%S"), p.get("likes", "")]
        for p in petitions(days=8)
    ]


def read(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_topics_csv_ranked_with_members_and_daily(tmp_path, capsys):
    src, out = write(tmp_path / "in.csv", petition_rows()), tmp_path / "topics.csv"
    assert main(["topics", "--input", str(src), "--since", "2024-05-01", "--output", str(out)]) == 0
    rows = read(out)
    assert [r["rank"] for r in rows] == ["1", "2", "3"]
    assert list(rows[0]) == [
        "rank", "topic_id", "title", "place", "first_time", "last_time", "count",
        "supporters", "heat", "growth", "entities", "daily", "members",
    ]  # fmt: skip
    lift = next(r for r in rows if "lift-0" in r["members"].split())
    assert lift["members"].split() == ["lift-0", "lift-1", "lift-2", "lift-3"]
    assert lift["count"] == "4" and lift["supporters"] == "6"
    assert sum(d["count"] for d in json.loads(lift["daily"])) == 4
    assert [float(r["heat"]) for r in rows] == sorted((float(r["heat"]) for r in rows), reverse=True)
    assert "3 topics written" in capsys.readouterr().out


def test_since_cuts_the_window(tmp_path):
    src, out = write(tmp_path / "in.csv", petition_rows()), tmp_path / "topics.csv"
    assert (
        main(
            ["topics", "--input", str(src), "--since", "2024-05-06", "--output", str(out), "--min-count", "1"]
        )
        == 0
    )
    members = [m for r in read(out) for m in r["members"].split()]
    assert sorted(members) == ["lift-3", "school-3", "smoke-3"]


def test_taidi_style_columns_and_row_index_ids(tmp_path):
    rows = [[p[1], p[2], p[3], p[4]] for p in petition_rows()]
    src = write(tmp_path / "in.csv", rows, header=("title", "body", "created_at", "点赞数"))
    out = tmp_path / "topics.csv"
    assert main(["topics", "--input", str(src), "--output", str(out)]) == 0
    lift = next(r for r in read(out) if "锦绣花园" in r["place"])
    assert lift["members"].split() == ["0", "1", "2", "3"]  # 0-based data row index without an id column
    assert lift["supporters"] == "6"


@pytest.mark.parametrize(
    ("rows", "extra", "message"),
    [
        ([["a", "t", "b", "2024-05-01", ""]], ["--since", "May"], "--since"),
        ([["a", "t", "b", "someday", ""]], [], "row 2, column 'received_at'"),
        ([["a", "t", "b", "2024-05-01", "lots"]], [], "column 'likes'"),
        ([["a", "t", "b", "2024-05-01", ""], ["a", "t", "b", "2024-05-01", ""]], [], "id 'a' repeats row 2"),
        ([["a", "", " ", "2024-05-01", ""]], [], "empty text"),
        ([["a", "t", "b", "2024-05-01", ""]], ["--since", "2024-06-01", "--until", "2024-05-01"], "after"),
    ],
)
def test_errors_exit_2_with_the_place_of_the_problem(tmp_path, capsys, rows, extra, message):
    src, out = write(tmp_path / "in.csv", rows), tmp_path / "topics.csv"
    assert main(["topics", "--input", str(src), "--output", str(out), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_missing_time_column(tmp_path, capsys):
    src = write(tmp_path / "in.csv", [["t", "b"]], header=("title", "body"))
    assert main(["topics", "--input", str(src), "--output", str(tmp_path / "o.csv")]) == 2
    assert "--time-col" in capsys.readouterr().err
