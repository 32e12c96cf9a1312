"""PII never reaches a log line: access logs, warnings, exceptions, uvicorn's own lines.

A petition carrying a mobile number, an ID card number, a landline and an e-mail address goes
through every path that logs; the captured output is then searched for those strings.
"""

from __future__ import annotations

import json
import logging

import httpx
from fastapi import Request
from fastapi.testclient import TestClient

from api.app import create_app
from benchmarks.server import running_server
from tests.reliability_fixtures import ID_CARD, PHONE, PII_PETITION, PII_STRINGS, bearer, free_port, make_key


def assert_no_pii(text: str) -> None:
    for secret in PII_STRINGS:
        assert secret not in text, f"{secret!r} reached the logs:\n" + "\n".join(
            line for line in text.splitlines() if secret in line
        )


def test_pii_is_masked_in_every_log_line_in_process(settings, tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    app = create_app(settings)

    @app.post("/reliability-test-crash", include_in_schema=False)
    async def crash(request: Request) -> None:
        body = await request.json()
        raise ValueError(f"could not handle petition {body['body']}")

    app.state.public_paths = set(app.state.public_paths) | {"/reliability-test-crash"}
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers.update(bearer(make_key(settings.database_url, "admin")))
        assert c.post("/classify", json=PII_PETITION).status_code == 200
        assert c.post("/cases", json={"external_id": f"tel-{PHONE}", **PII_PETITION}).status_code == 201
        assert c.get("/cases", params={"q": PHONE}).status_code == 200
        assert c.get("/cases", params={"q": ID_CARD}).status_code == 200
        assert c.post("/reliability-test-crash", json=PII_PETITION).status_code == 500
    # and a service with no model, whose case intake logs a warning naming the petition
    no_model = create_app(settings.model_copy(update={"models_dir": tmp_path / "none"}))
    with TestClient(no_model) as c:
        c.headers.update(bearer(make_key(settings.database_url, "platform")))
        assert c.post("/cases", json={"external_id": f"id-{ID_CARD}", **PII_PETITION}).status_code == 201

    err = capsys.readouterr().err
    formatted = "\n".join(logging.Formatter("%(message)s").format(r) for r in caplog.records)
    assert_no_pii(err)
    assert_no_pii(formatted)
    # the lines are there, masked: the query, the exception and its traceback, the warning
    assert "138****5678" in err
    assert any("could not handle petition" in line and "138****5678" in line for line in err.splitlines())
    assert "Traceback" in err and "ValueError" in err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    crash_lines = [entry for entry in lines if entry.get("logger") == "triage.error"]
    assert crash_lines and crash_lines[0]["request_id"] and "exc" in crash_lines[0]
    assert any(entry.get("logger") == "triage.cases" and "id-1101*****" in entry["msg"] for entry in lines)


def test_pii_is_masked_in_a_real_servers_logs(models_dir, tmp_path):
    """uvicorn at log level info, its access log on: every line it writes is checked."""
    db = f"sqlite:///{tmp_path / 'server.db'}"
    staff, platform = make_key(db, "staff"), make_key(db, "platform")
    log_path = tmp_path / "server.log"
    with (
        open(log_path, "w") as log,
        running_server(models_dir, free_port(), database_url=db, log_file=log, log_level="info") as (url, _),
    ):
        with httpx.Client(base_url=url, timeout=20) as c:
            assert (
                c.post(
                    "/classify",
                    json=PII_PETITION,
                    headers={**bearer(platform), "X-Request-ID": "pii-check-1"},
                ).status_code
                == 200
            )
            assert (
                c.post(
                    "/cases", json={"external_id": f"tel-{PHONE}", **PII_PETITION}, headers=bearer(platform)
                ).status_code
                == 201
            )
            assert c.get("/cases", params={"q": PHONE}, headers=bearer(staff)).status_code == 200
            assert c.get(f"/cases?q={ID_CARD}&department=x", headers=bearer(staff)).status_code == 200
            assert (
                c.post(
                    "/classify",
                    content=json.dumps(PII_PETITION)[:-3],
                    headers={**bearer(platform), "content-type": "application/json"},
                ).status_code
                == 422
            )
    text = log_path.read_text(encoding="utf-8")
    assert_no_pii(text)
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    ours = [entry for entry in lines if entry.get("request_id") == "pii-check-1"]
    assert ours and ours[0]["route"] == "/classify" and ours[0]["status"] == 200
    queries = [entry["query"] for entry in lines if entry.get("route") == "/cases" and "query" in entry]
    assert any("138****5678" in q for q in queries), queries
