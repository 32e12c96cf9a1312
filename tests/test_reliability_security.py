"""Security: roles on every route, hashed keys compared in constant time, no secret in the tree.

The role table below is written out by hand, independently of api.auth.POLICY, so a policy
change that opens a route fails here until someone decides it on purpose. A route missing from
the table is expected to be admin-only (the policy's default for routes nobody listed).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import subprocess
from pathlib import Path

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from tests.reliability_fixtures import bearer, make_key
from triage.store import keys as keys_module
from triage.store.engine import Store
from triage.store.models import ApiKey

ROLES = ("none", "wrong", "platform", "staff", "admin")
OPEN = {"none", "wrong", "platform", "staff", "admin"}
PLATFORM = {"platform", "admin"}
STAFF = {"staff", "admin"}
PLATFORM_OR_STAFF = {"platform", "staff", "admin"}
ADMIN = {"admin"}

# (method, path template) -> the roles that get past authentication and authorisation.
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("GET", "/health"): OPEN,
    ("GET", "/metrics"): OPEN,
    ("GET", "/openapi.json"): OPEN,
    ("GET", "/docs"): OPEN,
    ("GET", "/docs/oauth2-redirect"): OPEN,
    ("GET", "/redoc"): OPEN,
    ("POST", "/classify"): PLATFORM,
    ("POST", "/classify/batch"): PLATFORM,
    ("POST", "/cases"): PLATFORM_OR_STAFF,
    ("GET", "/cases"): STAFF,
    ("GET", "/cases/{case_id}"): STAFF,
    ("POST", "/cases/{case_id}/routing"): STAFF,
    ("POST", "/cases/{case_id}/reply"): STAFF,
    ("POST", "/cases/{case_id}/return"): STAFF,
    ("POST", "/cases/{case_id}/merge"): STAFF,
    ("POST", "/cases/{case_id}/unmerge"): STAFF,
    ("GET", "/platform/cases/{external_id}"): PLATFORM,
    ("POST", "/platform/cases/{external_id}/supplements"): PLATFORM,
    ("GET", "/stats"): STAFF,
    ("GET", "/stats/flagged-replies"): STAFF,
    ("POST", "/draft"): STAFF,
    ("GET", "/answers"): STAFF,
    ("GET", "/answers/{answer_id}"): STAFF,
    ("GET", "/topics"): STAFF,
    ("GET", "/topics/heat-formula"): STAFF,
    ("GET", "/topics/{topic_id}"): STAFF,
    ("POST", "/check"): STAFF,
    ("POST", "/check/batch"): STAFF,
    ("POST", "/duplicates/check"): STAFF,
    ("GET", "/models"): ADMIN,
    ("POST", "/admin/retrain"): ADMIN,
    ("GET", "/admin/jobs"): ADMIN,
    ("GET", "/admin/jobs/{job_id}"): ADMIN,
    ("POST", "/admin/models/{version}/promote"): ADMIN,
    ("POST", "/admin/models/rollback"): ADMIN,
    ("POST", "/answers"): STAFF,
    ("PUT", "/answers/{answer_id}"): STAFF,
    ("DELETE", "/answers/{answer_id}"): STAFF,
}
# The staff page and its assets are public (the page asks for a key and sends it on API calls).
PUBLIC_PREFIXES = ("/static",)
PUBLIC_PAGES = {("GET", "/"), ("GET", "/supervisor"), ("GET", "/library"), ("GET", "/case/{case_id}")}


def all_routes(app) -> list[tuple[str, str]]:
    out = []
    for route in iter_route_contexts(app.routes):
        if route.path is None:
            continue
        for method in sorted(route.methods or {"GET"}):
            if method != "HEAD":
                out.append((method, route.path))
    return out


def concrete(path: str) -> str:
    return re.sub(
        r"\{(\w+)(:\w+)?\}", lambda m: "999999" if m.group(1).endswith("_id") else "no-such-thing", path
    )


def expected_roles(method: str, path: str) -> set[str]:
    if (method, path) in EXPECTED:
        return EXPECTED[(method, path)]
    if (method, path) in PUBLIC_PAGES or path.startswith(PUBLIC_PREFIXES):
        return OPEN
    return ADMIN


def call(client: TestClient, method: str, path: str, headers: dict[str, str]):
    url = concrete(path)
    if method in ("GET", "DELETE"):
        return client.request(method, url, headers=headers)
    if path == "/admin/retrain":  # an invalid form so an admin's call cannot start a real job
        return client.request(method, url, headers=headers, data={"test_size": "5"})
    return client.request(method, url, headers=headers, json={})


def test_every_route_enforces_the_role_table(settings):
    app = create_app(settings.model_copy(update={"rate_limit_per_second": 0}))
    headers = {
        "none": {},
        "wrong": bearer("tk_0123456789ab_" + "not-a-real-secret" * 3),  # well-formed, unknown
        "platform": bearer(make_key(settings.database_url, "platform")),
        "staff": bearer(make_key(settings.database_url, "staff")),
        "admin": bearer(make_key(settings.database_url, "admin")),
    }
    routes = all_routes(app)
    assert len(routes) >= 20, routes
    failures = []
    with TestClient(app, raise_server_exceptions=False) as c:
        for method, path in routes:
            allowed = expected_roles(method, path)
            for role in ROLES:
                r = call(c, method, path, headers[role])
                if r.status_code >= 500:
                    failures.append(f"{method} {path} as {role}: {r.status_code} {r.text[:200]}")
                elif role in allowed and r.status_code in (401, 403):
                    failures.append(
                        f"{method} {path} as {role}: refused with {r.status_code} but should pass"
                    )
                elif role not in allowed:
                    want = 401 if role in ("none", "wrong") else 403
                    if r.status_code != want:
                        failures.append(f"{method} {path} as {role}: {r.status_code}, expected {want}")
                    elif want == 401 and r.headers.get("www-authenticate") != "Bearer":
                        failures.append(f"{method} {path} as {role}: 401 without WWW-Authenticate: Bearer")
    assert not failures, "\n".join(failures)


def test_a_platform_key_cannot_retrain_or_promote(settings, registry):
    with TestClient(create_app(settings)) as c:
        platform = bearer(make_key(settings.database_url, "platform"))
        live = registry.live_version()
        for method, url in (
            ("POST", "/admin/retrain"),
            ("POST", f"/admin/models/{live}/promote"),
            ("POST", "/admin/models/rollback"),
        ):
            r = c.request(method, url, headers=platform)
            assert r.status_code == 403, (url, r.status_code)
            assert "platform key may not" in r.json()["detail"]
    assert registry.live_version() == live


def test_keys_are_stored_hashed_and_compared_in_constant_time(settings, monkeypatch):
    key = make_key(settings.database_url, "staff", "clerk-1")
    _, prefix, secret = key.split("_")
    store = Store(settings.database_url)
    try:
        with store.session() as s:
            rows = list(s.scalars(select(ApiKey)))
            row = next(r for r in rows if r.prefix == prefix)
            for r in rows:  # the secret appears in no column of any key row
                for column in ApiKey.__table__.columns:
                    assert secret not in str(getattr(r, column.key) or "")
            assert (
                row.hash
                == hashlib.scrypt(secret.encode(), salt=bytes.fromhex(row.salt), **keys_module.SCRYPT).hex()
            )

            compared, hashed = [], []
            real_compare, real_scrypt = hmac.compare_digest, hashlib.scrypt
            monkeypatch.setattr(
                hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real_compare(a, b)
            )
            monkeypatch.setattr(hashlib, "scrypt", lambda *a, **k: hashed.append(1) or real_scrypt(*a, **k))
            assert keys_module.verify_key(s, key).role == "staff"
            known_cost = len(hashed)
            assert keys_module.verify_key(s, key[:-1] + ("A" if key[-1] != "A" else "B")) is None
            # an unknown prefix costs the same scrypt work as a known one: no timing oracle for prefixes
            before = len(hashed)
            assert keys_module.verify_key(s, "tk_ffffffffffff_" + secret) is None
            assert len(hashed) - before == known_cost == 1, "scrypt runs per check: known vs unknown prefix"
            # every comparison with a stored hash is hmac.compare_digest (constant time), never ==
            assert len(compared) == 2 and compared[0][0] == compared[0][1] == row.hash
    finally:
        store.dispose()


SECRET_PATTERNS = {
    "an API key of this service": re.compile(r"tk_[0-9a-f]{12}_[A-Za-z0-9-]{20,}"),
    "a private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "an AWS access key": re.compile(r"AKIA[0-9A-Z]{16}"),
    "a password in a URL": re.compile(r"://[^/\s:@'\"]+:[^@\s/'\"]{3,}@"),
    "a hard-coded password": re.compile(
        r"(?i)\b(password|passwd|secret_key|api_key)\s*[=:]\s*['\"][^'\"\s]{8,}['\"]"
    ),
}


def repository_files(root: Path) -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
        files = [root / f for f in out if f]
    except (OSError, subprocess.CalledProcessError):
        skip = {".venv", ".git", "models", "data", "__pycache__", ".pytest_cache", ".ruff_cache"}
        files = [
            p for p in root.rglob("*") if p.is_file() and not skip.intersection(p.relative_to(root).parts)
        ]
    return [f for f in files if f.is_file()]


def test_no_secret_in_the_repository():
    root = Path(__file__).resolve().parent.parent
    files = repository_files(root)
    assert len(files) > 50
    assert not (root / ".env").exists() or ".env" in (root / ".gitignore").read_text(), (
        ".env must never be committed"
    )
    found = []
    for path in files:
        if path.suffix in {".png", ".jpg", ".joblib", ".gz", ".zip", ".db"}:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for what, pattern in SECRET_PATTERNS.items():
            for match in pattern.finditer(text):
                if (
                    path.name == Path(__file__).name
                    and "re.compile" in text[max(0, match.start() - 80) : match.start()]
                ):
                    continue  # the patterns themselves
                found.append(f"{path.relative_to(root)}: {what}: {match.group(0)[:40]}")
    assert not found, "\n".join(found)


@pytest.mark.parametrize("header", ["Bearer", "Basic dXNlcjpwYXNz", "Bearer tk_short", "tk_0123456789ab_x"])
def test_malformed_keys_get_a_clean_401(anon_client, header):
    r = anon_client.post("/classify", json={"body": "噪音"}, headers={"Authorization": header})
    assert r.status_code == 401
    assert r.json()["detail"]
