"""The `/cases` routes answer typed models (issue 17): /docs names every field, and no field a
client reads was dropped on the way."""

from __future__ import annotations

WAGES = {"title": "公司拖欠工资", "body": "我们公司拖欠农民工工资三个月了，老板不接电话。"}
DETAIL_FIELDS = {
    "id", "external_id", "title", "status", "department", "label", "confidence", "abstain", "manual_queue",
    "urgent", "routing_state", "request_type", "channel", "received_at", "deadline", "overdue", "hours_left",
    "returns", "possible_duplicate", "merged_into", "version", "body", "district", "created_at", "updated_at",
    "contact", "attachments", "supplements", "closed_at", "routing", "merged", "draft", "latest_reply", "reply",
    "qc", "history",
}  # fmt: skip


def test_every_case_route_documents_its_answer(db_client):
    paths = db_client.get("/openapi.json").json()["paths"]
    schemas = db_client.get("/openapi.json").json()["components"]["schemas"]

    def answer(path: str, method: str) -> str:
        ref = paths[path][method]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        return ref.rsplit("/", 1)[1]

    assert answer("/cases", "get") == "QueuePage"
    for path in ("/cases/{case_id}", "/cases/{case_id}/routing", "/cases/{case_id}/return"):
        method = "get" if path == "/cases/{case_id}" else "post"
        assert answer(path, method) == "CaseDetail"
    assert answer("/cases/{case_id}/reply", "post") == "ReplyResult"
    detail = schemas["CaseDetail"]["properties"]
    assert DETAIL_FIELDS <= set(detail)
    assert {"style", "missing"} <= set(schemas["DraftView"]["properties"])
    assert "transfer" in schemas["Urgent"]["properties"]


def test_the_answers_keep_every_field(db_client):
    created = db_client.post("/cases", json={"external_id": "S-1", **WAGES}).json()
    case = db_client.get(f"/cases/{created['id']}").json()
    assert set(case) == DETAIL_FIELDS
    assert set(case["draft"]) == {"text", "tier", "sources", "style", "missing"}
    routed = db_client.post(f"/cases/{created['id']}/routing", json={"action": "accept"}).json()
    assert set(routed) == DETAIL_FIELDS and routed["routing"]["state"] == "accepted"
    page = db_client.get("/cases").json()
    assert set(page) == {"items", "total", "limit", "offset"} and page["items"][0]["id"] == created["id"]
    saved = db_client.post(f"/cases/{created['id']}/reply", json={"text": "草稿", "send": False}).json()
    assert set(saved) == {"case_id", "status", "sent", "kind", "version", "qc"} and saved["kind"] == "draft"
