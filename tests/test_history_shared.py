"""The drafting history shared by several processes over one directory.

Mechanism under test (triage/retrieval/history.py): writers take an exclusive flock on
`history.lock` and first read the rows others appended; readers notice other processes' commits
through SQLite's `PRAGMA data_version` (and merges through the manifest's stamp) at most every
`check_seconds`, and read only the new rows.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from triage.retrieval.history import HistoryIndex, HistoryItem

TOPICS = ["电梯故障", "噪音扰民", "拖欠工资", "道路积水", "垃圾清运", "路灯不亮", "违章停车", "油烟污染"]


def item(tag: str, n: int) -> HistoryItem:
    topic = TOPICS[n % len(TOPICS)]
    return HistoryItem(
        id=f"{tag}-{n}",
        text=f"{topic}问题反映 编号{tag}{n} 小区居民多次投诉{topic}",
        reply=f"网友您好：关于{topic}，已责成相关单位处理（{tag}{n}）。",
        department=["住建局", "城管局", "人社局"][n % 3],
        date=f"2025-0{1 + n % 9}-1{n % 10}",
    )


def stored_ids(directory: Path) -> list[str]:
    fresh = HistoryIndex(directory, check_seconds=0)
    try:
        return [r[0] for r in fresh._db.execute("SELECT id FROM cases ORDER BY pos")]
    finally:
        fresh.close()


def test_an_addition_through_one_instance_is_found_by_the_other(tmp_path):
    a = HistoryIndex(tmp_path, check_seconds=0)
    b = HistoryIndex(tmp_path, check_seconds=0)
    assert a.add_history([item("a", 0)]).added == 1
    hits = b.search("电梯故障问题反映 小区居民", k=3)
    assert [h.id for h in hits] == ["a-0"]
    # b appends after a's row (it reads a's addition first), and a sees b's
    assert b.add_history([item("b", 1)]).added == 1
    assert {h.id for h in a.search("噪音扰民问题反映", k=5)} >= {"b-1"}
    assert len(a) == len(b) == 2
    # an id added by the other instance is a duplicate, not a second row
    assert a.add_history([item("b", 1)]).duplicates == ["b-1"]
    a.close()
    b.close()
    assert stored_ids(tmp_path) == ["a-0", "b-1"]


def test_a_reader_checks_at_most_every_check_seconds(tmp_path):
    writer = HistoryIndex(tmp_path, check_seconds=0)
    reader = HistoryIndex(tmp_path, check_seconds=0.5)
    reader.search("电梯", k=1)  # the check clock starts now
    writer.add_history([item("w", 0)])
    assert reader.search("电梯故障问题反映", k=1) == []  # within the interval: not looked yet
    time.sleep(0.6)
    assert [h.id for h in reader.search("电梯故障问题反映", k=1)] == ["w-0"]
    writer.close()
    reader.close()


def test_a_merge_in_one_instance_is_adopted_by_the_other(tmp_path):
    a = HistoryIndex(tmp_path, merge_min=5, check_seconds=0)
    b = HistoryIndex(tmp_path, merge_min=5, check_seconds=0)
    for n in range(14):  # a merges twice; b only ever reads
        a.add_history([item("a", n)])
    assert a._sparse.main_size > 0
    query = "拖欠工资问题反映 小区居民多次投诉"
    assert [h.id for h in b.search(query, k=4)] == [h.id for h in a.search(query, k=4)]
    assert b._sparse.main_size == a._sparse.main_size  # adopted the merged segment, not rebuilt
    b.add_history([item("b", 99)])
    assert len(a.search("x", k=1)) == 0 and len(a) == 15  # a caught up on b's row
    fresh = HistoryIndex(tmp_path, merge_min=5)
    assert [h.id for h in fresh.search(query, k=6)] == [h.id for h in b.search(query, k=6)]
    for index in (a, b, fresh):
        index.close()


def test_a_search_does_not_wait_for_another_process_writing(tmp_path):
    writer = HistoryIndex(tmp_path, check_seconds=0)
    reader = HistoryIndex(tmp_path, check_seconds=0)
    writer.add_history([item("w", 0)])
    with writer._lock, writer._file_lock(exclusive=True):  # as during a long bulk import
        assert reader.search("电梯故障问题反映", k=1) == []  # skipped the refresh, did not block
    assert [h.id for h in reader.search("电梯故障问题反映", k=1)] == ["w-0"]
    writer.close()
    reader.close()


ADDER = textwrap.dedent(
    """
    import sys, time
    from tests.test_history_shared import item
    from triage.retrieval.history import HistoryIndex

    directory, tag, count, start_at = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    index = HistoryIndex(directory, merge_min=7, check_seconds=0)
    while time.time() < start_at:
        time.sleep(0.005)
    for n in range(count):
        report = index.add_history([item(tag, n)])
        assert report.added == 1, report
        index.search("电梯故障问题反映", k=2)
    deadline = time.time() + 60  # the other process may still be adding: wait to see all of it
    while len(index) < 2 * count and time.time() < deadline:
        time.sleep(0.05)
        index.search("电梯故障问题反映", k=2)
    print(len(index))
    """
)


def test_concurrent_additions_from_two_processes_are_all_kept(tmp_path):
    """Two processes add 40 cases each at the same time (merging every few): none lost, none doubled."""
    HistoryIndex(tmp_path).close()  # create the store once, as the server's first start would
    count = 40
    start_at = time.time() + 3.0  # both processes are loaded by then and start together
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ADDER, str(tmp_path), tag, str(count), str(start_at)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        for tag in ("p", "q")
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
        assert int(out.strip()) == 2 * count  # each ends up seeing both processes' cases
    ids = stored_ids(tmp_path)
    assert sorted(ids) == sorted([f"p-{n}" for n in range(count)] + [f"q-{n}" for n in range(count)])
    # the two processes' additions interleaved (they really ran concurrently)
    tags = "".join(i[0] for i in ids)
    assert tags.count("pq") + tags.count("qp") >= 2, tags
    fresh = HistoryIndex(tmp_path, merge_min=7)
    assert len(fresh) == 2 * count
    positions = [r[0] for r in fresh._db.execute("SELECT pos FROM cases ORDER BY pos")]
    assert positions == list(range(2 * count))
    for n in (3, 17, 38):
        for tag in ("p", "q"):
            hit = fresh.search(item(tag, n).text, k=1)[0]
            assert hit.id == f"{tag}-{n}"
    fresh.close()
