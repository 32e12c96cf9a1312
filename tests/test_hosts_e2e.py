"""The eight multi-host checks of issue 17 in one run, on real processes.

Two `triage serve --workers 2` on two ports stand in for hosts A and B: each its own cache folder
(B starts with an empty one and fetches the live model from the shared artifact location), one
PostgreSQL schema, one artifact directory, one Redis, plus one `triage worker`. The checks run in
order on that one cluster:

1. a promotion made on A is served by both of B's workers (and a rollback on B by A);
2. a curated answer created on A is listed and cited on B; two clerks editing two entries on A and
   B at once both keep their edit; the same entry edited from one version gives one of them 409;
3. a reply sent on A is cited as a history source by `/draft` on B;
4. a petition posted to B repeating one posted to A is flagged as A's case's duplicate, and
   `/topics` answers the same on A and B;
5. a routing-table edit made on A is served by B;
6. A is killed (SIGKILL, every worker) during a burst of new cases; restarted, every index on A
   holds what the store holds; with its cache folder deleted, A rebuilds and answers as B;
7. two retrains submitted at once: one runs, the other waits; the worker killed mid-job leaves the
   job failed once its lease runs out, and the live model unchanged;
8. one API key's rate-limit budget holds across A and B together (Redis).

Without PostgreSQL or Redis the module skips and says which is missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from benchmarks.server import kill_server, start_server, stop_server
from datasets import load_sample
from tests.cases_fixtures import seed_cases
from tests.conftest import postgres_schema
from tests.reliability_fixtures import bearer, free_port, make_key
from tests.test_answers_store import ANSWER, OTHER
from tests.test_case_workflow import GOOD
from tests.test_ratelimit_redis import REDIS_URL, redis_missing_reason
from tests.test_training import _tiny
from training.model_store import open_registry
from training.train import train_bundle
from triage.retrieval.history import HistoryIndex
from triage.retrieval.store_feed import learnable
from triage.settings import Settings
from triage.store.engine import Store
from triage.store.models import Case
from triage.store.sent_replies import sent_since

BASE = os.environ.get("TRIAGE_TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not BASE, reason="the multi-host checks need PostgreSQL (TRIAGE_TEST_POSTGRES_URL unset)"
    ),
    pytest.mark.skipif(redis_missing_reason() is not None, reason=redis_missing_reason() or ""),
]

BURST = 200  # each key's rate-limit budget: every check uses keys of its own, check 8 spends one
WAGES = {"title": "公司拖欠工资", "body": "城南区一家装修公司拖欠我们十几个工人三个月工资，老板一直躲着不见"}


class Cluster:
    """Hosts A and B (`triage serve --workers 2` each) and one `triage worker` on one store."""

    def __init__(self, root: Path, db: str, models: Path) -> None:
        self.root, self.db, self.models = root, db, models
        self.env = {
            "TRIAGE_ARTIFACTS": str(root / "artifacts"),
            "TRIAGE_REDIS_URL": REDIS_URL,
            "TRIAGE_RATE_LIMIT_PER_SECOND": "0.05",
            "TRIAGE_RATE_LIMIT_BURST": str(BURST),
            "TRIAGE_ANSWERS_ENCODER": "none",
            "TRIAGE_JOB_LEASE_SECONDS": "2",
        }
        self.urls: dict[str, str] = {}
        self.procs: dict[str, subprocess.Popen] = {}
        self.ports = {"a": free_port(), "b": free_port()}
        self.worker: subprocess.Popen | None = None

    def folder(self, name: str) -> Path:
        return self.root / f"host-{name}"

    def start(self, name: str) -> str:
        log = (self.root / f"host-{name}.log").open("a")
        url, proc = start_server(
            self.folder(name),
            self.ports[name],
            workers=2,
            extra_env=self.env,
            database_url=self.db,
            log_file=log,
            log_level="info",
        )
        self.urls[name], self.procs[name] = url, proc
        return url

    def kill(self, name: str) -> None:
        kill_server(self.procs.pop(name))

    def start_worker(self) -> None:
        env = {
            **os.environ,
            **self.env,
            "TRIAGE_DATABASE_URL": self.db,
            "TRIAGE_MODELS_DIR": str(self.folder("w")),
        }
        log = (self.root / "worker.log").open("a")
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "cli", "worker", "--poll", "0.2"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def close(self) -> None:
        for proc in self.procs.values():
            stop_server(proc)
        if self.worker is not None and self.worker.poll() is None:
            self.worker.kill()
            self.worker.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, trained_models_dir) -> Iterator[Cluster]:
    import redis

    root = tmp_path_factory.mktemp("hosts")
    redis.Redis.from_url(REDIS_URL).flushdb()  # the tests' own db: earlier runs' budgets must not count
    with postgres_schema(BASE) as db:
        c = Cluster(root, db, trained_models_dir)
        shutil.copytree(trained_models_dir, c.folder("a"))  # the installation's folder, imported once
        c.folder("b").mkdir()  # a new host: the live model comes from the artifact location
        shutil.copytree(trained_models_dir, c.folder("w"))
        try:
            c.start("a")
            c.start("b")
            c.start_worker()
            yield c
        finally:
            c.close()


def key(cluster: Cluster, role: str) -> dict[str, str]:
    return bearer(make_key(cluster.db, role))


def within(seconds: float, check: Callable[[], object]) -> object:
    """The first truthy result of `check` within `seconds` (polled), else what it last gave."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(0.1)


def fresh(url: str, method: str, path: str, headers: dict, **kwargs) -> httpx.Response:
    """One request on a new connection, so that both of a host's workers get asked."""
    with httpx.Client(base_url=url, headers={"Connection": "close", **headers}, timeout=30) as c:
        return c.request(method, path, **kwargs)


def topics_on(url: str, headers: dict) -> dict:
    return fresh(url, "GET", "/topics", headers, params={"min_count": 1, "limit": 500}).json()


def draft_sources(url: str, headers: dict, petition: dict) -> list[str]:
    return [s["id"] for s in fresh(url, "POST", "/draft", headers, json=petition).json()["sources"]]


def answer_ids(url: str, headers: dict) -> list[str]:
    return [x["id"] for x in fresh(url, "GET", "/answers", headers).json()["items"]]


def versions(url: str, headers: dict, n: int = 16) -> set[str]:
    def one(_: int) -> str:
        return fresh(url, "POST", "/classify", headers, json=WAGES).json()["model_version"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        return set(pool.map(one, range(n)))


def test_1_a_promotion_on_a_is_served_by_b(cluster):
    admin = key(cluster, "admin")
    a, b = cluster.urls["a"], cluster.urls["b"]
    old = within(20, lambda: len(v := versions(b, admin)) == 1 and v) or set()
    assert len(old) == 1, f"B's workers serve {old}"
    store = Store(cluster.db)
    settings = Settings(
        models_dir=cluster.root / "trainer", database_url=cluster.db, artifacts=cluster.root / "artifacts"
    )
    new = train_bundle(_tiny(), open_registry(settings, store)).version
    store.dispose()
    r = httpx.post(f"{a}/admin/models/{new}/promote", json={"force": True}, headers=admin, timeout=60)
    assert r.status_code == 200, r.text
    assert within(20, lambda: versions(b, admin) == {new}), "B's workers did not both serve the promotion"
    r = httpx.post(f"{b}/admin/models/rollback", headers=admin, timeout=60)
    assert r.status_code == 200 and r.json()["live"] in old
    assert within(20, lambda: versions(a, admin) == old), "A did not serve B's rollback"


def test_2_answers_are_shared_and_edits_never_lost(cluster):
    staff = key(cluster, "staff")
    a, b = cluster.urls["a"], cluster.urls["b"]
    created = httpx.post(f"{a}/answers", json=ANSWER, headers=staff, timeout=30)
    assert created.status_code == 201, created.text
    ident = created.json()["id"]
    assert within(10, lambda: ident in answer_ids(b, staff))
    draft = fresh(
        b, "POST", "/draft", staff, json={"body": "物业公司要上调物业费，合法吗？", "department": "住建局"}
    )
    assert any(s["kind"] == "manual" and s["id"] == ident for s in draft.json()["sources"]), draft.text
    other = httpx.post(f"{a}/answers", json=OTHER, headers=staff, timeout=30).json()
    assert within(10, lambda: other["id"] in answer_ids(b, staff))

    def edit(args: tuple[str, str, str]) -> httpx.Response:
        url, entry, text = args
        return httpx.put(f"{url}/answers/{entry}", json={"question": text}, headers=staff, timeout=30)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(edit, [(a, ident, "物业费能涨吗"), (b, other["id"], "路灯坏了")]))
    assert [r.status_code for r in results] == [200, 200], [r.text for r in results]
    for url in (a, b):
        items = {x["id"]: x for x in fresh(url, "GET", "/answers", staff).json()["items"]}
        assert items[ident]["question"] == "物业费能涨吗" and items[other["id"]]["question"] == "路灯坏了"
    version = items[ident]["version"]
    first = httpx.put(
        f"{a}/answers/{ident}",
        json={"answer": ANSWER["answer"] + "详询12345。", "version": version},
        headers=staff,
    )
    second = httpx.put(
        f"{b}/answers/{ident}", json={"answer": ANSWER["answer"], "version": version}, headers=staff
    )
    assert sorted([first.status_code, second.status_code]) == [200, 409]


def test_3_a_reply_sent_on_a_is_a_source_on_b(cluster):
    platform, staff = key(cluster, "platform"), key(cluster, "staff")
    a, b = cluster.urls["a"], cluster.urls["b"]
    case = httpx.post(f"{a}/cases", json={"external_id": "H-3", **WAGES}, headers=platform, timeout=30).json()
    sent = httpx.post(
        f"{a}/cases/{case['id']}/reply",
        json={"text": GOOD, "send": True, "confirm_reason": "已核实欠薪金额与整改期限"},
        headers=staff,
        timeout=30,
    )
    assert sent.status_code == 200 and sent.json()["sent"], sent.text

    def cited() -> bool:
        sources = fresh(b, "POST", "/draft", staff, json=WAGES).json()["sources"]
        return any(s["kind"] == "history" and s["id"] == f"case-{case['id']}" for s in sources)

    assert within(10, cited), "B's drafts do not cite the reply sent on A"


def test_4_a_repeat_on_b_is_linked_and_topics_agree(cluster):
    platform, staff = key(cluster, "platform"), key(cluster, "staff")
    a, b = cluster.urls["a"], cluster.urls["b"]
    body = "城北区幸福里小区南门口的垃圾已经堆了一个星期没人清运，臭气熏天，蚊蝇成群，请尽快处理。"
    first = httpx.post(
        f"{a}/cases", json={"external_id": "H-4a", "title": "垃圾堆积", "body": body}, headers=platform
    ).json()
    repeat = httpx.post(
        f"{b}/cases",
        json={"external_id": "H-4b", "title": "再次反映垃圾堆积", "body": body + "至今无人处理。"},
        headers=platform,
    )
    assert repeat.status_code == 201 and repeat.json()["possible_duplicate"]["case_id"] == first["id"]
    assert within(10, lambda: topics_on(a, staff) == topics_on(b, staff) and topics_on(a, staff)["total"] > 0)


def test_5_a_routing_edit_on_a_is_served_by_b(cluster):
    admin = key(cluster, "admin")
    a, b = cluster.urls["a"], cluster.urls["b"]
    table = httpx.get(f"{a}/admin/routing", headers=admin).json()["text"]
    edited = table.replace("人社局: {lead: 人社局}", "人社局: {lead: 民政局}")
    assert edited != table
    assert httpx.put(f"{a}/admin/routing", content=edited.encode(), headers=admin).status_code == 200

    def lead() -> str:
        return fresh(b, "POST", "/classify", admin, json=WAGES).json()["departments"]["lead"]

    assert within(10, lambda: lead() == "民政局")
    assert httpx.put(f"{a}/admin/routing", content=table.encode(), headers=admin).status_code == 200
    assert within(10, lambda: lead() == "人社局")


def _store_view(db: str) -> tuple[set[int], set[int]]:
    """(every case id, the ids of cases whose sent reply the drafting history learns from) as
    the store holds them."""
    store = Store(db)
    with store.session() as s:
        cases = set(s.scalars(select(Case.id)))
        replied = {r.case_id for r in sent_since(s, None) if learnable(r)}
    store.dispose()
    return cases, replied


def test_6_a_killed_host_catches_up_and_a_lost_folder_is_rebuilt(cluster):
    platform, staff = key(cluster, "platform"), key(cluster, "staff")
    a = cluster.urls["a"]
    accepted: list[int] = []

    def post(i: int) -> None:
        try:
            r = httpx.post(
                f"{a}/cases",
                json={
                    "external_id": f"burst-{i}",
                    "title": f"第{i}号路灯不亮",
                    "body": f"城西区第{i}号路灯坏了很久，晚上很黑",
                },
                headers=platform,
                timeout=10,
            )
            if r.status_code == 201:
                accepted.append(r.json()["id"])
        except httpx.HTTPError:
            pass  # the host died under it

    with ThreadPoolExecutor(max_workers=4) as pool:
        for i in range(80):
            pool.submit(post, i)
        assert within(30, lambda: len(accepted) >= 10), "the burst did not start"
        cluster.kill("a")  # mid-burst: requests in flight, more queued behind them
    assert 10 <= len(accepted) < 80, "the kill must land mid-burst"
    cases, replied = _store_view(cluster.db)
    assert set(accepted) <= cases  # every 2xx is in the store

    a = cluster.start("a")
    for case_id in sorted(cases):  # the duplicate index of whichever worker answers holds each
        body = fresh(a, "GET", f"/cases/{case_id}", staff).json()
        found = fresh(
            a, "POST", "/duplicates/check", staff, json={"title": body["title"], "body": body["body"]}
        ).json()
        assert str(case_id) in [m["case_id"] for m in found["matches"]], case_id
    fresh(a, "POST", "/draft", staff, json=WAGES)  # the drafting history catches up before a draft
    history = HistoryIndex(cluster.folder("a") / "retrieval" / "history")
    held = {item.id for item in history.stored_items() if item.id.startswith("case-")}
    history.close()
    assert replied and held == {f"case-{i}" for i in replied}

    b = cluster.urls["b"]
    cluster.kill("a")
    shutil.rmtree(cluster.folder("a"))
    cluster.folder("a").mkdir()
    a = cluster.start("a")
    assert within(20, lambda: topics_on(a, staff) == topics_on(b, staff)), (
        "A's rebuilt topics differ from B's"
    )
    assert within(20, lambda: draft_sources(a, staff, WAGES) == draft_sources(b, staff, WAGES))
    admin = key(cluster, "admin")
    assert versions(a, admin) == versions(b, admin)


def test_7_one_retrain_at_a_time_and_a_killed_worker_fails_its_job(cluster):
    admin = key(cluster, "admin")
    a, b = cluster.urls["a"], cluster.urls["b"]
    store = Store(cluster.db)
    seed_cases(store, load_sample(), prefix="R")
    store.dispose()
    live = versions(b, admin)
    jobs = [
        httpx.post(
            f"{a}/admin/retrain", data={"seed": str(s), "promote": "true"}, headers=admin, timeout=30
        ).json()["job_id"]
        for s in (1, 2)
    ]

    def status() -> list[str]:
        return [httpx.get(f"{a}/admin/jobs/{j}", headers=admin).json()["status"] for j in jobs]

    assert within(30, lambda: "running" in status()), status()
    assert sorted(status()) == ["queued", "running"]  # the second waits while one runs
    running = jobs[status().index("running")]
    cluster.worker.send_signal(signal.SIGKILL)
    cluster.worker.wait(timeout=10)
    job = within(
        15,
        lambda: (
            (j := httpx.get(f"{a}/admin/jobs/{running}", headers=admin).json())["status"] == "failed" and j
        ),
    )
    assert job and "lease expired" in job["error"], job
    assert versions(a, admin) == versions(b, admin) == live  # nothing promoted half-way


def test_8_one_keys_budget_holds_across_both_hosts(cluster):
    partner = key(cluster, "platform")
    urls = [cluster.urls["a"], cluster.urls["b"]]
    codes = []
    for i in range(BURST + 20):
        url = urls[i % 2]
        codes.append((url, fresh(url, "POST", "/classify", partner, json={"body": "噪音扰民"}).status_code))
    ok = [c for c in codes if c[1] == 200]
    refused = {url for url, code in codes if code == 429}
    # each server process's first request with the key counts against the address: 4 at most
    assert BURST <= len(ok) <= BURST + 4, len(ok)
    assert refused == set(urls), "both hosts must refuse once the key's budget is spent"
