"""One key's rate-limit budget holds across hosts when TRIAGE_REDIS_URL is set.

Two real servers on two ports (standing in for two hosts: no shared limiter file between them)
share one database and the Redis on 127.0.0.1:6379. Without Redis each would give the key its
own burst; with it the key gets its burst once, whichever host answers.
"""

from __future__ import annotations

import asyncio
import os

import httpx
import pytest

from api.ratelimit import RedisRateLimiter
from benchmarks.server import running_server
from tests.reliability_fixtures import bearer, free_port, make_key

REDIS_URL = os.environ.get("TRIAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_missing_reason() -> str | None:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means there is no Redis to test against
        return f"no Redis at {REDIS_URL} ({exc}); set TRIAGE_TEST_REDIS_URL"
    return None


pytestmark = pytest.mark.skipif(redis_missing_reason() is not None, reason=redis_missing_reason() or "")


@pytest.fixture
def clean_redis():
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()  # db 15 is the tests' own: earlier runs' counters must not count
    yield REDIS_URL
    client.flushdb()
    client.close()


def test_one_budget_per_key_across_two_hosts(models_dir, tmp_path, clean_redis):
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    platform = make_key(db, "platform", name="partner")
    burst, rate = 6, 0.05  # 6 requests per 120 s: nothing refills while the test runs
    env = {
        "TRIAGE_ANSWERS_ENCODER": "none",
        "TRIAGE_RATE_LIMIT_PER_SECOND": str(rate),
        "TRIAGE_RATE_LIMIT_BURST": str(burst),
        "TRIAGE_REDIS_URL": clean_redis,
    }
    with (
        running_server(models_dir, free_port(), extra_env=env, database_url=db) as (host_a, _),
        running_server(models_dir, free_port(), extra_env=env, database_url=db) as (host_b, _),
    ):
        statuses = []
        for i in range(12):  # alternate hosts, as a load balancer would
            url = host_a if i % 2 == 0 else host_b
            r = httpx.post(url + "/classify", json={"body": "噪音扰民"}, headers=bearer(platform), timeout=30)
            statuses.append((url == host_a, r.status_code, r.headers.get("retry-after"), r.text))
        ok = [s for s in statuses if s[1] == 200]
        refused = [s for s in statuses if s[1] == 429]
        # each host's first request with the key counts against the address (the host has not
        # verified the key yet), the rest against the key's one budget: burst + 2 at most
        assert burst <= len(ok) <= burst + 2, [s[:2] for s in statuses]
        assert {s[0] for s in refused} == {True, False}, "both hosts must refuse once the budget is spent"
        assert all(s[2] and s[2].isdigit() for s in refused)
        assert "rate limit exceeded for API key 'partner'" in refused[-1][3]


def test_an_unreachable_redis_lets_requests_through():
    """A rate limit guards the service; its store going away must not stop the hotline."""
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", rate=1.0, burst=1)
    waits = asyncio.run(_checks(limiter, 3))
    assert waits == [0.0, 0.0, 0.0]


async def _checks(limiter: RedisRateLimiter, n: int) -> list[float]:
    return [await limiter.check("key:1") for _ in range(n)]


def test_redis_budget_refuses_past_the_burst_with_a_wait(clean_redis):
    limiter = RedisRateLimiter(clean_redis, rate=0.5, burst=3)
    waits = asyncio.run(_checks(limiter, 5))
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert all(w > 0 for w in waits[3:]), waits
