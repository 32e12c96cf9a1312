"""The API's documentation works on an intranet and says how to authenticate and what comes back."""

from __future__ import annotations

import re

URL = re.compile(r"https?://")


def test_docs_and_redoc_use_only_local_assets(anon_client):
    for page in ("/docs", "/redoc"):
        r = anon_client.get(page)
        assert r.status_code == 200
        assert not URL.search(r.text), f"{page} references a remote URL: {URL.search(r.text)}"
        assets = re.findall(r'(?:src|href)="([^"]+)"', r.text)
        assert assets and all(a.startswith("/") for a in assets), assets
        for asset in assets:
            got = anon_client.get(asset)
            assert got.status_code == 200 and got.content, asset
        csp = r.headers["content-security-policy"]
        assert not URL.search(csp) and "script-src 'self'" in csp
    js = anon_client.get("/static/docs/swagger-ui-bundle.js")
    assert "javascript" in js.headers["content-type"] and b"SwaggerUIBundle" in js.content


def test_openapi_has_the_bearer_scheme_and_the_lock_per_role(anon_client):
    spec = anon_client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearer"]["description"],
    }
    paths = spec["paths"]
    own = paths["/platform/cases/{external_id}"]["get"]
    assert own["security"] == [{"bearer": []}] and "Roles: platform, admin" in own["description"]
    assert paths["/cases"]["get"]["security"] == [{"bearer": []}]
    assert paths["/health"]["get"]["security"] == []
    assert "Roles: admin" in paths["/admin/webhooks"]["get"]["description"]


def _schema(spec, ref: str) -> dict:
    return spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def test_post_cases_documents_201_and_200_with_the_real_schema(anon_client):
    spec = anon_client.get("/openapi.json").json()
    responses = spec["paths"]["/cases"]["post"]["responses"]
    for code in ("200", "201"):
        ref = responses[code]["content"]["application/json"]["schema"]["$ref"]
        props = _schema(spec, ref)["properties"]
        assert {"id", "external_id", "status", "deadline", "routing", "draft", "created", "note"} <= set(
            props
        )
        assert "detail" not in props
    assert "exists already" in responses["200"]["description"]
    body = spec["paths"]["/cases"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert {"contact", "attachments"} <= set(_schema(spec, body)["properties"])


def test_platform_routes_have_typed_responses(anon_client):
    spec = anon_client.get("/openapi.json").json()
    read = spec["paths"]["/platform/cases/{external_id}"]["get"]["responses"]
    view = _schema(spec, read["200"]["content"]["application/json"]["schema"]["$ref"])
    assert {"status", "department", "deadline", "overdue", "reply", "supplements"} <= set(view["properties"])
    add = spec["paths"]["/platform/cases/{external_id}/supplements"]["post"]["responses"]
    assert "201" in add and "409" in add and "404" in add
    assert (
        "supplement"
        in _schema(spec, add["201"]["content"]["application/json"]["schema"]["$ref"])["properties"]
    )


def test_post_cases_keeps_every_field_other_code_adds(client):
    """The response model documents fields but drops none: the JSON is what the route built."""
    r = client.post("/cases", json={"external_id": "D-1", "title": "噪音", "body": "楼下噪音扰民"})
    assert r.status_code == 201
    data = r.json()
    assert {
        "id",
        "status",
        "deadline",
        "overdue",
        "hours_left",
        "routing",
        "draft",
        "created",
        "note",
    } <= set(data)
    assert {"top_k", "reasons", "returned_by", "out_of_scope", "place", "departments"} <= set(data["routing"])


def test_the_close_webhook_is_documented(anon_client):
    spec = anon_client.get("/openapi.json").json()
    hook = spec["webhooks"]["case.closed"]["post"]
    assert "X-Triage-Signature" in hook["description"]
    body = hook["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert {"event", "external_id", "status", "department", "reply"} <= set(_schema(spec, body)["properties"])
