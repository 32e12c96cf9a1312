"""Crash safety: SIGKILL at the worst moments never leaves a half-written model live or a 2xx'd case lost.

The trainer is a real subprocess running the real registry code (tests/reliability_fixtures.py);
it pauses at a named point of writing a bundle or promoting it, and is killed there with
SIGKILL - no cleanup handler runs, exactly like a power cut for the process. The server test
kills a real uvicorn in the middle of a burst of POST /cases.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from api.live_model import LiveModel
from benchmarks.load import offer_open_loop
from benchmarks.server import running_server
from tests.reliability_fixtures import (
    PAUSE_POINTS,
    bearer,
    free_port,
    kill9,
    make_key,
    start_trainer,
    wait_for_line,
)
from training.bundles import POINTER_FILE, ModelRegistry
from triage.classifier import PetitionClassifier


def assert_live_is_loadable(models_dir: Path) -> str:
    """The pointer parses, names a complete bundle, and that bundle loads and classifies."""
    registry = ModelRegistry(models_dir)
    pointer = json.loads((models_dir / POINTER_FILE).read_text(encoding="utf-8"))
    live = pointer["live"]
    assert registry.is_complete(live), f"live pointer names incomplete bundle {live}"
    model = PetitionClassifier.load(registry.model_path(live))
    assert model.predict_top_k(["公司拖欠工资三个月"], k=1)[0].label
    # a restarted server process starts from the pointer: it must serve that version
    served = LiveModel(registry, check_seconds=0).get()
    assert served.version == live
    # every bundle a listing shows is complete and loadable; half-written ones stay hidden
    for bundle in registry.list():
        PetitionClassifier.load(bundle.path / "model.joblib")
    return live


@pytest.mark.parametrize("point", PAUSE_POINTS)
def test_trainer_killed_mid_write_or_promotion_leaves_a_loadable_live_bundle(models_dir, point):
    before = ModelRegistry(models_dir).live_version()
    versions_before = {b.version for b in ModelRegistry(models_dir).list()}
    proc = start_trainer(models_dir, point)
    try:
        wait_for_line(proc, f"PAUSED {point}", timeout=120)
        kill9(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    live = assert_live_is_loadable(models_dir)
    registry = ModelRegistry(models_dir)
    new = {b.version for b in registry.list()} - versions_before
    if point in ("model-write", "metadata-write", "before-rename"):
        # killed while writing the bundle: the old model stays live, the new one never appears
        assert live == before
        assert new == set()
        assert any(p.name.startswith(".tmp-") for p in models_dir.iterdir()), (
            "the killed write left no trace to clean"
        )
        assert registry.clean_temporary() >= 1
    elif point == "pointer-write":
        # the bundle was complete; the pointer switch had not happened
        assert live == before and len(new) == 1
    else:
        # the rename is the commit point: once done, the new model is live
        assert live in new and len(new) == 1
    assert_live_is_loadable(models_dir)


def test_trainer_killed_at_random_moments_never_breaks_the_pointer(models_dir):
    """Kill a trainer that writes and promotes bundles in a loop at 8 random moments."""
    rng = random.Random(6)
    for _ in range(8):
        proc = start_trainer(models_dir, "none", cycles=50)
        try:
            time.sleep(rng.uniform(0.4, 3.0))  # model loading takes ~0.3 s; cycles run after it
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert_live_is_loadable(models_dir)


def test_server_restart_serves_the_live_bundle_after_a_killed_promotion(models_dir, tmp_path):
    proc = start_trainer(models_dir, "pointer-replaced")
    try:
        promoted = wait_for_line(proc, "PAUSED pointer-replaced", timeout=120)
        kill9(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert promoted
    live = assert_live_is_loadable(models_dir)
    db = f"sqlite:///{tmp_path / 'server.db'}"
    key = make_key(db, "platform")
    with running_server(models_dir, free_port(), database_url=db) as (url, _):
        r = httpx.post(f"{url}/classify", json={"body": "小区噪音扰民"}, headers=bearer(key), timeout=10)
        assert r.status_code == 200, r.text
        assert r.json()["model_version"] == live


# -- the case store: kill -9 the server during a burst of POST /cases ----------------------------


def _store_counts(db_url: str):
    from triage.store.engine import Store
    from triage.store.models import Case

    store = Store(db_url)
    try:
        with store.session() as s:
            cases = {c.external_id: c for c in s.scalars(select(Case))}
            details = {}
            for ext, case in cases.items():
                details[ext] = {
                    "id": case.id,
                    "title": case.title,
                    "body": case.body,
                    "due_at": case.due_at,
                    "routings": len(case.routings),
                    "events": len(case.events),
                    "replies": len(case.replies),
                    "status": case.status,
                }
            total = s.scalar(select(func.count()).select_from(Case))
    finally:
        store.dispose()
    return total, details


async def _burst(url: str, key: str, n: int, rate: float, results: dict) -> None:
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(timeout=20, limits=limits, headers=bearer(key)) as client:

        async def one(i: int) -> None:
            ext = f"burst-{i:05d}"
            payload = {
                "external_id": ext,
                "title": f"第{i}号 噪音扰民",
                "body": f"第{i}号留言：楼下餐馆夜间噪音扰民，请处理。",
            }
            try:
                r = await client.post(f"{url}/cases", json=payload)
            except httpx.HTTPError as exc:
                results[ext] = ("error", type(exc).__name__, payload)
                return
            results[ext] = (r.status_code, r.json() if r.status_code < 300 else r.text, payload)

        await offer_open_loop(one, n, rate)


def test_server_killed_during_a_burst_of_post_cases_loses_no_acknowledged_case(models_dir, tmp_path, db_url):
    """Every petition answered 2xx is stored complete after kill -9; nothing is half-written."""
    key = make_key(db_url, "platform")
    port = free_port()
    env = {
        **os.environ,
        "TRIAGE_MODELS_DIR": str(models_dir),
        "TRIAGE_DATABASE_URL": db_url,
        "OMP_NUM_THREADS": "1",
    }
    log = open(tmp_path / "server.log", "w")
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "api.app:create_app",
        "--factory",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("server did not start: " + (tmp_path / "server.log").read_text())

        results: dict = {}

        def killer() -> None:
            # kill once a fair number of cases were acknowledged, while more are in flight
            while sum(1 for v in results.values() if v[0] in (200, 201)) < 25:
                time.sleep(0.01)
            os.kill(server.pid, signal.SIGKILL)

        import threading

        t = threading.Thread(target=killer, daemon=True)
        t.start()
        asyncio.run(_burst(url, key, n=300, rate=60, results=results))
        t.join(timeout=30)
        server.wait(timeout=30)
        assert server.returncode == -signal.SIGKILL
    finally:
        if server.poll() is None:
            server.kill()
        log.close()

    acked = {ext: v for ext, v in results.items() if v[0] in (200, 201)}
    failed = {ext for ext, v in results.items() if v[0] == "error"}
    assert len(acked) >= 25 and failed, "the kill did not land during the burst"
    total, stored = _store_counts(db_url)
    for ext, (_, body, payload) in acked.items():
        assert ext in stored, f"{ext} was acknowledged with {body.get('id')} but is not in the store"
        row = stored[ext]
        assert row["id"] == body["id"]
        assert row["title"] == payload["title"] and row["body"] == payload["body"]
    # nothing half-written: every stored case (acknowledged or not) has its routing, event and deadline
    for ext, row in stored.items():
        assert row["due_at"] is not None, ext
        assert row["routings"] >= 1, f"{ext} stored without its routing"
        assert row["events"] >= 1, f"{ext} stored without its audit event"
    # a restarted server serves them, and a retry of an acknowledged petition is not duplicated
    with running_server(models_dir, free_port(), database_url=db_url) as (url2, _):
        with httpx.Client(base_url=url2, headers=bearer(key), timeout=20) as client:
            for _, body, payload in list(acked.values())[:10]:
                again = client.post("/cases", json=payload)
                assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert _store_counts(db_url)[0] == total
