"""Concurrency: several uvicorn workers, one models directory, one database.

Mechanism under test (api/live_model.py): every worker checks the live pointer's inode and
mtime at most every TRIAGE_MODEL_CHECK_SECONDS and loads the new bundle before swapping it in,
so a promotion made through any worker (or the CLI) is served by all within that bound plus the
load time. `triage_worker_info{pid}` on /metrics tells which worker answered.
"""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from benchmarks.server import running_server
from tests.reliability_fixtures import add_bundle, bearer, free_port, make_key

CHECK_SECONDS = 0.5
BOUND_SECONDS = 10.0  # the check interval plus loading a bundle, on a machine shared with others


def scrape(url: str) -> tuple[str, str | None]:
    """(pid, model version) of whichever worker accepts a fresh connection."""
    with httpx.Client(timeout=10, headers={"Connection": "close"}) as c:
        text = c.get(f"{url}/metrics").text
    pid = re.search(r'triage_worker_info\{pid="(\d+)"\}', text).group(1)
    version = re.search(r'triage_model_info\{version="([^"]+)"\}', text)
    return pid, version.group(1) if version else None


def sample_workers(url: str, n: int = 24) -> dict[str, set[str]]:
    """Versions reported per worker pid, over `n` concurrent fresh connections."""
    seen: dict[str, set[str]] = {}
    with ThreadPoolExecutor(max_workers=8) as pool:
        for pid, version in pool.map(lambda _: scrape(url), range(n)):
            seen.setdefault(pid, set()).add(version)
    return seen


def test_a_promotion_through_one_worker_is_served_by_all(models_dir, registry, tmp_path):
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    admin, platform = make_key(db, "admin"), make_key(db, "platform")
    old = registry.live_version()
    new = add_bundle(models_dir, "promo")
    env = {"TRIAGE_MODEL_CHECK_SECONDS": str(CHECK_SECONDS)}
    with running_server(models_dir, free_port(), workers=2, extra_env=env, database_url=db) as (url, _):
        # both workers are up and serve the old model (wait for both: they start one after the other)
        deadline = time.monotonic() + 60
        seen: dict[str, set[str]] = {}
        while time.monotonic() < deadline:
            for pid, versions in sample_workers(url).items():
                seen.setdefault(pid, set()).update(versions)
            if len(seen) >= 2:
                break
        assert len(seen) == 2, f"expected 2 workers to answer, saw {sorted(seen)}"
        with httpx.Client(base_url=url, timeout=20) as c:
            assert (
                c.post("/classify", json={"body": "噪音扰民"}, headers=bearer(platform)).json()[
                    "model_version"
                ]
                == old
            )
            promoted_at = time.monotonic()
            r = c.post(f"/admin/models/{new}/promote", headers=bearer(admin))
            assert r.status_code == 200, r.text
        # within the bound, every worker reports the new version on /metrics and in /classify answers
        converged = None
        while time.monotonic() - promoted_at < BOUND_SECONDS:
            views = sample_workers(url, 16)
            if len(views) == 2 and all(v == {new} for v in views.values()):
                converged = time.monotonic() - promoted_at
                break
            time.sleep(0.1)
        assert converged is not None, (
            f"workers still serve {sample_workers(url)} {BOUND_SECONDS} s after the promotion"
        )
        versions = set()
        with ThreadPoolExecutor(max_workers=8) as pool:

            def classify(_: int) -> str:
                with httpx.Client(timeout=10, headers={"Connection": "close", **bearer(platform)}) as c:
                    return c.post(f"{url}/classify", json={"body": "公司拖欠工资"}).json()["model_version"]

            versions.update(pool.map(classify, range(24)))
        assert versions == {new}
    print(f"promotion served by both workers after {converged:.2f} s (check interval {CHECK_SECONDS} s)")


def test_concurrent_routing_overrides_never_lose_an_update(models_dir, tmp_path, db_url):
    """Two workers, many clerks overriding one case at once: every accepted change is in the history."""
    staff, platform = make_key(db_url, "staff"), make_key(db_url, "platform")
    departments = ["住建局", "生态环境局", "交通运输局", "教育局", "人社局", "卫健委", "市场监管局", "城管局"]
    with running_server(models_dir, free_port(), workers=2, database_url=db_url) as (url, _):
        with httpx.Client(base_url=url, timeout=30) as c:
            case = c.post(
                "/cases", json={"external_id": "race-1", "body": "楼下噪音扰民"}, headers=bearer(platform)
            ).json()
        results: list[tuple[int, str]] = []
        lock = threading.Lock()

        def override(i: int) -> None:
            dept = departments[i % len(departments)]
            with httpx.Client(
                base_url=url, timeout=30, headers={"Connection": "close", **bearer(staff)}
            ) as c:
                current = c.get(f"/cases/{case['id']}").json()
                r = c.post(
                    f"/cases/{case['id']}/routing",
                    json={
                        "action": "override",
                        "department": dept,
                        "reason": f"clerk {i}",
                        "version": current["version"],
                    },
                )
            with lock:
                results.append((r.status_code, dept))

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(override, range(24)))
        with httpx.Client(base_url=url, timeout=30, headers=bearer(staff)) as c:
            final = c.get(f"/cases/{case['id']}").json()
    codes = [code for code, _ in results]
    assert set(codes) <= {200, 409}, codes
    accepted = codes.count(200)
    assert accepted >= 1
    # every 200 bumped the version exactly once; a 409 changed nothing
    assert final["version"] == case["version"] + accepted, (final["version"], case["version"], accepted)
    overrides = [e for e in final["history"] if e["kind"] == "routing_overridden"]
    assert len(overrides) == accepted, f"{accepted} overrides accepted, {len(overrides)} in the history"
    # the case ends on the department of the last accepted override (no write lost in between)
    assert final["routing"]["department"] == overrides[-1]["data"]["department"]
