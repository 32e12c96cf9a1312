"""The duplicate index is a cache of the store's cases: a repeat posted to another host is linked
to the first case, and an index lost with its folder is rebuilt from the store. SQLite and
PostgreSQL."""

from __future__ import annotations

import shutil

from tests.hosts_fixtures import close, host

FIRST = {
    "external_id": "D-1",
    "title": "小区门口垃圾堆积",
    "body": "城北区幸福里小区南门口的垃圾已经堆了一个星期没人清运，臭气熏天，蚊蝇成群，请尽快处理。",
}
REPEAT = {
    "external_id": "D-2",
    "title": "再次反映：小区门口垃圾堆积",
    "body": "城北区幸福里小区南门口的垃圾已经堆了一个星期没人清运，臭气熏天，蚊蝇成群，请尽快处理。至今无人处理。",
}


def test_a_repeat_posted_to_another_host_is_linked_to_the_first_case(hosts):
    a, b = hosts
    first = a.post("/cases", json=FIRST).json()
    repeat = b.post("/cases", json=REPEAT)
    assert repeat.status_code == 201, repeat.text
    assert repeat.json()["possible_duplicate"]["case_id"] == first["id"]


def test_a_lost_duplicate_index_is_rebuilt_from_the_store(hosts, db_settings, tmp_path):
    a, _ = hosts
    first = a.post("/cases", json=FIRST).json()
    close(a)  # as after kill -9 before the periodic save: the index on disk lacks the case
    hosts.remove(a)
    shutil.rmtree(tmp_path / "host-a" / "topics", ignore_errors=True)
    restarted = host(db_settings, tmp_path / "host-a")
    hosts.append(restarted)
    assert str(first["id"]) in restarted.app.state.topic_state.duplicates  # at start, before any request
    repeat = restarted.post("/cases", json=REPEAT).json()
    assert repeat["possible_duplicate"]["case_id"] == first["id"]
