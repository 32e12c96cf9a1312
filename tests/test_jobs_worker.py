"""Jobs run in `triage worker`, never in the server: one retrain at a time, and a worker killed
mid-job leaves the job failed once its lease runs out, with the live model unchanged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from datasets import load_sample
from tests.cases_fixtures import seed_cases
from training.bundles import ModelRegistry
from training.jobs import JobQueue, Worker
from training.retrain_job import handlers


def test_the_server_only_queues_and_says_when_no_worker_runs(db_client):
    r = db_client.post("/admin/retrain", data={"seed": "1"})
    assert r.status_code == 202
    job = db_client.get(f"/admin/jobs/{r.json()['job_id']}").json()
    assert job["status"] == "queued" and job["worker"] is None


def test_two_retrains_at_once_run_one_after_the_other(db_client):
    state = db_client.app.state
    seed_cases(state.store, load_sample()[:80])
    first = db_client.post("/admin/retrain", data={"seed": "1"}).json()["job_id"]
    second = db_client.post("/admin/retrain", data={"seed": "2"}).json()["job_id"]
    one = Worker(state.store, handlers(state.store, state.settings))
    other = Worker(state.store, handlers(state.store, state.settings))
    claimed = one.claim()
    assert claimed is not None and claimed.id == first
    assert other.claim() is None  # a retrain is running: the second waits, whatever worker asks
    assert db_client.get(f"/admin/jobs/{second}").json()["status"] == "queued"


def test_an_expired_lease_fails_the_job_for_whoever_looks(db_client):
    state = db_client.app.state
    job_id = db_client.post("/admin/retrain").json()["job_id"]
    worker = Worker(state.store, handlers(state.store, state.settings), lease_seconds=0.2)
    assert worker.claim() is not None  # ... and the worker dies without renewing
    time.sleep(1.5)  # the store keeps whole seconds
    job = db_client.get(f"/admin/jobs/{job_id}").json()
    assert job["status"] == "failed" and "lease expired" in job["error"]
    assert Worker(state.store, handlers(state.store, state.settings)).claim() is None  # not run again


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_worker_killed_mid_retrain_leaves_the_live_model_and_a_failed_job(db_settings, models_dir):
    from api.app import create_app
    from tests.conftest import auth

    registry = ModelRegistry(models_dir)
    live = registry.live_version()
    app = create_app(db_settings)
    store = app.state.store
    seed_cases(store, load_sample())
    queue = JobQueue(store)
    job_id = queue.submit("retrain", {"promote": True, "seed": 3}, actor="test")
    env = {
        **os.environ,
        "TRIAGE_DATABASE_URL": db_settings.database_url,
        "TRIAGE_MODELS_DIR": str(models_dir),
        "TRIAGE_JOB_LEASE_SECONDS": "2",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "cli", "worker", "--poll", "0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while queue.get(job_id)["status"] == "queued":
            assert time.monotonic() < deadline, "the worker did not claim the job"
            time.sleep(0.05)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        assert queue.get(job_id)["status"] == "running"  # the lease still holds for a moment
        time.sleep(3.5)  # the lease, in the whole seconds the store keeps
        job = queue.get(job_id)
        assert job["status"] == "failed" and "lease expired" in job["error"], job
        assert registry.live_version() == live  # nothing promoted half-way
        from fastapi.testclient import TestClient

        with TestClient(app) as c:
            c.headers.update(auth(app, "admin"))
            assert c.get(f"/admin/jobs/{job_id}").json()["status"] == "failed"
    finally:
        if worker.poll() is None:
            worker.kill()
        store.dispose()
