"""The drafting history is a cache of the store's sent replies: another host drafts from a reply
sent on this one, and a lost history folder is rebuilt from the store. SQLite and PostgreSQL."""

from __future__ import annotations

import shutil

from tests.hosts_fixtures import close, host
from triage.drafting import retrieval_dir

PETITION = {
    "title": "装修公司拖欠木工工资",
    "body": "城南区宏图装修公司拖欠我们十二名木工三个月工资共十五万元，老板一直推说工程款没到。",
}
REPLY = (
    "网友您好：经核实，城南区宏图装修公司确拖欠12名木工3个月工资共计15万元。1月9日，市人社局劳动保障监察支队"
    "依据《保障农民工工资支付条例》第三十条向该公司下达限期整改指令书，要求其于1月20日前足额支付。如逾期未付，"
    "将依法处罚并列入拖欠工资失信名单。联系电话0571-86523017。"
)
REPEAT = {
    "title": "宏图装修公司欠薪",
    "body": "宏图装修公司拖欠木工工资三个月，工程款没到就不发钱，我们该怎么办？",
}


def send_reply(client) -> int:
    created = client.post("/cases", json={"external_id": "W-1", **PETITION})
    assert created.status_code == 201, created.text
    case_id = created.json()["id"]
    accepted = client.post(
        f"/cases/{case_id}/routing", json={"action": "override", "department": "人社局", "reason": "欠薪"}
    )
    assert accepted.status_code == 200, accepted.text
    sent = client.post(f"/cases/{case_id}/reply", json={"text": REPLY, "send": True})
    assert sent.status_code == 200, sent.text
    assert sent.json()["sent"] and sent.json()["qc"]["verdict"] == "ok", sent.json()["qc"]
    return case_id


def history_sources(client) -> list[str]:
    draft = client.post("/draft", json={**REPEAT, "department": "人社局"})
    assert draft.status_code == 200, draft.text
    return [s["id"] for s in draft.json()["sources"] if s["kind"] == "history"]


def test_a_reply_sent_on_one_host_is_a_history_source_on_the_other(hosts):
    a, b = hosts
    case_id = send_reply(a)
    assert f"case-{case_id}" in history_sources(b)


def test_a_lost_history_folder_is_rebuilt_from_the_store(hosts, db_settings, tmp_path):
    a, _ = hosts
    case_id = send_reply(a)
    close(a)
    hosts.remove(a)
    folder = retrieval_dir(tmp_path / "host-a") / "history"
    assert folder.is_dir()
    shutil.rmtree(folder)
    restarted = host(db_settings, tmp_path / "host-a")
    hosts.append(restarted)
    assert f"case-{case_id}" in history_sources(restarted)
