"""Request ids, size limits, security headers, CORS, rate limits, /metrics and /health states."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

from api.app import create_app
from api.middleware import CSP_HTML
from api.ratelimit import RateLimiter, TokenBucket
from tests.reliability_fixtures import bearer, make_key

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}

PETITIONS = [
    {"title": "公司拖欠工资", "body": "我们公司拖欠农民工工资三个月了"},
    {"title": "噪音", "body": "楼下餐馆夜间噪音扰民"},
    {"title": "咨询", "body": "请问这个怎么办"},
    {"body": "你好"},
    {"title": "超市卖过期牛奶", "body": "超市卖过期牛奶，请市场监管部门查处"},
]


def app_with(settings, **changes):
    return create_app(settings.model_copy(update=changes))


def stderr_json_lines(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


# -- request id and access log -----------------------------------------------------------------


def test_request_id_is_echoed_or_made_and_logged(client, capsys):
    r = client.get("/health", headers={"X-Request-ID": "platform-4711.a:b"})
    assert r.headers["x-request-id"] == "platform-4711.a:b"
    made = client.get("/health").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    hostile = client.get("/health", headers={"X-Request-ID": "x" * 300}).headers["x-request-id"]
    assert hostile != "x" * 300 and re.fullmatch(r"[0-9a-f]{32}", hostile)
    lines = stderr_json_lines(capsys.readouterr().err)
    access = [entry for entry in lines if entry.get("logger") == "triage.access"]
    ours = [entry for entry in access if entry.get("request_id") == "platform-4711.a:b"]
    assert len(ours) == 1
    assert ours[0]["route"] == "/health" and ours[0]["status"] == 200 and ours[0]["ms"] >= 0
    assert any(entry.get("request_id") == made for entry in access)


# -- security headers and CSP ------------------------------------------------------------------


def test_security_headers_on_every_kind_of_response(settings):
    app = app_with(settings, rate_limit_per_second=1, rate_limit_burst=2)
    with TestClient(app) as c:
        key = bearer(make_key(settings.database_url, "platform"))
        responses = [
            c.get("/health"),  # 200
            c.post("/classify", json={"body": "噪音"}),  # 401 (no key; also spends the IP's bucket)
            c.get("/no/such/route", headers=key),  # 404
            c.post("/classify", content=b"x" * (settings.max_request_bytes + 1), headers=key),  # 413
            c.post("/classify", json={"body": "噪音"}, headers=key),  # 429 by now
        ]
    codes = [r.status_code for r in responses]
    assert codes[0] == 200 and codes[1] == 401 and 413 in codes and 429 in codes, codes
    for r in responses:
        for name, value in SECURITY_HEADERS.items():
            assert r.headers.get(name) == value, (r.status_code, name)
        assert r.headers["content-security-policy"].startswith("default-src 'none'")
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["x-request-id"]


def test_html_pages_get_a_strict_content_security_policy(settings):
    app = create_app(settings)

    @app.get("/reliability-test-page", response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        return "<html><body><script>alert(1)</script></body></html>"

    app.state.public_paths = set(app.state.public_paths) | {"/reliability-test-page"}
    with TestClient(app) as c:
        r = c.get("/reliability-test-page")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert csp == CSP_HTML
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp


def test_the_staff_page_if_served_gets_the_strict_policy(anon_client):
    page = anon_client.get("/")
    if page.status_code == 404:
        pytest.skip("the staff page (issue 5) is not served at / in this build")
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CSP_HTML
    assert page.headers["x-frame-options"] == "DENY"


# -- body size limits --------------------------------------------------------------------------


def test_oversized_body_is_refused_before_it_is_read(settings):
    """Content-Length over the limit: 413 without a single receive() call."""
    app = create_app(settings)
    sent: list[dict] = []

    async def receive():
        raise AssertionError("the body was read although Content-Length was over the limit")

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/classify",
        "raw_path": b"/classify",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"104857600")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    detail = json.loads(sent[1]["body"])["detail"]
    assert "104,857,600 bytes" in detail and f"{settings.max_request_bytes:,}-byte limit" in detail


def test_streamed_body_without_length_is_cut_at_the_limit(client, settings):
    chunk = b'{"body": "' + b"x" * 65536

    def stream():
        for _ in range(settings.max_request_bytes // 65536 + 4):
            yield chunk

    r = client.post("/classify", content=stream(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert "limit" in r.json()["detail"]


def test_uploads_have_their_own_limit(settings):
    app = app_with(settings, max_upload_bytes=200_000)
    with TestClient(app) as c:
        c.headers.update(bearer(make_key(settings.database_url, "admin")))
        big = b"title,body,department\n" + b"a,b,c\n" * 60_000
        r = c.post("/admin/retrain", files={"file": ("history.csv", big, "text/csv")})
    assert r.status_code == 413
    assert "uploads" in r.json()["detail"]


# -- CORS --------------------------------------------------------------------------------------


def test_cors_is_off_by_default(client):
    origin = {"Origin": "https://evil.example"}
    r = client.get("/health", headers=origin)
    assert "access-control-allow-origin" not in r.headers
    pre = client.options(
        "/classify",
        headers={
            **origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert "access-control-allow-origin" not in pre.headers
    assert pre.status_code >= 400


def test_cors_allows_only_the_configured_origins(settings):
    with TestClient(app_with(settings, cors_origins="https://hotline.example, https://board.example")) as c:
        ok = c.options(
            "/classify",
            headers={
                "Origin": "https://board.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://board.example"
        assert "x-request-id" in ok.headers  # preflights get an id and the security headers too
        bad = c.get("/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in bad.headers


# -- rate limiting -----------------------------------------------------------------------------


def test_token_bucket_refills_at_the_rate():
    clock = [100.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: clock[0])
    assert [limiter.check("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.check("k")
    assert wait == pytest.approx(0.5)
    clock[0] += 0.5
    assert limiter.check("k") == 0.0
    assert limiter.check("other") == 0.0  # buckets are per key
    bucket = TokenBucket(rate=1.0, burst=2, now=0.0)
    assert bucket.take(0.0) == 0.0 and bucket.take(0.0) == 0.0 and bucket.take(0.0) > 0
    assert bucket.full(10.0)


def test_rate_limit_is_per_key_with_a_clear_429(settings):
    app = app_with(settings, rate_limit_per_second=0.5, rate_limit_burst=3)
    with TestClient(app) as c:
        a = bearer(make_key(settings.database_url, "platform", "platform-a"))
        b = bearer(make_key(settings.database_url, "platform", "platform-b"))
        statuses = [c.post("/classify", json=PETITIONS[0], headers=a).status_code for _ in range(6)]
        assert statuses[:4] == [200, 200, 200, 200], statuses  # 1st on the address, 3 on the key's bucket
        assert statuses[4:] == [429, 429]
        limited = c.post("/classify", json=PETITIONS[0], headers=a)
        assert limited.status_code == 429
        detail = limited.json()["detail"]
        assert "rate limit exceeded for API key 'platform-a'" in detail and "retry after" in detail
        assert int(limited.headers["retry-after"]) >= 1
        # another key has its own bucket, and the load balancer's probe is never limited
        assert c.post("/classify", json=PETITIONS[1], headers=b).status_code == 200
        assert all(c.get("/health").status_code == 200 for _ in range(10))
        # without a verified key the client's address is the bucket
        anon = [c.post("/classify", json=PETITIONS[0]).status_code for _ in range(4)]
        assert 429 in anon and "client " in c.post("/classify", json=PETITIONS[0]).json()["detail"]


def test_default_rate_limit_does_not_get_in_the_way_of_normal_use(client):
    statuses = {client.post("/classify", json=PETITIONS[i % 5]).status_code for i in range(120)}
    assert statuses == {200}


# -- /metrics ----------------------------------------------------------------------------------


def metric(text: str, name: str, **labels) -> float | None:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(
            re.findall(
                r'(\w+)="([^"]*)"', line.split(" ")[0] if "{" not in line else line[: line.rindex("}") + 1]
            )
        )
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_count_requests_per_route_template_and_the_abstain_rate(client, registry):
    abstained = 0
    for p in PETITIONS:
        r = client.post("/classify", json=p)
        assert r.status_code == 200
        abstained += r.json()["abstain"]
    batch = client.post("/classify/batch", json={"items": PETITIONS})
    assert batch.status_code == 200
    batch_abstained = sum(item["abstain"] for item in batch.json()["items"])
    case = client.post("/cases", json={"external_id": "m-1", **PETITIONS[0]})
    assert case.status_code == 201
    client.get(f"/cases/{case.json()['id']}")
    client.get("/cases/999999")
    client.get("/definitely/not/a/route")

    text = client.get("/metrics").text
    assert metric(text, "triage_http_requests_total", method="POST", route="/classify", status="200") == len(
        PETITIONS
    )
    assert metric(
        text, "triage_http_request_duration_seconds_count", method="POST", route="/classify"
    ) == len(PETITIONS)
    assert (
        metric(text, "triage_http_requests_total", method="GET", route="/cases/{case_id}", status="200") == 1
    )
    assert (
        metric(text, "triage_http_requests_total", method="GET", route="/cases/{case_id}", status="404") == 1
    )
    assert metric(text, "triage_http_requests_total", method="GET", route="<unmatched>", status="404") == 1
    assert "/cases/999999" not in text  # templates, not raw paths: bounded label values
    assert metric(text, "triage_model_info", version=registry.live_version()) == 1.0
    assert metric(text, "triage_model_loaded") == 1.0
    assert metric(text, "triage_classifier_answers_total", route="/classify") == len(PETITIONS)
    assert (metric(text, "triage_classifier_abstained_total", route="/classify") or 0.0) == abstained
    assert metric(text, "triage_classifier_answers_total", route="/classify/batch") == len(PETITIONS)
    assert metric(text, "triage_classifier_abstain_ratio", route="/classify") == pytest.approx(
        abstained / len(PETITIONS)
    )
    assert metric(text, "triage_classifier_abstain_ratio", route="/classify/batch") == pytest.approx(
        batch_abstained / len(PETITIONS)
    )
    assert metric(text, "triage_classifier_answers_total", route="/cases") == 1
    assert metric(text, "process_resident_memory_bytes") > 0


def test_metrics_count_quality_verdicts(client):
    petition = {"title": "噪音", "body": "楼下餐馆夜间噪音扰民，请处理"}
    verdicts = []
    for reply in (
        "留言已收悉。",
        "您好，经核查，该餐馆已于3月5日整改，安装隔音设施，夜间22点后停止营业。如有疑问请致电12345。",
    ):
        r = client.post("/check", json={"petition": petition, "reply": reply})
        if r.status_code == 404:
            pytest.skip("POST /check (the quality checker's issue) is not served in this build")
        assert r.status_code == 200, r.text
        verdicts.append(r.json()["verdict"])
    text = client.get("/metrics").text
    assert metric(text, "triage_quality_checks_total", route="/check") == 2
    assert (metric(text, "triage_quality_revise_total", route="/check") or 0.0) == verdicts.count("revise")
    assert metric(text, "triage_quality_revise_ratio", route="/check") == pytest.approx(
        verdicts.count("revise") / 2
    )
    assert "revise" in verdicts  # an acknowledgement-only reply must be sent back


def test_metrics_is_open_like_health_and_needs_no_key(anon_client):
    r = anon_client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert "triage_worker_info" in r.text


# -- /health -----------------------------------------------------------------------------------


def test_health_tells_model_and_database_apart(settings, tmp_path):
    with TestClient(create_app(settings)) as c:
        ok = c.get("/health")
    assert ok.status_code == 200
    assert ok.json()["model"]["status"] == "ok" and ok.json()["database"]["status"] == "ok"

    no_model = settings.model_copy(update={"models_dir": tmp_path / "empty-models"})
    with TestClient(create_app(no_model)) as c:
        r = c.get("/health")
    assert r.status_code == 503
    assert r.json()["model"]["status"] == "missing" and r.json()["database"]["status"] == "ok"

    # the database server is down (nothing listens on port 1): the model is fine, the database is named
    no_db = settings.model_copy(update={"database_url": "postgresql+psycopg://postgres@127.0.0.1:1/triage"})
    app = create_app(no_db)
    with TestClient(app) as c:
        r = c.get("/health")
    assert r.status_code == 503
    body = r.json()
    assert body["model"]["status"] == "ok" and body["database"]["status"] == "unavailable"
    assert body["database"]["error"]


def test_an_unhandled_error_is_a_500_with_the_request_id_and_headers(settings, capsys):
    app = create_app(settings)

    @app.get("/reliability-test-boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("boom")

    app.state.public_paths = set(app.state.public_paths) | {"/reliability-test-boom"}
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/reliability-test-boom", headers={"X-Request-ID": "err-42"})
    assert r.status_code == 500
    assert r.headers["x-request-id"] == "err-42"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "err-42" in r.json()["detail"] and "boom" not in r.json()["detail"]  # no internals leak
    logged = [e for e in stderr_json_lines(capsys.readouterr().err) if e.get("logger") == "triage.error"]
    assert logged and logged[0]["request_id"] == "err-42" and "RuntimeError: boom" in logged[0]["exc"]


def test_metric_labels_stay_bounded_whatever_clients_send(client):
    for i in range(5):
        client.request("BREW", f"/coffee/{i}")
        client.get(f"/no/such/page/{i}")
    text = client.get("/metrics").text
    assert metric(text, "triage_http_requests_total", method="OTHER", route="<unmatched>") == 5
    assert metric(text, "triage_http_requests_total", method="GET", route="<unmatched>", status="404") == 5
    assert "BREW" not in text and "/coffee" not in text and "/no/such/page" not in text
