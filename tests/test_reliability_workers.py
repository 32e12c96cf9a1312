"""Several workers behind one port share metrics, rate limits and the drafting history.

`triage serve --workers 2` (cli/worker_state.py) gives its workers a fresh folder: prometheus_client
multiprocess files (`PROMETHEUS_MULTIPROC_DIR`) and the rate limiter's shared slots
(`TRIAGE_RATE_LIMIT_FILE`). Each test below starts the real server and checks the promise from
outside, and reads each worker's own metric file (found through /proc/<pid>/environ) to prove
that both workers took part.
"""

from __future__ import annotations

import glob
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from benchmarks.server import running_server
from tests.reliability_fixtures import bearer, free_port, make_key
from triage.retrieval.history import HistoryIndex, HistoryItem

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")

CHECK_SECONDS = 0.5
LIMITED = "<rate-limited>"  # the route label of a 429 from the limiter (no route was matched)
BASE_ENV = {"TRIAGE_ANSWERS_ENCODER": "none", "TRIAGE_MODEL_CHECK_SECONDS": str(CHECK_SECONDS)}


def fresh(url: str, **kw) -> httpx.Client:
    """A client whose every request opens a new connection (so the kernel may pick either worker)."""
    return httpx.Client(
        base_url=url, timeout=30, headers={"Connection": "close", **kw.pop("headers", {})}, **kw
    )


def scrape(url: str) -> tuple[str, dict[tuple[str, tuple], float]]:
    """(pid of the answering worker, every sample of its /metrics)."""
    with fresh(url) as c:
        text = c.get("/metrics").text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    pid = next(dict(labels)["pid"] for name, labels in samples if name == "triage_worker_info")
    return pid, samples


def both_workers(url: str, timeout: float = 90) -> list[str]:
    """The pids of the 2 workers, waiting until both answer (they start one after the other)."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < 2 and time.monotonic() < deadline:
        with ThreadPoolExecutor(max_workers=8) as pool:
            seen.update(pid for pid, _ in pool.map(lambda _: scrape(url), range(16)))
    assert len(seen) == 2, f"expected 2 workers, saw {sorted(seen)}"
    return sorted(seen)


def requests_of(pid: str, method: str, *routes: str) -> dict[str, float]:
    """Requests this worker alone counted, by status: its own file in the multiprocess folder."""
    environ = dict(
        item.split("=", 1)
        for item in Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").split("\0")
        if "=" in item
    )
    files = glob.glob(os.path.join(environ["PROMETHEUS_MULTIPROC_DIR"], f"counter_{pid}.db"))
    out: dict[str, float] = {}
    for family in MultiProcessCollector.merge(files):
        for s in family.samples:
            if (
                family.name == "triage_http_requests"
                and s.labels["method"] == method
                and s.labels["route"] in routes
            ):
                out[s.labels["status"]] = out.get(s.labels["status"], 0.0) + s.value
    return out


def counted_once_settled(pids: list[str], sent: int, timeout: float = 5.0) -> list[float]:
    """Each worker's count of 200s on POST /classify, once the last request has been counted.

    A worker counts a request when the response's last byte has gone out, so the client can hold
    its answer a moment before the count moves; the test waits for that moment, not longer.
    """
    deadline = time.monotonic() + timeout
    while True:
        per_worker = [requests_of(pid, "POST", "/classify").get("200", 0.0) for pid in pids]
        if sum(per_worker) >= sent or time.monotonic() > deadline:
            return per_worker
        time.sleep(0.05)


def series(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_and_drafting_history_are_shared_by_two_workers(models_dir, tmp_path):
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    platform, staff = make_key(db, "platform"), make_key(db, "staff")
    with running_server(models_dir, free_port(), workers=2, extra_env=BASE_ENV, database_url=db) as (url, _):
        pids = both_workers(url)

        # -- /metrics: any worker's scrape counts the requests both answered -------------------
        sent = 40
        with ThreadPoolExecutor(max_workers=8) as pool:

            def classify(i: int) -> int:
                with fresh(url, headers=bearer(platform)) as c:
                    return c.post("/classify", json={"body": f"小区楼下噪音扰民第{i}次"}).status_code

            assert list(pool.map(classify, range(sent))) == [200] * sent
        per_worker = counted_once_settled(pids, sent)
        assert all(n > 0 for n in per_worker), f"one worker answered every request: {per_worker}"
        assert sum(per_worker) == sent
        scraped_by: set[str] = set()
        for _ in range(16):
            pid, samples = scrape(url)
            scraped_by.add(pid)
            labels = {"method": "POST", "route": "/classify"}
            assert series(samples, "triage_http_requests_total", status="200", **labels) == sent
            assert series(samples, "triage_http_request_duration_seconds_count", **labels) == sent
            assert series(samples, "triage_classifier_answers_total", route="/classify") == sent
            abstained = series(samples, "triage_classifier_abstained_total", route="/classify")
            ratio = series(samples, "triage_classifier_abstain_ratio", route="/classify")
            assert ratio == pytest.approx(abstained / sent)
        assert scraped_by == set(pids)

        # -- batches: a platform's keep-alive connections do not pin its batches to one worker -----
        # (each batch answer closes its connection, so the next batch is accepted by a free worker)
        batches_before = [requests_of(pid, "POST", "/classify/batch").get("200", 0.0) for pid in pids]
        batch = {
            "items": [{"body": f"小区楼下噪音扰民第{i}次，请尽快处理"} for i in range(200)],
            "reasons": False,
        }

        def send_batches(_: int) -> list[str]:
            with httpx.Client(base_url=url, timeout=60, headers=bearer(platform)) as c:  # keep-alive
                answers = [c.post("/classify/batch", json=batch) for _ in range(6)]
            assert [a.status_code for a in answers] == [200] * 6
            return [a.headers.get("connection", "") for a in answers]

        with ThreadPoolExecutor(max_workers=2) as pool:
            connection_headers = [h for hs in pool.map(send_batches, range(2)) for h in hs]
        assert connection_headers == ["close"] * 12
        time.sleep(0.5)  # a worker counts a request once its last byte has gone out
        batches_after = [requests_of(pid, "POST", "/classify/batch").get("200", 0.0) for pid in pids]
        done = [after - before for after, before in zip(batches_after, batches_before, strict=True)]
        assert sum(done) == 12 and all(n > 0 for n in done), f"batches per worker: {done}"

        # -- drafting history: a case added by another process is drafted from by both -----------
        petition = {
            "title": "地下车库充电桩私拉电线",
            "body": "锦华苑地下车库有人私拉电线给电动车充电，存在火灾隐患",
        }
        with fresh(url, headers=bearer(staff)) as c:
            before = c.post("/draft", json=petition).json()
        assert all(s["id"] != "case-9001" for s in before["sources"])
        history = HistoryIndex(models_dir / "retrieval" / "history")
        item = HistoryItem(
            id="case-9001",
            text="地下车库私拉电线充电 锦华苑地下车库有人私拉电线给电动车充电，存在火灾隐患",
            reply="网友您好：经核查，物业已拆除私拉电线，并在车库出口增设集中充电桩。",
            department="住建局",
            date="2026-11-20",
        )
        added_at = time.monotonic()
        assert history.add_history([item]).added == 1
        history.close()

        def drafts_from_new_case(_: int) -> bool:
            with fresh(url, headers=bearer(staff)) as c:
                answer = c.post("/draft", json=petition).json()
            return any(s["id"] == "case-9001" for s in answer["sources"])

        converged = None
        while time.monotonic() - added_at < 10.0:
            with ThreadPoolExecutor(max_workers=8) as pool:
                if all(pool.map(drafts_from_new_case, range(16))):
                    converged = time.monotonic() - added_at
                    break
            time.sleep(0.1)
        assert converged is not None, "the workers did not all draft from the new case within 10 s"
        drafted_before = [sum(requests_of(pid, "POST", "/draft").values()) for pid in pids]
        with ThreadPoolExecutor(max_workers=8) as pool:
            assert all(pool.map(drafts_from_new_case, range(24)))
        drafted_after = [sum(requests_of(pid, "POST", "/draft").values()) for pid in pids]
        assert all(a > b for a, b in zip(drafted_after, drafted_before, strict=True)), (
            f"both workers must answer the final drafts: {drafted_before} → {drafted_after}"
        )
    print(f"new history case drafted from by both workers after {converged:.2f} s (check {CHECK_SECONDS} s)")


def test_a_rate_limit_holds_across_two_workers(models_dir, tmp_path):
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    platform = make_key(db, "platform", name="partner")
    burst, rate = 5, 0.05  # one token per 20 s: at most one refill while the test runs
    env = {**BASE_ENV, "TRIAGE_RATE_LIMIT_PER_SECOND": str(rate), "TRIAGE_RATE_LIMIT_BURST": str(burst)}
    with running_server(models_dir, free_port(), workers=2, extra_env=env, database_url=db) as (url, _):
        pids = both_workers(url)  # /metrics is exempt from the limit

        # -- an API key: its bucket is one, whichever worker answers -------------------------------
        def classify(_: int) -> httpx.Response:
            with fresh(url, headers=bearer(platform)) as c:
                return c.post("/classify", json={"body": "噪音扰民"})

        answers = [classify(i) for i in range(30)]  # one at a time: see below
        ok = sum(r.status_code == 200 for r in answers)
        # a worker's first request with the key counts against the address (the worker has not
        # verified the key yet), then the key's one bucket: burst + 2 (+1 if a token refilled);
        # with one bucket per worker the key alone would get 2 × burst
        assert burst + len(pids) <= ok <= burst + len(pids) + 1, [r.status_code for r in answers]
        refused = [r for r in answers if r.status_code == 429]
        assert refused and all(r.headers["retry-after"].isdigit() for r in refused)
        assert (
            "rate limit exceeded for API key 'partner': 0.05 requests per second with bursts of 5"
            in (refused[-1].json()["detail"])
        )
        per_worker = [requests_of(pid, "POST", "/classify", LIMITED) for pid in pids]
        assert all(counts.get("429", 0) > 0 for counts in per_worker), per_worker

        # -- an address without a key: exactly its burst passes, over both workers ---------------
        def anonymous(_: int) -> httpx.Response:
            transport = httpx.HTTPTransport(local_address="127.0.0.2")
            with fresh(url, transport=transport) as c:
                return c.post("/classify", json={"body": "噪音扰民"})

        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(anonymous, range(20)))
        statuses = [r.status_code for r in answers]
        assert set(statuses) == {401, 429}
        assert burst <= statuses.count(401) <= burst + 1, statuses
        detail = next(r for r in answers if r.status_code == 429).json()["detail"]
        assert detail.startswith("rate limit exceeded for client 127.0.0.2: 0.05 requests per second")
        per_worker_after = [requests_of(pid, "POST", "/classify", LIMITED) for pid in pids]
        assert all(
            after.get("429", 0) + after.get("401", 0) > before.get("429", 0) + before.get("401", 0)
            for before, after in zip(per_worker, per_worker_after, strict=True)
        ), (per_worker, per_worker_after)


def test_a_worker_file_still_being_created_does_not_break_the_scrape(tmp_path):
    """A worker that has just created its metrics file leaves it empty for a moment; summing the
    folder then must skip it rather than fail (it made /metrics answer 500 under load)."""
    from prometheus_client.mmap_dict import MmapedDict, mmap_key

    from api.metrics import _WorkerFiles

    written = MmapedDict(str(tmp_path / "counter_101.db"))
    key = mmap_key("triage_http_requests", "triage_http_requests_total", ["route"], ["/classify"], "h")
    written.write_value(key, 3.0, 0)
    written.close()
    (tmp_path / "counter_102.db").touch()  # the other worker, mid-creation
    totals = {s.name: s.value for family in _WorkerFiles(str(tmp_path)).collect() for s in family.samples}
    assert totals == {"triage_http_requests_total": 3.0}
