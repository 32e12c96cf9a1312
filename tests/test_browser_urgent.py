"""Emergencies first (issue 16) in the staff page, in Debian's chromium against a real server:
the queue shows a red 紧急 badge on the urgent case at its top, and the case page a banner with
the reason, the evidence and the line to transfer it to. Fixtures: tests/test_browser.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from benchmarks.screenshots import beijing_now, chromium_missing_reason, iso, sign_in
from tests.test_browser import TIMEOUT_MS, browser, new_case, open_case, page, server  # noqa: F401

pytestmark = pytest.mark.skipif(chromium_missing_reason() is not None, reason=chromium_missing_reason() or "")

GAS = {"title": "楼道煤气味", "body": "楼道里闻到很浓的煤气味，好几户都闻到了，怕出事，请尽快派人来看看！"}
FIRE = {"title": "對面樓冒煙", "body": "對面樓三層窗戶在冒黑煙，好像屋裡著火了，快派消防車"}
FIRE_LANE = {"title": "消防通道被占", "body": "小区消防通道被私家车占用，万一着火消防车进不来"}


def test_the_queue_shows_the_urgent_case_first_with_a_red_badge(page, server):  # noqa: F811
    old = new_case(server, received_at=iso(beijing_now() - timedelta(days=40)))  # overdue
    lane = new_case(server, **FIRE_LANE)
    gas = new_case(server, **GAS)
    assert gas["urgent"] and not lane["urgent"] and old["overdue"]
    sign_in(page, server["base"], server["staff"])
    page.wait_for_selector("#queue tbody tr")
    rows = page.locator("#queue tbody tr")
    ids = [rows.nth(i).get_attribute("data-case-id") for i in range(rows.count())]
    urgent = [rows.nth(i).locator(".badge.urgent").count() == 1 for i in range(rows.count())]
    assert urgent[0] and urgent == sorted(urgent, reverse=True)  # every urgent row above the rest
    assert ids.index(str(gas["id"])) < ids.index(str(old["id"])) < ids.index(str(lane["id"]))
    badge = rows.nth(ids.index(str(gas["id"]))).locator(".badge.urgent")
    assert badge.inner_text() == "紧急"
    assert badge.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(198, 40, 40)"  # red
    assert "燃气抢修 96777" in badge.get_attribute("title")
    lane_row = page.locator(f'#queue tbody tr[data-case-id="{lane["id"]}"]')
    assert lane_row.locator(".badge.urgent").count() == 0  # a fire lane is not a fire
    old_row = page.locator(f'#queue tbody tr[data-case-id="{old["id"]}"]')
    assert "超期" in old_row.inner_text() and old_row.locator(".badge.urgent").count() == 0


def test_the_case_page_shows_the_line_to_hand_it_to(page, server):  # noqa: F811
    fire = new_case(server, **FIRE)  # Traditional Chinese
    sign_in(page, server["base"], server["staff"])
    open_case(page, server, fire["id"])
    banner = page.locator("#urgent-banner")
    banner.wait_for(state="visible", timeout=TIMEOUT_MS)
    text = banner.inner_text()
    assert "请立即转 119" in text
    assert "火情或浓烟" in text and "对面楼三层窗户在冒黑烟" in text  # the evidence, normalised
    assert page.locator("#case-badges .badge.urgent").inner_text() == "紧急"
    plain = new_case(server, **FIRE_LANE)
    open_case(page, server, plain["id"])
    assert page.locator("#urgent-banner").is_hidden()
