"""Hosts hear of each other's commits at once on PostgreSQL (LISTEN/NOTIFY), not after polling.

The hosts here poll only every 120 s, so what host B serves within a few seconds of host A's
write it can only have learnt from the notification: a curated answer added on A is listed on B,
a routing-table edit made on A routes B's next petition, and a case posted on A is found as a
duplicate on B. Without PostgreSQL these tests skip, saying so: SQLite is one host and polls.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable

import psycopg
import pytest

from tests.conftest import postgres_schema
from tests.hosts_fixtures import close, host
from triage.store.changes import CHANNEL
from triage.store.engine import Store
from triage.store.keys import create_key

BASE = os.environ.get("TRIAGE_TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not BASE, reason="LISTEN/NOTIFY needs PostgreSQL (TRIAGE_TEST_POSTGRES_URL unset)"),
]
SLOW_POLL = 120.0
WAGES = {"title": "公司拖欠工资", "body": "城南区一家公司拖欠我们三个月工资，老板躲着不见人"}


@pytest.fixture
def pg_url():
    with postgres_schema(BASE) as url:
        yield url


@pytest.fixture
def slow_hosts(settings, pg_url, tmp_path):
    slow = settings.model_copy(update={"database_url": pg_url, "model_check_seconds": SLOW_POLL})
    made = []
    for name in ("a", "b"):
        models = tmp_path / f"host-{name}"
        shutil.copytree(settings.models_dir, models)
        made.append(host(slow, models))
    for client in made:
        assert client.app.state.change_listener.listening.wait(10), "the listener did not connect"
    yield made
    for client in made:
        close(client)


def within(seconds: float, check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_a_commit_announces_the_tables_it_wrote(pg_url):
    store = Store(pg_url)
    store.ensure_schema()
    url = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"LISTEN {CHANNEL}")
        with store.session(write=True) as s:
            create_key(s, "staff", "notify test")
        with store.session(write=True) as s:  # rolled back: announces nothing
            create_key(s, "staff", "never")
            s.rollback()
        payloads = [n.payload for n in conn.notifies(timeout=2.0)]
    store.dispose()
    assert payloads == ["api_keys"]


def test_another_hosts_writes_are_served_before_the_next_poll(slow_hosts, tmp_path):
    a, b = slow_hosts
    # warm both hosts' caches, so B has looked at the store once and would wait SLOW_POLL again
    assert b.get("/answers").status_code == 200 and b.post("/classify", json=WAGES).status_code == 200
    answer = {
        "id": "notify-1",
        "department": "人社局",
        "question": "公司拖欠工资怎么办",
        "answer": "可向劳动保障监察机构投诉，或申请劳动仲裁。联系电话12333。",
    }
    assert a.post("/answers", json=answer).status_code in (200, 201)
    assert within(5, lambda: any(x["id"] == "notify-1" for x in b.get("/answers").json()["items"]))

    table = a.get("/admin/routing").json()["text"]
    edited = table.replace("人社局: {lead: 人社局}", "人社局: {lead: 民政局}")
    assert edited != table and a.put("/admin/routing", content=edited.encode()).status_code == 200
    assert within(5, lambda: b.post("/classify", json=WAGES).json()["departments"]["lead"] == "民政局")

    first = a.post("/cases", json={"external_id": "N-1", **WAGES}).json()
    repeat = {"external_id": "N-2", "title": WAGES["title"], "body": WAGES["body"] + "。"}
    assert within(5, lambda: b.post("/duplicates/check", json=repeat).json()["duplicate"])
    assert b.post("/cases", json=repeat).json()["possible_duplicate"]["case_id"] == first["id"]
