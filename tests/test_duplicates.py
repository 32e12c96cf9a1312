"""The duplicate index and `triage duplicates`, on written petitions and on the real hot-topic file."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import datetime

import pytest

from cli import main
from tests.conftest import requires_shared
from triage.topics import DuplicateIndex

ORIGINAL = (
    "我是城南区锦绣花园12栋的业主，电梯从三月起就坏了，物业一直说在等配件，"
    "老人上下楼非常困难，请有关部门督促物业尽快修好电梯。"
)
# the same petition reposted: greeting added, punctuation and one phrase changed
REPOST = (
    "领导您好！我是城南区锦绣花园12栋的业主，电梯从三月份起就坏了，物业一直说在等配件。"
    "老人上下楼非常困难，请有关部门督促物业尽快修好电梯！！"
)
SAME_PROBLEM_OWN_WORDS = "锦绣花园12栋电梯停了两个月了，家里老人下不了楼，物业推给开发商，希望政府管一管。"
UNRELATED = "孩子刚出生，想咨询一下新生儿落户需要准备哪些材料，在哪个派出所办理，需要多长时间。"


def test_repost_is_found_and_unrelated_is_not():
    index = DuplicateIndex()
    index.add("c1", ORIGINAL, datetime(2024, 5, 1))
    index.add("c2", UNRELATED, datetime(2024, 5, 2))
    matches = index.query(REPOST)
    assert [m.case_id for m in matches] == ["c1"]
    assert 0.5 <= matches[0].similarity < 1.0
    assert index.query(ORIGINAL)[0].similarity == 1.0
    # a different citizen describing the same problem is a topic member, not a duplicate
    assert index.query(SAME_PROBLEM_OWN_WORDS) == []


def test_normalisation_makes_traditional_and_full_width_copies_equal():
    index = DuplicateIndex()
    index.add("c1", "锦绣花园电梯坏了两个月，物业不修，老人上下楼很困难，请尽快处理。")
    assert index.query("錦繡花園電梯壞了兩個月，物業不修，老人上下樓很困難，請儘快處理。")[0].case_id == "c1"
    assert index.query("锦绣花园电梯坏了两个月 物业不修 老人上下楼很困难 请尽快处理")[0].similarity == 1.0


def test_within_days_limits_to_recent_cases():
    index = DuplicateIndex()
    index.add("old", ORIGINAL, datetime(2024, 1, 1))
    index.add("new", ORIGINAL, datetime(2024, 5, 1))
    index.add("undated", ORIGINAL, None)
    got = index.query(REPOST, received_at=datetime(2024, 5, 10), within_days=30)
    assert sorted(m.case_id for m in got) == ["new", "undated"]
    assert len(index.query(REPOST)) == 3


def test_matches_are_most_similar_first_then_earliest():
    index = DuplicateIndex()
    index.add("later", ORIGINAL, datetime(2024, 5, 3))
    index.add("earlier", ORIGINAL, datetime(2024, 5, 1))
    index.add("repost", REPOST, datetime(2024, 5, 2))
    assert [m.case_id for m in index.query(ORIGINAL)] == ["earlier", "later", "repost"]


def test_remove_and_re_add():
    index = DuplicateIndex()
    index.add("c1", ORIGINAL)
    index.remove("c1")
    assert index.query(ORIGINAL) == [] and len(index) == 0
    with pytest.raises(KeyError):
        index.remove("c1")
    index.add("c1", UNRELATED)
    index.add("c1", ORIGINAL)  # an edited case replaces its text
    assert len(index) == 1 and index.query(UNRELATED) == []


def test_empty_text_is_refused_and_never_matches():
    index = DuplicateIndex()
    with pytest.raises(ValueError, match="empty"):
        index.add("c1", " ，。 ")
    index.add("c2", ORIGINAL)
    assert index.query("") == []


def test_bad_threshold():
    with pytest.raises(ValueError, match="threshold"):
        DuplicateIndex(threshold=0)


def test_save_load_roundtrip_keeps_ids_times_and_answers(tmp_path):
    index = DuplicateIndex(threshold=0.6)
    index.add("c1", ORIGINAL, datetime(2024, 5, 1, 8, 30))
    index.add("c2", UNRELATED)
    index.add("gone", REPOST)
    index.remove("gone")
    path = tmp_path / "dups.npz"
    index.save(path)
    loaded = DuplicateIndex.load(path)
    assert len(loaded) == 2 and loaded.threshold == 0.6
    assert loaded.query(REPOST) == index.query(REPOST)
    assert loaded.query(ORIGINAL)[0].received_at == datetime(2024, 5, 1, 8, 30)
    loaded.add("c3", REPOST)
    assert {m.case_id for m in loaded.query(REPOST)} == {"c1", "c3"}


def test_save_replaces_atomically(tmp_path, monkeypatch):
    index = DuplicateIndex()
    index.add("c1", ORIGINAL)
    path = tmp_path / "dups.npz"
    index.save(path)
    before = path.read_bytes()
    index.add("c2", UNRELATED)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("triage.topics.duplicates.np.savez", boom)
    with pytest.raises(OSError):
        index.save(path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["dups.npz"]


# --- CLI ---------------------------------------------------------------------------------------


def write(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def read(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_cli_marks_the_earliest_earlier_row_by_0_based_index(tmp_path):
    src = write(
        tmp_path / "in.csv",
        ["id", "title", "body"],
        [
            ["a", "电梯坏了", UNRELATED],
            ["b", "电梯坏了", ORIGINAL],
            ["c", "电梯坏了", REPOST],
            ["d", "电梯坏了", ORIGINAL],
        ],
    )
    out = tmp_path / "out.csv"
    assert main(["duplicates", "--input", str(src), "--text-col", "title,body", "--output", str(out)]) == 0
    rows = read(out)
    assert [r["id"] for r in rows] == ["a", "b", "c", "d"]  # input order, input columns kept
    assert [r["duplicate_of"] for r in rows] == ["", "", "1", "1"]
    assert rows[3]["similarity"] == "1.0" and 0.5 <= float(rows[2]["similarity"]) < 1


def test_cli_time_col_decides_what_is_earlier(tmp_path):
    src = write(
        tmp_path / "in.csv",
        ["title", "body", "at"],
        [
            ["电梯", ORIGINAL, "2024-05-03 10:00"],
            ["电梯", ORIGINAL, "2024/5/1 9:00"],
            ["落户", UNRELATED, "2024-05-02"],
        ],
    )
    out = tmp_path / "out.csv"
    args = ["duplicates", "--input", str(src), "--time-col", "at", "--output", str(out)]
    assert main(args) == 0
    assert [r["duplicate_of"] for r in read(out)] == ["1", "", ""]


def test_cli_within_days(tmp_path):
    src = write(
        tmp_path / "in.csv",
        ["title", "body", "at"],
        [["电梯", ORIGINAL, "2024-01-01"], ["电梯", ORIGINAL, "2024-05-01"], ["电梯", REPOST, "2024-05-03"]],
    )
    out = tmp_path / "out.csv"
    args = [
        "duplicates",
        "--input",
        str(src),
        "--time-col",
        "at",
        "--within-days",
        "30",
        "--output",
        str(out),
    ]
    assert main(args) == 0
    assert [r["duplicate_of"] for r in read(out)] == ["", "", "1"]


@pytest.mark.parametrize(
    ("rows", "extra", "message"),
    [
        ([["电梯", ORIGINAL]], ["--text-col", "title,text"], "missing column(s) 'text'"),
        ([["电梯", ORIGINAL], ["", " "]], [], "row 3"),
        ([["电梯", ORIGINAL]], ["--threshold", "1.5"], "--threshold"),
        ([["电梯", ORIGINAL]], ["--within-days", "3"], "--within-days needs --time-col"),
        ([["电梯", ORIGINAL]], ["--time-col", "body"], "not a date/time"),
    ],
)
def test_cli_errors_name_the_problem_and_write_nothing(tmp_path, capsys, rows, extra, message):
    src = write(tmp_path / "in.csv", ["title", "body"], rows)
    out = tmp_path / "out.csv"
    assert main(["duplicates", "--input", str(src), "--output", str(out), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


# --- the real file -------------------------------------------------------------------------------


@requires_shared
def test_every_exact_duplicate_in_the_hot_messages_file_is_found(tmp_path):
    """hot_messages_4326.csv has 55 rows whose (title, body) cells repeat an earlier row exactly
    (56 once surrounding whitespace is stripped, as the loader does); each must point at a row
    with the same text."""
    from datasets import load_taidi_raw
    from datasets.loaders import shared_datasets_dir
    from triage.csvio import read_csv

    _, raw = read_csv(shared_datasets_dir() / "taidi2020c" / "hot_messages_4326.csv")
    seen_raw, raw_repeats = set(), 0
    for r in raw:
        key = (r["留言主题"], r["留言详情"])
        raw_repeats += key in seen_raw
        seen_raw.add(key)
    assert raw_repeats == 55

    rows = load_taidi_raw("hot_messages_4326.csv")
    src = write(
        tmp_path / "hot.csv",
        ["id", "title", "body", "created_at"],
        [[r["id"], r["title"], r["body"], r["created_at"]] for r in rows],
    )
    out = tmp_path / "out.csv"
    args = ["duplicates", "--input", str(src), "--time-col", "created_at", "--output", str(out)]
    assert main(args) == 0
    result = read(out)
    first_index: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        first_index[(r["title"], r["body"])].append(i)
    from triage.topics.times import parse_time

    times = [parse_time(r["created_at"]) for r in rows]
    checked = 0
    for group in first_index.values():
        if len(group) < 2:
            continue
        ordered = sorted(group, key=lambda i: (times[i], i))
        for i in ordered[1:]:
            dup = result[i]["duplicate_of"]
            assert dup != "", f"row {i} ({rows[i]['title']}) repeats row {ordered[0]} but was not flagged"
            j = int(dup)
            # the earliest earlier row it repeats: never later than its exact twin
            assert (times[j], j) <= (times[ordered[0]], ordered[0])
            assert float(result[i]["similarity"]) >= 0.5
            checked += 1
    assert checked == 56

    # and the index itself returns the exact twin with similarity 1.0
    index = DuplicateIndex()
    for i, r in enumerate(rows):
        index.add(str(i), r["title"] + "。" + r["body"], times[i])
    for group in first_index.values():
        if len(group) > 1:
            hits = {
                m.case_id: m.similarity
                for m in index.query(rows[group[0]]["title"] + "。" + rows[group[0]]["body"])
            }
            assert all(hits.get(str(i)) == 1.0 for i in group)


def test_unreadable_lsh_tables_are_rebuilt_from_the_signatures(tmp_path):
    import numpy as np

    index = DuplicateIndex()
    index.add("c1", ORIGINAL, datetime(2024, 5, 1))
    index.add("c2", UNRELATED)
    path = tmp_path / "dups.npz"
    index.save(path)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["lsh"] = np.frombuffer(b"not a pickle", dtype=np.uint8)
    np.savez(path, **arrays)
    loaded = DuplicateIndex.load(path)
    assert [m.case_id for m in loaded.query(REPOST)] == ["c1"] and len(loaded) == 2


GARAGE = (
    "桂花园小区地下车库常年积水，一下雨水就漫到脚踝，业主的车泡在水里好几次了。"
    "物业说是排水泵坏了，报修了两年一直没人来修。车库里的电线也泡在水里，非常危险。"
    "请住建部门督促物业和开发商尽快修好排水设施，保障业主安全。"
)
# the same citizen, a week later, posting only the first sentences again
GARAGE_SHORTENED = (
    "桂花园小区地下车库常年积水，一下雨水就漫到脚踝，业主的车泡在水里好几次了。"
    "物业说是排水泵坏了，报修了两年一直没人来修。"
)
GARAGE_FIRST_SENTENCE = "桂花园小区地下车库常年积水，一下雨水就漫到脚踝，业主的车泡在水里好几次了。"
GARAGE_OWN_WORDS = "桂花园小区车库又积水了，我的车被泡了，物业不管，排水泵两年没修，希望政府管一管。"


def test_a_shortened_repost_is_found_and_a_short_common_line_is_not(tmp_path):
    """A repost with sentences dropped shares few 3-grams for its length (Jaccard 0.35-0.57 here)
    though nearly all of it is in the original; before, neither shortened repost was found (the
    first was a Jaccard match the LSH bands had not handed over). Saved and loaded, the index
    keeps what it needs for this (each petition's number of 3-grams)."""
    index = DuplicateIndex()
    index.add("garage", GARAGE, datetime(2024, 5, 1))
    index.add("c2", UNRELATED, datetime(2024, 5, 2))
    path = tmp_path / "dups.npz"
    index.save(path)
    for idx in (index, DuplicateIndex.load(path)):
        for repost in (GARAGE_SHORTENED, GARAGE_FIRST_SENTENCE):
            assert [m.case_id for m in idx.query(repost)] == ["garage"], repost
        assert idx.query(GARAGE_OWN_WORDS) == []  # another wording of the matter: a topic
        # a short line that any petition about the garage may contain is no repost of it
        assert idx.query("桂花园小区地下车库常年积水") == []


def test_an_index_saved_before_sizes_were_kept_still_answers(tmp_path):
    """An index file from before (no sizes; LSH tables banded for the threshold itself) loads:
    its tables are rebuilt with the current bands, and its cases are matched by Jaccard alone
    until the cache is rebuilt from the store."""
    import json

    import numpy as np

    index = DuplicateIndex()
    index.add("c1", ORIGINAL, datetime(2024, 5, 1))
    index.add("garage", GARAGE, datetime(2024, 5, 2))
    path = tmp_path / "dups.npz"
    index.save(path)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files if k != "sizes"}
    meta = json.loads(str(arrays["meta"]))
    del meta["candidates"]
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    old = DuplicateIndex.load(path)
    assert len(old) == 2 and [m.case_id for m in old.query(REPOST)] == ["c1"]
    assert old.query(GARAGE_FIRST_SENTENCE) == []  # its size is unknown: Jaccard alone decides
    old.add("garage", GARAGE, datetime(2024, 5, 2))  # re-indexed from the store: size known again
    assert [m.case_id for m in old.query(GARAGE_FIRST_SENTENCE)] == ["garage"]
