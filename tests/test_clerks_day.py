"""A clerk's day (issue 16): twenty petitions written for it arrive through the platform, and a
clerk works them in the staff page in Debian's chromium. Each promise is asserted on what the
clerk sees: emergencies on top with the line to hand them to, the repeat marked and merged, the
abstained case held until it is routed, out-of-scope matters with their template, boilerplate
refused (a token reason too), one reply answering the merged petitions, a Traditional petition
routed as its Simplified twin. Fixtures: tests/test_browser.py (a real server made as `make run`
makes it).
"""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from benchmarks.screenshots import bearer, chromium_missing_reason, sign_in, submit
from tests.clerks_day_petitions import PETITIONS
from tests.test_browser import TIMEOUT_MS, api_get, browser, open_case, page, server, wait_checked  # noqa: F401
from triage.text import to_simplified

pytestmark = pytest.mark.skipif(chromium_missing_reason() is not None, reason=chromium_missing_reason() or "")

BOILERPLATE = (
    "您好：您反映的装修公司拖欠工资的问题已收悉。我们高度重视，将会同相关部门认真研究，妥善处理，请耐心等待。"
)
SUBSTANTIVE = (
    "您好：经核实，城南区该装修公司自去年9月起拖欠14名木工工资共计23.6万元。12月4日，区人社局劳动保障监察大队"
    "依据《保障农民工工资支付条例》向该公司下达劳动保障监察限期改正指令书，要求其于12月15日前足额支付；逾期未付"
    "的，将依法处罚并列入拖欠农民工工资失信联合惩戒名单。如到期仍未收到工资，请致电0571-86523017。"
)


@pytest.fixture(scope="module")
def day(server):  # noqa: F811
    """The morning's petitions, submitted by the platform in order; the API's answers by key."""
    stamp = datetime.now().strftime("%H%M%S%f")
    return {
        p["key"]: submit(
            server["base"],
            server["platform"],
            external_id=f"DAY-{p['key']}-{stamp}",
            title=p["title"],
            body=p["body"],
        )
        for p in PETITIONS
    }


def hours_to_deadline(server, case: dict) -> float:  # noqa: F811
    stored = api_get(server, f"/cases/{case['id']}")
    due = datetime.fromisoformat(stored["deadline"])
    received = datetime.fromisoformat(stored["received_at"])
    return (due - received).total_seconds() / 3600


def test_emergencies_are_on_top_of_the_queue_due_in_hours_with_the_line_to_call(page, server, day):  # noqa: F811
    emergencies = [p["key"] for p in PETITIONS if p["role"] == "emergency"]
    for key in emergencies:
        assert day[key]["urgent"], f"{key} was not marked urgent: {day[key]['routing']}"
        assert hours_to_deadline(server, day[key]) <= 4, key
    for key in ("wages", "noise", "lawsuit", "vague"):
        assert day[key]["urgent"] is None, key
        assert hours_to_deadline(server, day[key]) >= 24, key

    sign_in(page, server["base"], server["staff"])
    page.wait_for_selector("#queue tbody tr")
    rows = page.locator("#queue tbody tr")
    ids = rows.evaluate_all("rows => rows.map(r => r.dataset.caseId)")
    urgent_ids = {str(day[k]["id"]) for k in emergencies}
    assert set(ids[: len(urgent_ids)]) == urgent_ids, "every emergency above every other case"
    for key in emergencies:
        badge = page.locator(f"#queue tbody tr[data-case-id='{day[key]['id']}'] .badge.urgent")
        assert badge.inner_text() == "紧急"

    open_case(page, server, day["gas"]["id"])
    banner = page.locator("#urgent-banner")
    banner.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert "请立即转" in banner.inner_text() and "燃气" in banner.inner_text()
    open_case(page, server, day["smoke"]["id"])
    assert "119" in page.inner_text("#urgent-banner")


def test_the_abstained_case_waits_for_an_explicit_routing_before_any_reply(page, server, day):  # noqa: F811
    vague = day["vague"]
    assert vague["routing"]["abstain"] is True
    sign_in(page, server["base"], server["staff"], "/")
    row = page.locator(f"#queue tbody tr[data-case-id='{vague['id']}']")
    row.wait_for()
    assert row.locator(".badge", has_text="待人工分派").count() == 1

    # the model's guess is no label: a send without a decision is refused, through the API too
    r = httpx.post(
        f"{server['base']}/cases/{vague['id']}/reply",
        json={"text": SUBSTANTIVE, "send": True},
        headers=bearer(server["staff"]),
        timeout=30,
    )
    assert r.status_code == 409 and "routing decision" in r.json()["detail"]

    open_case(page, server, vague["id"])
    assert page.is_disabled("#send-reply") and "待人工分派" in page.inner_text("#case-badges")
    page.click("#override-box summary")
    page.fill("#override-department", "燃气集团")  # not a department of the routing table
    page.fill("#override-reason", "问题不明，先派民政局核实")
    page.click("#override-form button[type=submit]")
    page.wait_for_selector("#toast:has-text('燃气集团')")
    page.fill("#override-department", "民政局")
    page.click("#override-form button[type=submit]")
    page.wait_for_selector("#history li[data-kind=routing_overridden]")
    assert "待人工分派" not in page.inner_text("#case-badges") and not page.is_disabled("#send-reply")
    assert api_get(server, f"/cases/{vague['id']}")["department"] == "民政局"


def test_out_of_scope_matters_show_reason_evidence_and_template(page, server, day):  # noqa: F811
    lawsuit, review = day["lawsuit"], day["review"]
    assert lawsuit["routing"]["out_of_scope"]["reason"] == "诉讼"
    assert review["routing"]["out_of_scope"]["reason"] == "行政复议"
    sign_in(page, server["base"], server["staff"], f"/case/{lawsuit['id']}")
    page.wait_for_selector("#out-of-scope:not([hidden])")
    assert page.inner_text("#oos-reason") == "诉讼"
    assert page.inner_text("#oos-evidence") == lawsuit["routing"]["out_of_scope"]["evidence"]
    page.fill("#reply-text", "")
    page.click("#use-template")
    assert page.input_value("#reply-text") == lawsuit["routing"]["out_of_scope"]["template"]
    open_case(page, server, review["id"])
    page.wait_for_selector("#out-of-scope:not([hidden])")
    assert page.inner_text("#oos-reason") == "行政复议"


def test_the_repeat_is_merged_and_one_substantive_reply_answers_both(page, server, day, tmp_path):  # noqa: F811
    wages, again = day["wages"], day["wages_again"]
    assert again["possible_duplicate"]["case_id"] == wages["id"]
    sign_in(page, server["base"], server["staff"], "/")
    link = page.locator(f"#queue tbody tr[data-case-id='{again['id']}'] a.badge", has_text="可能重复")
    link.wait_for()
    assert link.inner_text() == f"可能重复 #{wages['id']}"

    open_case(page, server, again["id"])
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#merge-button")
    page.wait_for_selector(f"#case-badges a.badge:has-text('已并入 #{wages['id']}')")

    # the clerk first tries the stock reply: refused with the reason, a token reason too
    open_case(page, server, wages["id"])
    assert not page.is_disabled("#send-reply")  # a confident routing needs no extra step
    page.fill("#reply-text", BOILERPLATE)
    wait_checked(page)
    assert page.inner_text("#qc-verdict") == "建议修改"
    page.click("#send-reply")
    page.wait_for_selector("#refused:not([hidden])")
    codes = page.locator("#refused-flags li").evaluate_all("items => items.map(i => i.dataset.code)")
    assert "no_decision" in codes, codes
    page.fill("#confirm-reason", "1")
    page.click("#confirm-send")
    page.wait_for_selector("#refused-message:has-text('确认理由')")
    assert api_get(server, f"/cases/{wages['id']}")["status"] != "closed"

    # a reply with what was found and done goes out and answers the merged petition too
    page.fill("#reply-text", SUBSTANTIVE)
    wait_checked(page)
    assert page.inner_text("#qc-verdict") != "建议修改"
    page.click("#send-reply")
    page.wait_for_selector("#case-badges .badge:has-text('已办结')")
    page.screenshot(path=str(tmp_path / "answered.png"), full_page=True)
    main = api_get(server, f"/cases/{wages['id']}")
    merged = api_get(server, f"/cases/{again['id']}")
    assert main["status"] == merged["status"] == "closed"
    assert merged["reply"]["text"] == main["reply"]["text"] == SUBSTANTIVE
    assert merged["external_id"] != main["external_id"]  # each petition keeps its own id


def test_a_traditional_petition_is_routed_as_its_simplified_twin(page, server, day):  # noqa: F811
    petition = next(p for p in PETITIONS if p["role"] == "traditional")
    simplified = httpx.post(
        f"{server['base']}/classify",
        json={"title": to_simplified(petition["title"]), "body": to_simplified(petition["body"])},
        headers=bearer(server["platform"]),
        timeout=30,
    ).json()
    case = day["traditional"]
    assert case["routing"]["label"] == simplified["label"]
    sign_in(page, server["base"], server["staff"], f"/case/{case['id']}")
    page.wait_for_selector("#case:not([hidden])")
    assert petition["body"] in page.inner_text("#petition-body")  # shown as the citizen wrote it
    assert simplified["label"] in page.inner_text("#routing-suggestion")
