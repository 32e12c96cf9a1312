"""The content gate in the staff page (issue 16, finding 1), in Debian's chromium: the issue's
boilerplate reply shows 建议修改 with the checker's own checklist (实质内容 required and missing) and
the `no_decision` flag; a token reason is refused with a message; a real reason sends it; the
supervisor page lists it with the reason. Uses test_browser's server (a `make run`-like setup)."""

from __future__ import annotations

import httpx
import pytest

import tests.test_browser as browser_tests
from benchmarks.screenshots import bearer
from tests.test_browser import TIMEOUT_MS, api_get, new_case, sign_in, wait_checked

# the page tests' own server, browser and page fixtures (one server for this module)
server = browser_tests.server
browser = browser_tests.browser
page = browser_tests.page

FIRE_LANE = {
    "title": "城南区幸福里小区3号楼后消防通道被私家车占用",
    "body": "城南区幸福里小区3号楼后面的消防通道长期被私家车占用，万一发生火灾消防车进不来，请尽快处理。",
    "request_type": "投诉",
}
BOILERPLATE = "网友您好：您反映的城南区幸福里小区3号楼后消防通道被私家车占用的问题已收悉。我们高度重视，将进一步加强管理。"
REASON = "已电话联系群众，通道当天已清空，群众同意简短答复"

pytestmark = pytest.mark.usefixtures("server")


def test_boilerplate_is_refused_in_the_page_and_a_real_reason_is_listed_for_the_supervisor(
    page, server, tmp_path
):
    case = new_case(server, **FIRE_LANE)
    if case["routing"]["abstain"] or case["routing"]["manual_queue"]:
        # no reply goes out before an explicit routing decision (issue 16, finding 3): the clerk
        # sends it to the department that clears fire lanes first
        decided = httpx.post(
            f"{server['base']}/cases/{case['id']}/routing",
            json={"action": "override", "department": "城管局", "reason": "消防通道占用由城管执法处理"},
            headers=bearer(server["staff"]),
            timeout=30,
        )
        assert decided.status_code == 200, decided.text
    sign_in(page, server["base"], server["staff"], f"/case/{case['id']}")
    page.wait_for_selector("#case:not([hidden])")
    page.fill("#reply-text", BOILERPLATE)
    page.wait_for_selector("#qc-flags li[data-code=no_decision]")
    wait_checked(page)
    assert page.inner_text("#qc-verdict") == "建议修改"
    substance = page.locator("#qc-elements li[data-item='实质内容']")
    assert substance.inner_text() == "✗ 实质内容（必需，缺少）"
    assert "absent" in substance.get_attribute("class") and "required" in substance.get_attribute("class")
    # optional parts that are missing are hints (○), never a ✗ beside the verdict
    marks = page.locator("#qc-elements li").all_inner_texts()
    assert [m for m in marks if m.startswith("✗")] == ["✗ 实质内容（必需，缺少）"], marks
    evidence = page.inner_text("#qc-flags li[data-code=no_decision] .evidence")
    assert "高度重视" in evidence and "复述留言" in evidence
    page.screenshot(path=str(tmp_path / "gate.png"), full_page=True)

    page.click("#send-reply")
    page.wait_for_selector("#refused:not([hidden])")
    page.fill("#confirm-reason", "1")
    page.click("#confirm-send")
    page.wait_for_selector("#refused-message:has-text('确认理由不是一句理由')")
    assert api_get(server, f"/cases/{case['id']}")["status"] != "closed"

    page.screenshot(path=str(tmp_path / "refused.png"), full_page=True)
    page.fill("#confirm-reason", REASON)
    page.click("#confirm-send")
    page.wait_for_selector("#case-badges .badge:has-text('已办结')", timeout=TIMEOUT_MS)
    stored = api_get(server, f"/cases/{case['id']}")
    assert stored["reply"]["confirm_reason"] == REASON

    page.goto(server["base"] + "/supervisor")
    row = page.locator(f"#flagged tbody tr[data-case-id='{case['id']}']")
    row.wait_for()
    text = row.inner_text()
    assert REASON in text and "没有实质答复" in text and stored["department"] in text
    page.screenshot(path=str(tmp_path / "supervisor.png"), full_page=True)
