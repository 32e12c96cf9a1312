"""Draft retention (issue 18): each sent reply stores how much of the suggested draft it kept, and
/stats shows its mean per department beside `unchanged_share`. SQLite and PostgreSQL."""

from __future__ import annotations

import re
import statistics

from triage.textsim import rouge_l

WAGES = {
    "title": "公司拖欠工资",
    "body": "我们公司拖欠农民工工资三个月了，老板不接电话，希望劳动部门帮我们讨薪。",
}
FINDING = (
    "经核实，该公司拖欠12名员工3个月工资共计15万元。1月9日，市人社局劳动保障监察支队依据《保障农民工工资支付条例》"
    "第三十条向该公司下达限期整改指令书，要求其于1月20日前足额支付。联系电话0571-86523017。"
)


def send(client, external_id: str, reply_from_draft) -> tuple[dict, str]:
    created = client.post("/cases", json={"external_id": external_id, **WAGES}).json()
    case_id = created["id"]
    client.post(f"/cases/{case_id}/routing", json={"action": "accept"})
    draft = client.get(f"/cases/{case_id}").json()["draft"]["text"]
    text = reply_from_draft(draft)
    sent = client.post(
        f"/cases/{case_id}/reply",
        json={"text": text, "send": True, "confirm_reason": "已电话核实并向群众说明"},
    )
    assert sent.status_code == 200 and sent.json()["sent"], sent.text
    return client.get(f"/cases/{case_id}").json(), draft


def test_a_sent_reply_stores_how_much_of_the_draft_it_kept_and_stats_average_it(db_client):
    # the rewrite first: once a reply is sent, the same petition again is drafted from that reply
    rewritten, draft_b = send(db_client, "R-2", lambda d: "您好：" + FINDING)
    kept, draft_a = send(db_client, "R-1", lambda d: re.sub(r"【[^】]*】", "已处理", d) + FINDING)
    high = kept["reply"]["draft_retention"]
    low = rewritten["reply"]["draft_retention"]
    assert high == round(rouge_l(kept["reply"]["text"], draft_a), 4)
    assert low == round(rouge_l(rewritten["reply"]["text"], draft_b), 4)
    assert 0 <= low < high <= 1 and high > 0.5
    department = kept["department"]
    row = next(r for r in db_client.get("/stats").json()["departments"] if r["department"] == department)
    assert row["draft_retention"] == round(statistics.mean([high, low]), 4)
    assert "unchanged_share" in row  # side by side


def test_no_reply_sent_yet_means_no_retention(db_client):
    db_client.post("/cases", json={"external_id": "R-3", **WAGES})
    rows = db_client.get("/stats").json()["departments"]
    assert rows and all(r["draft_retention"] is None for r in rows)
