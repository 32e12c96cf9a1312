"""API keys and roles: hashed storage, 401 without a valid key, 403 for the wrong role."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.auth import allowed_roles
from cli import main as cli_main
from tests.conftest import make_key
from triage.store.keys import KeyManagementError, create_key, revoke_key, verify_key
from triage.store.models import ApiKey

CASE = {"external_id": "P-1", "title": "公司拖欠工资", "body": "老板拖欠三个月工资"}


def test_keys_are_stored_as_salted_hashes(client):
    store = client.app.state.store
    with store.session(write=True) as s:
        key_a, _ = create_key(s, "staff", "a")
        key_b, _ = create_key(s, "staff", "b")
    with store.session() as s:
        rows = {r.name: r for r in s.scalars(select(ApiKey))}
        for key, row in ((key_a, rows["a"]), (key_b, rows["b"])):
            secret = key.split("_", 2)[2]
            assert secret not in row.hash and secret not in row.salt and len(row.hash) == 64
        assert rows["a"].salt != rows["b"].salt
        assert verify_key(s, key_a).name == "a"
        assert verify_key(s, key_a[:-1] + ("x" if key_a[-1] != "x" else "y")) is None
        assert verify_key(s, "tk_nosuchprefix_secret") is None
        assert verify_key(s, "not-a-key") is None
    with store.session(write=True) as s:
        revoke_key(s, rows["a"].prefix)
        with pytest.raises(KeyManagementError, match="no key"):
            revoke_key(s, "missing")
        with pytest.raises(KeyManagementError, match="unknown role"):
            create_key(s, "boss")
    with store.session() as s:
        assert verify_key(s, key_a) is None and verify_key(s, key_b) is not None


@pytest.mark.parametrize(
    "headers,message",
    [
        ({}, "missing API key"),
        ({"Authorization": "Basic abc"}, "malformed"),
        ({"Authorization": "Bearer tk_0000_wrong"}, "invalid or revoked"),
    ],
)
def test_missing_or_wrong_key_is_401(anon_client, headers, message):
    r = anon_client.get("/cases", headers=headers)
    assert r.status_code == 401 and message in r.json()["detail"]
    assert r.headers["www-authenticate"] == "Bearer"


def test_health_and_docs_stay_open(anon_client):
    assert anon_client.get("/health").status_code == 200
    assert anon_client.get("/docs").status_code == 200
    assert anon_client.get("/openapi.json").status_code == 200


def test_roles(anon_client):
    app = anon_client.app
    platform = {"Authorization": f"Bearer {make_key(app, 'platform')}"}
    staff = {"Authorization": f"Bearer {make_key(app, 'staff')}"}
    admin = {"Authorization": f"Bearer {make_key(app, 'admin')}"}
    c = anon_client
    # platform: submit and classify only
    created = c.post("/cases", json=CASE, headers=platform)
    assert created.status_code == 201
    assert c.post("/classify", json=CASE, headers=platform).status_code == 200
    case_id = created.json()["id"]
    for method, path in (
        ("GET", "/cases"),
        ("GET", f"/cases/{case_id}"),
        ("GET", "/stats"),
        ("POST", "/admin/retrain"),
        ("GET", "/models"),
    ):
        r = c.request(method, path, headers=platform)
        assert r.status_code == 403, (method, path)
        assert "platform key may not" in r.json()["detail"]
    # staff: cases, replies, stats; not admin routes
    assert c.get("/cases", headers=staff).status_code == 200
    assert c.get("/stats", headers=staff).status_code == 200
    assert c.post(f"/cases/{case_id}/routing", json={"action": "accept"}, headers=staff).status_code == 200
    assert c.post("/classify", json=CASE, headers=staff).status_code == 403
    assert c.post("/admin/models/rollback", headers=staff).status_code == 403
    assert c.get("/models", headers=staff).status_code == 403
    # admin: everything
    assert c.get("/models", headers=admin).status_code == 200
    assert c.get("/admin/jobs", headers=admin).status_code == 200
    assert c.post("/classify", json=CASE, headers=admin).status_code == 200


def test_every_route_but_the_public_ones_needs_a_key(anon_client):
    """Routers added later (by anyone) are protected too: a route nobody listed is admin-only."""
    checked = 0
    for template, operations in anon_client.app.openapi()["paths"].items():
        path = template.replace("{", "").replace("}", "")  # any value fills a path parameter
        for method in operations:
            method = method.upper()
            if allowed_roles(method, path) == ("*",) or path in anon_client.app.state.public_paths:
                continue
            r = anon_client.request(method, path)
            assert r.status_code == 401, (method, template, r.status_code)
            checked += 1
    assert checked >= 10


def test_an_unlisted_route_is_admin_only():
    assert allowed_roles("GET", "/something/new") == ()
    assert allowed_roles("POST", "/answers") == ("staff",) and allowed_roles("GET", "/answers/3") == (
        "staff",
    )
    assert allowed_roles("POST", "/admin/retrain") == ()
    assert allowed_roles("POST", "/cases") == ("platform", "staff")
    assert allowed_roles("GET", "/cases/12") == ("staff",)
    assert allowed_roles("POST", "/cases/12/reply") == ("staff",)
    assert allowed_roles("GET", "/casesXYZ") == ()


def test_cli_key_create_prints_the_key_alone_on_the_last_line(
    env_models, tmp_path, capsys, settings, monkeypatch
):
    monkeypatch.setenv("TRIAGE_DATABASE_URL", settings.database_url)
    assert cli_main(["keys", "create", "--role", "staff", "--name", "clerk"]) == 0
    key = capsys.readouterr().out.rstrip("\n").splitlines()[-1]
    assert key.startswith("tk_") and " " not in key
    with TestClient(create_app(settings)) as c:
        assert c.get("/cases", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert cli_main(["keys", "list"]) == 0
    listed = capsys.readouterr().out
    assert "clerk" in listed and key.split("_")[2] not in listed
    prefix = key.split("_")[1]
    assert cli_main(["keys", "revoke", prefix]) == 0
    with TestClient(create_app(settings)) as c:  # a new process: no cached check
        assert c.get("/cases", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert cli_main(["keys", "revoke", "nosuch"]) == 2
    assert "no key with prefix" in capsys.readouterr().err


def test_bootstrap_prints_a_staff_key_once(env_models, settings, monkeypatch, capsys):
    monkeypatch.setenv("TRIAGE_DATABASE_URL", settings.database_url)
    assert cli_main(["bootstrap"]) == 0
    out = capsys.readouterr().out
    keys = [line.strip() for line in out.splitlines() if line.strip().startswith("tk_")]
    assert len(keys) == 1
    with TestClient(create_app(settings)) as c:
        assert c.get("/stats", headers={"Authorization": f"Bearer {keys[0]}"}).status_code == 200
        assert (
            c.get("/models", headers={"Authorization": f"Bearer {keys[0]}"}).status_code == 403
        )  # staff, not admin
    assert cli_main(["bootstrap"]) == 0
    assert "tk_" not in capsys.readouterr().out  # never a second key on every start


def _wait_for(condition, seconds: float = 5.0) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def _short_cache(app, seconds: float, refresh_ahead: float):
    from api.auth import KeyCache

    app.state.key_cache = KeyCache(seconds, refresh_ahead)
    return app.state.key_cache


def test_a_key_in_use_is_renewed_ahead_of_expiry_off_the_request_path(anon_client):
    import hashlib
    import time

    app = anon_client.app
    cache = _short_cache(app, seconds=1.0, refresh_ahead=0.8)
    key = make_key(app, "staff", "renewed")
    headers = {"Authorization": f"Bearer {key}"}
    digest = hashlib.sha256(key.encode()).hexdigest()
    assert anon_client.get("/cases", headers=headers).status_code == 200  # checked, cached
    first_expiry = cache._items[digest][2]
    assert not cache.claim_renewal(digest)  # fresh: nothing to renew
    assert _wait_for(lambda: cache._items[digest][1] <= time.monotonic())
    assert anon_client.get("/cases", headers=headers).status_code == 200  # due: answered from cache
    assert _wait_for(lambda: cache._items.get(digest, (None, 0, 0))[2] > first_expiry)
    assert digest not in cache._renewing


def test_a_revoked_key_is_dropped_at_its_renewal_before_it_expires(anon_client):
    import hashlib
    import time

    app = anon_client.app
    cache = _short_cache(app, seconds=30.0, refresh_ahead=29.9)  # due 0.1 s after the check
    key = make_key(app, "staff", "revoked")
    headers = {"Authorization": f"Bearer {key}"}
    digest = hashlib.sha256(key.encode()).hexdigest()
    assert anon_client.get("/cases", headers=headers).status_code == 200
    with app.state.store.session(write=True) as s:
        revoke_key(s, key.split("_")[1])
    time.sleep(0.15)
    anon_client.get("/cases", headers=headers)  # starts the renewal, which finds the revocation
    assert _wait_for(lambda: digest not in cache._items)
    r = anon_client.get("/cases", headers=headers)
    assert r.status_code == 401 and "invalid or revoked" in r.json()["detail"]


def test_a_failed_renewal_leaves_the_entry_to_expire_and_can_be_retried():
    from api.auth import KeyCache
    from triage.store.keys import Identity

    cache = KeyCache(seconds=30.0, refresh_ahead=30.0)
    cache.put("d", Identity(1, "k", "staff"))
    assert cache.claim_renewal("d") and not cache.claim_renewal("d")  # one renewal at a time
    cache.renewal_failed("d")
    assert cache.get("d") is not None and cache.claim_renewal("d")
