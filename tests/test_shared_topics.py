"""Topics are the store's: one host writes the model, every host serves it (issue 17, check 4).

Petitions written for this test about three problems (a broken lift, night-time construction
noise, a bus stop moved away) are posted alternately to hosts A and B; `/topics` must answer the
same on both (ids, groups, heat), a host that lost its folder serves the same again, and two
hosts catching up at once write one model, not two. SQLite and PostgreSQL.
"""

from __future__ import annotations

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from tests.hosts_fixtures import close, host
from triage.store.models import StoreLease, TopicSnapshot

PROBLEMS = {
    "lift": [
        ("电梯又坏了", "城东区锦华苑3号楼的电梯这个月第三次坏了，老人上下楼非常困难，物业一直不修"),
        ("锦华苑电梯故障", "锦华苑3号楼电梯停运一周，物业说在等配件，住在18楼的老人下不了楼"),
        ("3号楼电梯停运", "锦华苑小区3号楼电梯坏了很多天，物业不管，请相关部门督促维修"),
    ],
    "noise": [
        ("夜间施工噪音", "滨江路地铁站工地每天晚上施工到凌晨两点，噪音太大，孩子睡不着觉"),
        ("工地半夜施工扰民", "滨江路地铁工地半夜还在打桩，噪音扰民严重，请查处夜间违规施工"),
        ("滨江路工地噪音", "滨江路地铁站工地夜间施工噪音很大，附近居民无法休息，请管一管"),
    ],
    "bus": [
        ("公交站被取消", "人民路口的12路公交站突然取消了，附近居民要多走一公里才能坐车"),
        ("12路公交站点迁移", "人民路口12路公交站搬走了，老人坐车很不方便，希望恢复原站点"),
    ],
}


def _post_alternately(a, b) -> None:
    n = 0
    for problem, petitions in PROBLEMS.items():
        for title, body in petitions:
            client = a if n % 2 == 0 else b
            r = client.post(
                "/cases",
                json={
                    "external_id": f"{problem}-{n}",
                    "title": title,
                    "body": body,
                    "received_at": f"2026-11-{10 + n:02d} 09:00",
                },
            )
            assert r.status_code == 201, r.text
            n += 1


def _topics(client) -> list[dict]:
    r = client.get("/topics", params={"since": "2026-11-01", "until": "2026-11-30", "min_count": 1})
    assert r.status_code == 200, r.text
    return r.json()["topics"]


def test_both_hosts_serve_one_topic_model(hosts):
    a, b = hosts
    _post_alternately(a, b)
    on_a, on_b = _topics(a), _topics(b)
    assert on_a == on_b  # the same ids, members, titles and heat
    groups = sorted(len(t["members"]) for t in on_a if t["count"] >= 2)
    assert groups == [2, 3, 3]  # the three problems, each one topic across both hosts
    one = on_a[0]["id"]
    assert a.get(f"/topics/{one}").json() == b.get(f"/topics/{one}").json()


def test_a_host_that_lost_its_folder_serves_the_same_topics(hosts, db_settings, tmp_path):
    a, b = hosts
    _post_alternately(a, b)
    before = _topics(a)
    close(b)
    hosts.remove(b)
    shutil.rmtree(tmp_path / "host-b" / "topics", ignore_errors=True)
    restarted = host(db_settings, tmp_path / "host-b")
    hosts.append(restarted)
    assert _topics(restarted) == before


def test_two_hosts_catching_up_at_once_write_one_model(hosts):
    a, b = hosts
    _post_alternately(a, b)
    with ThreadPoolExecutor(max_workers=2) as pool:
        added = list(pool.map(lambda c: c.app.state.shared_topics.catch_up(), (a, b)))
    with a.app.state.store.session() as s:
        snapshots = s.scalar(select(func.count()).select_from(TopicSnapshot))
        newest = s.scalar(select(func.max(TopicSnapshot.cases)))
    assert sorted(added)[0] == 0  # one of them wrote, the other loaded what it wrote (or had nothing to do)
    assert newest == sum(len(p) for p in PROBLEMS.values()) and snapshots <= 2
    assert _topics(a) == _topics(b)


def test_a_host_with_nothing_to_add_reads_topics_while_another_writer_holds_the_lease(hosts):
    """/topics on a host whose model is up to date never waits for the lease: another writer
    holds the lease's row (on SQLite: the database's write lock) the whole time."""
    a, b = hosts
    _post_alternately(a, b)
    expected = _topics(a)
    store = a.app.state.store
    looked = threading.Event()
    with store.write_engine.connect() as holder:
        holder.begin()  # SQLite: BEGIN IMMEDIATE, the write lock; PostgreSQL: the lease row below
        holder.execute(select(StoreLease).where(StoreLease.name == "topics").with_for_update())

        def look() -> None:
            b.app.state.shared_topics.expire()
            assert _topics(b) == expected
            looked.set()

        reader = threading.Thread(target=look, daemon=True)
        reader.start()
        finished_while_held = looked.wait(20)
        holder.rollback()
    reader.join(60)
    assert finished_while_held, "the look waited for the writer's lock"
