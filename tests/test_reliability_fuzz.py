"""Fuzzing: schemathesis against the app's own OpenAPI schema, then hand-written hostile inputs.

Every response must be a status the schema documents, and never a 5xx. The schemathesis run
is bounded (FUZZ_EXAMPLES per operation and role, derandomised so CI sees the same cases) to
stay well inside CI's time; raise TRIAGE_FUZZ_EXAMPLES for a deeper local run.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from api.app import create_app
from tests.reliability_fixtures import bearer, make_key
from triage.settings import Settings
from triage.text import MAX_TEXT_CHARS

FUZZ_EXAMPLES = int(os.environ.get("TRIAGE_FUZZ_EXAMPLES", "8"))


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory, trained_models_dir):
    root = tmp_path_factory.mktemp("fuzz")
    models = root / "models"
    shutil.copytree(trained_models_dir, models)
    s = Settings(
        models_dir=models,
        database_url=f"sqlite:///{root / 'fuzz.db'}",
        model_check_seconds=0.0,
        rate_limit_per_second=0,
    )
    app = create_app(s)
    app.state.fuzz_keys = {role: make_key(s.database_url, role) for role in ("platform", "staff", "admin")}
    with TestClient(app) as c:  # seed one case so ids 1.. exist for the path parameters
        assert (
            c.post(
                "/cases",
                json={"external_id": "seed-1", "title": "噪音", "body": "楼下噪音扰民"},
                headers=bearer(app.state.fuzz_keys["platform"]),
            ).status_code
            == 201
        )
    yield app
    app.state.store.dispose()


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app):
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )


def fuzz_all_operations(schema, headers: dict[str, str], examples: int) -> tuple[int, list[str]]:
    """Run every operation with valid and schema-violating inputs; (requests sent, failures)."""
    sent, failures = 0, []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @fuzz_settings(examples)
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case) -> None:
                nonlocal sent
                sent += 1
                response = case.call_and_validate(
                    headers=headers, checks=[not_a_server_error, status_code_conformance]
                )
                assert response.status_code < 500

            try:
                run()
            except Unsatisfiable:
                continue  # no way to violate this operation's schema (no parameters, no body)
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect every operation's failure
                failures.append(f"{operation.label} ({mode.value}): {str(exc)[:1500]}")
    return sent, failures


def test_api_schema_fuzz_as_admin(fuzz_app, fuzz_schema):
    """With an admin key every route is reachable: the deepest fuzz."""
    sent, failures = fuzz_all_operations(
        fuzz_schema, bearer(fuzz_app.state.fuzz_keys["admin"]), FUZZ_EXAMPLES
    )
    assert sent >= 100
    assert not failures, "\n\n".join(failures)


def test_api_schema_fuzz_without_a_key(fuzz_app, fuzz_schema):
    """With no key, protected routes answer 401 whatever the input; never a 5xx."""
    sent, failures = fuzz_all_operations(fuzz_schema, {}, max(2, FUZZ_EXAMPLES // 3))
    assert sent >= 60
    assert not failures, "\n\n".join(failures)


# -- hand-written hostile input ---------------------------------------------------------------

HOSTILE_TEXTS = {
    "control characters": "噪音\x00\x01\x07\x1b[31m扰民\x7f\r\n\t\x0b\x0c",
    "lone surrogates": "噪音\ud800扰民\udfff",
    "RTL and zero-width marks": "\u202e噪音扰民\u202c\u200f\u200b\ufeff\u2066x\u2069",
    "mixed scripts": "噪音 noise Шум ضوضاء 騒音 소음 🙂🔥 𠀀𪚥",
    "HTML and script": '<script>alert("x")</script><img src=x onerror=alert(1)><a href="javascript:alert(1)">点</a>',
    "SQL-looking": "'; DROP TABLE cases; -- \" OR 1=1 /* */ UNION SELECT * FROM api_keys",
    "format strings": "%s %d {0} {__class__} ${jndi:ldap://x} %n",
    "only whitespace-like": "\u3000\u00a0\u2028\u2029 \t",
}


def post_json(client, url: str, payload: dict):
    """JSON with \\u escapes (as a browser would send a lone surrogate); httpx would refuse to encode it."""
    return client.post(
        url, content=json.dumps(payload).encode("ascii"), headers={"content-type": "application/json"}
    )


@pytest.mark.parametrize("what", list(HOSTILE_TEXTS))
def test_hostile_petitions_get_a_clean_answer(client, what):
    text = HOSTILE_TEXTS[what]
    responses = [
        post_json(client, "/classify", {"title": text, "body": text}),
        post_json(client, "/classify/batch", {"items": [{"body": text}, {"title": text}]}),
        post_json(client, "/cases", {"external_id": f"hostile-{what}", "title": text, "body": text}),
        post_json(client, "/check", {"petition": {"title": text, "body": text}, "reply": text}),
        post_json(client, "/draft", {"title": text, "body": text}),
    ]
    for r in responses:
        assert r.status_code < 500, (what, r.request.url, r.status_code, r.text[:300])
        assert r.status_code in (200, 201, 404, 413, 422), (what, r.request.url, r.status_code, r.text[:300])
        if r.status_code >= 400:
            assert r.json()["detail"], "an error must say what is wrong"
    case = responses[2]
    if case.status_code == 201 and what == "HTML and script":
        shown = client.get(f"/cases/{case.json()['id']}")
        assert shown.status_code == 200
        assert shown.headers["content-type"].startswith("application/json")  # never rendered as HTML
        assert shown.json()["title"] == text or "script" in shown.json()["title"]


def test_petitions_at_and_over_the_length_limit(client):
    at = "噪" * MAX_TEXT_CHARS
    assert client.post("/classify", json={"body": at}).status_code == 200
    over = client.post("/classify", json={"body": at + "音"})
    assert over.status_code == 413
    assert f"{MAX_TEXT_CHARS + 1} characters" in over.json()["detail"]
    huge = client.post("/cases", json={"external_id": "huge", "body": "噪" * 25_000})
    assert huge.status_code == 413
    assert client.get("/cases", params={"q": "huge"}).json()["total"] == 0  # nothing stored
    reply = client.post("/check", json={"petition": {"body": "噪音"}, "reply": "答" * 25_000})
    assert reply.status_code in (413, 422) and reply.json()["detail"]


def test_sql_looking_search_filters_match_literally(client):
    for i, body in enumerate(["楼下噪音扰民", "超市卖过期牛奶"]):
        assert client.post("/cases", json={"external_id": f"sql-{i}", "body": body}).status_code == 201
    total = client.get("/cases").json()["total"]
    assert total == 2
    for q in ("' OR '1'='1", "%", "_", "'; DROP TABLE cases; --", '" OR 1=1 --', "\\", "%' --"):
        r = client.get("/cases", params={"q": q})
        assert r.status_code == 200, (q, r.text)
        assert r.json()["total"] == 0, f"search {q!r} matched cases it does not contain"
    for dept in ("x' OR '1'='1", "住建局' --"):
        r = client.get("/cases", params={"department": dept})
        assert r.status_code == 200 and r.json()["total"] == 0
    assert client.get("/cases", params={"q": "噪音"}).json()["total"] == 1
    assert client.get("/cases").json()["total"] == total  # the table is still there, unchanged


def _retrain(client, content: bytes, name: str = "history.csv"):
    return client.post(
        "/admin/retrain", files={"file": (name, content, "text/csv")}, data={"promote": "false"}
    )


def test_compressed_bomb_upload_is_refused_cleanly_and_quickly(client):
    bomb = gzip.compress(b"\0" * 50_000_000, compresslevel=9)  # ~50 KB that would expand to 50 MB
    assert len(bomb) < 200_000
    r = _retrain(client, bomb, "history.csv.gz")
    assert r.status_code in (413, 422), r.text[:300]
    assert r.json()["detail"]


def test_oversized_csv_upload_is_refused_before_it_is_read(settings):
    with TestClient(create_app(settings.model_copy(update={"max_upload_bytes": 1_000_000}))) as c:
        c.headers.update(bearer(make_key(settings.database_url, "admin")))
        rows = "".join(f"标题{i},正文{i},住建局\n" for i in range(100_000))
        r = _retrain(c, ("title,body,department\n" + rows).encode("utf-8"))
    assert r.status_code == 413
    assert "1,000,000-byte limit for uploads" in r.json()["detail"]


# ok: True accepted, False refused with 422 naming the file. Big5 (Traditional) is told apart from
# GB18030 by which decoding yields common characters (triage.csvio), so it is accepted too.
@pytest.mark.parametrize(
    "encoding,ok",
    [
        ("gb18030", True),
        ("utf-8-sig", True),
        ("big5", True),
        ("utf-16", False),
        ("latin-1-garbage", False),
    ],
)
def test_csv_uploads_in_wrong_encodings_get_a_clear_answer(client, encoding, ok):
    lines = ["title,body,department"] + [f"小区噪音{i},楼下餐馆夜间噪音扰民{i},生态环境局" for i in range(30)]
    lines += [f"工资{i},公司拖欠工资{i},人社局" for i in range(30)]
    text = "\n".join(lines) + "\n"
    if encoding == "latin-1-garbage":
        content = bytes(range(128, 256)) * 40
    elif encoding == "big5":  # Big5 has no Simplified characters: the same rows in Traditional
        rows = [f"社區噪音{i},樓下餐館夜間噪音擾民{i},生態環境局" for i in range(30)]
        rows += [f"工資{i},公司拖欠工資{i},人社局" for i in range(30)]
        content = ("title,body,department\n" + "\n".join(rows) + "\n").encode("big5")
    else:
        content = text.encode(encoding)
    r = _retrain(client, content)
    assert r.status_code < 500, r.text[:300]
    if ok:
        assert r.status_code == 202, r.text[:300]
    else:
        assert r.status_code == 422, (r.status_code, r.text[:300])
        assert "history.csv" in r.json()["detail"], "the error names the uploaded file"


def test_malformed_json_and_wrong_types_are_4xx(client):
    cases = [
        (b'{"body": "x"', "application/json"),
        (b'{"body": 123}', "application/json"),
        (b"[]", "application/json"),
        (b"\xff\xfe\x00garbage", "application/json"),
        (b"body=x", "application/x-www-form-urlencoded"),
        (io.BytesIO(b"x" * 100).read(), "text/plain"),
    ]
    for content, ctype in cases:
        r = client.post("/classify", content=content, headers={"content-type": ctype})
        assert 400 <= r.status_code < 500, (content[:20], r.status_code)


def test_huge_numbers_in_paths_and_queries_are_4xx(settings):
    """Ids and offsets beyond the database's 64-bit integers: a 404/422, never a 500."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        c.headers.update(bearer(make_key(settings.database_url, "admin")))
        failures = []
        for big in (2**63, 2**64 + 1, -(2**63) - 1):
            for method, url, body in (
                ("GET", f"/cases/{big}", None),
                ("POST", f"/cases/{big}/routing", {"action": "accept"}),
                ("POST", f"/cases/{big}/reply", {"text": "答复"}),
                ("POST", f"/cases/{big}/return", {"reason": "不是我们的"}),
                ("GET", f"/cases?offset={abs(big)}", None),
                ("GET", f"/answers/{big}", None),
                ("GET", f"/topics/{big}", None),
            ):
                r = c.request(method, url, json=body)
                if not 400 <= r.status_code < 500:
                    failures.append(f"{method} {url}: {r.status_code} {r.text[:120]}")
    assert not failures, "\n".join(failures)
