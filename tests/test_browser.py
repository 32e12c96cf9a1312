"""The staff page in a real browser: Debian's chromium, driven by Playwright, against a real server.

One uvicorn server for the module, prepared as `make run` prepares it (`triage bootstrap` on a copy
of the session's trained models and a fresh SQLite file; the staff key is the one bootstrap
prints), with a platform key submitting petitions through `POST /cases`. Each test submits its own
cases, so the tests do not depend on each other's order.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from benchmarks.screenshots import (
    TOPIC_PETITIONS,
    bearer,
    beijing_now,
    chromium_missing_reason,
    free_port,
    launch_chromium,
    prepare,
    seed_topics,
    sign_in,
    store_key,
    submit,
)

pytestmark = pytest.mark.skipif(chromium_missing_reason() is not None, reason=chromium_missing_reason() or "")

WAGES = {
    "title": "公司拖欠工资",
    "body": "我们公司拖欠农民工工资三个月了，老板不接电话，希望劳动部门帮我们讨薪。",
}
VAGUE = "您好，您的留言已收悉，我们高度重视，已转相关部门处理。"
CONTACT = "如有疑问请致电0571-86523017。"
GOOD = (
    "网友您好：您反映的公司拖欠工资问题已收悉。经核实，该公司拖欠12名员工3个月工资共计15万元。1月9日，"
    "市人社局劳动保障监察支队依据《保障农民工工资支付条例》第三十条向该公司下达限期整改指令书，要求其于1月20日前"
    "足额支付。如逾期未付，将依法处罚。联系电话0571-86523017。人社局 2025年1月10日"
)
TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def server(tmp_path_factory, trained_models_dir):
    from benchmarks.server import running_server

    work = tmp_path_factory.mktemp("browser")
    env, staff_key = prepare(work, trained_models_dir)
    models = Path(env["TRIAGE_MODELS_DIR"])
    seed_topics(models, beijing_now() - timedelta(days=len(TOPIC_PETITIONS) + 1))
    platform_key = store_key(env["TRIAGE_DATABASE_URL"], "platform", "test platform")
    log = (work / "server.log").open("w")
    with running_server(models, free_port(), database_url=env["TRIAGE_DATABASE_URL"], log_file=log) as (
        base,
        _,
    ):
        yield {
            "base": base,
            "staff": staff_key,
            "platform": platform_key,
            "log": work / "server.log",
            "base_models": str(models),
        }
    log.close()


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.errors = []  # uncaught exceptions in the page's script fail the test
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    yield page
    errors = page.errors
    context.close()
    assert errors == [], errors


_ids = iter(range(1, 10_000))


def new_case(server, **fields) -> dict:
    """A petition submitted by the platform with a unique external id."""
    payload = {**WAGES, **fields}
    payload.setdefault("external_id", f"B-{next(_ids)}-{beijing_now():%H%M%S%f}")
    return submit(server["base"], server["platform"], **payload)


def api_get(server, path: str) -> dict:
    r = httpx.get(server["base"] + path, headers=bearer(server["staff"]), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def open_case(page, server, case_id: int) -> None:
    page.goto(f"{server['base']}/case/{case_id}")
    page.wait_for_selector("#case:not([hidden])")


def wait_checked(page) -> None:
    """Until the debounced quality check of the editor's current text has answered."""
    page.wait_for_selector("#qc[data-state=done]")


def stats_row(page, department: str) -> dict[str, str]:
    cells = page.locator(f'#stats tbody tr[data-department="{department}"] td').all_inner_texts()
    names = [
        "department",
        "volume",
        "overdue",
        "closed",
        "replied_late",
        "median_hours",
        "unchanged",
        "draft_retention",
        "revise",
    ]
    return dict(zip(names, cells, strict=True))


# -- signing in --------------------------------------------------------------------------------


def test_sign_in_refuses_a_wrong_key_and_a_platform_key_and_keeps_the_staff_key(page, server):
    page.goto(server["base"] + "/")
    assert page.is_visible("#signin") and not page.is_visible("#main")
    for key, message in (("tk_nope_nope", "密钥无效"), (server["platform"], "没有办件权限")):
        page.fill("#signin-key", key)
        page.click("#signin-form button[type=submit]")
        page.wait_for_selector(f"#signin-error:has-text('{message}')")
        assert not page.is_visible("#main")
    page.fill("#signin-key", server["staff"])
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#main:not([hidden])")
    page.goto(server["base"] + "/supervisor")  # the key lives in the browser's localStorage
    page.wait_for_selector("#main:not([hidden])")
    assert not page.is_visible("#signin")
    page.click("#signout")
    page.wait_for_selector("#signin:not([hidden])")
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0


def test_a_new_tab_is_signed_in_until_the_sign_in_expires(page, server):
    sign_in(page, server["base"], server["staff"], "/")
    tab = page.context.new_page()  # a new tab of the same browser
    tab.goto(server["base"] + "/supervisor")
    tab.wait_for_selector("#main:not([hidden])")
    assert not tab.is_visible("#signin")
    hours = tab.evaluate(
        "(JSON.parse(localStorage.getItem('triage.staffKey')).expires - Date.now()) / 3600000"
    )
    assert 7.9 < hours <= 8
    # past its expiry the key is forgotten: the next page asks for it again
    tab.evaluate(
        "key => localStorage.setItem('triage.staffKey', JSON.stringify({key: key, expires: Date.now() - 1000}))",
        server["staff"],
    )
    tab.goto(server["base"] + "/")
    tab.wait_for_selector("#signin:not([hidden])")
    assert not tab.is_visible("#main") and tab.evaluate("localStorage.getItem('triage.staffKey')") is None
    tab.close()


# -- the whole flow ----------------------------------------------------------------------------


def test_clerk_works_a_case_from_arrival_to_reply(page, server, tmp_path):
    overdue = new_case(
        server,
        title="咨询社保转移",
        body="我想咨询一下社保关系转移到外地需要什么材料？",
        received_at="2025-03-03T09:00:00+08:00",
        request_type="咨询",
    )
    manual = new_case(server, title="咨询一下", body="请问这个事情应该找谁？")
    case = new_case(server)
    assert case["routing"]["department"] == "人社局"
    assert overdue["overdue"] is True
    target = "市场监管局"

    sign_in(page, server["base"], server["staff"], "/supervisor")
    page.wait_for_selector("#stats tbody tr[data-department]")
    before = (
        stats_row(page, target)
        if page.locator(f'#stats tbody tr[data-department="{target}"]').count()
        else None
    )

    # the queue: overdue first, manual routing marked
    page.goto(server["base"] + "/")
    page.wait_for_selector(f"#queue tbody tr[data-case-id='{case['id']}']")
    rows = page.locator("#queue tbody tr")
    first = rows.first
    assert first.locator(".badge", has_text="超期").count() == 1
    assert "已超期" in first.inner_text()
    ids = [
        int(x)
        for x in page.eval_on_selector_all("#queue tbody tr", "rows => rows.map(r => r.dataset.caseId)")
    ]
    assert ids.index(overdue["id"]) < ids.index(case["id"])
    manual_row = page.locator(f"#queue tbody tr[data-case-id='{manual['id']}']")
    assert manual["routing"]["abstain"] is True
    assert manual_row.locator(".badge", has_text="待人工分派").count() == 1
    page.screenshot(path=str(tmp_path / "queue.png"), full_page=True)

    # open the case: petition, suggestion with confidence and reasons, the draft and its sources
    page.click(f"#queue tbody tr[data-case-id='{case['id']}'] td.title a")
    page.wait_for_selector("#case:not([hidden])")
    assert WAGES["body"] in page.inner_text("#petition-body")
    suggestion = page.inner_text("#routing-suggestion")
    assert "人社局" in suggestion and re.search(r"置信度 \d+%", suggestion)
    terms = page.locator("#routing-terms li").all_inner_texts()
    assert any(t in ("拖欠", "工资", "公司") for t in terms), terms
    detail = api_get(server, f"/cases/{case['id']}")
    sources = detail["draft"]["sources"]
    labels = page.locator("#draft-sources .tag").all_inner_texts()
    assert labels == [{"manual": "人工答复库", "history": "历史答复"}[s["kind"]] for s in sources]
    assert sources, "the bootstrapped history should give the wage petition at least one source"
    # the draft's fixed sentences say where they came from: 人社局's own past replies, with counts
    style = detail["draft"]["style"]
    assert style and all(p["scope"] == "department" and p["department"] == "人社局" for p in style)
    shown = page.locator("#draft-style li").all_inner_texts()
    assert len(shown) == len(style)
    for line, part in zip(shown, style, strict=True):
        assert part["part"] in line and part["text"] in line
        if part["part"] == "字体":  # counted over the Traditional petitions only
            assert f"{part['of']} 件繁体来信有 {part['count']} 件以繁体答复" in line
        else:
            assert f"见于人社局的历史答复 {part['of']} 条中的 {part['count']} 条" in line
    opening = next(p["text"] for p in style if p["part"] == "开头")
    assert detail["draft"]["text"].startswith(opening)
    assert page.inner_text("#deadline-text").startswith("期限 ") and "剩余" in page.inner_text(
        "#deadline-text"
    )

    # override the routing with a reason
    page.click("#override-box summary")
    page.fill("#override-department", target)
    page.fill("#override-reason", "企业已注销，转市场监管部门核查经营主体")
    page.click("#override-form button[type=submit]")
    page.wait_for_selector("#history li[data-kind=routing_overridden]")
    assert f"已改派到 {target}" in page.inner_text("#routing-suggestion")
    assert api_get(server, f"/cases/{case['id']}")["department"] == target

    # edit the reply until a flag disappears (typed, so the debounced check runs as a clerk types)
    page.fill("#reply-text", VAGUE)
    page.wait_for_selector("#qc-flags li[data-code=no_contact]")
    page.click("#reply-text")
    page.keyboard.press("End")
    page.keyboard.type(CONTACT, delay=5)
    page.wait_for_selector("#qc-flags li[data-code=no_contact]", state="detached")
    wait_checked(page)
    assert page.locator("#qc-flags li").count() >= 1  # the rest is still vague
    assert page.inner_text("#qc-verdict") == "建议修改"
    page.fill("#reply-text", GOOD)
    page.wait_for_selector("#qc-verdict:has-text('可以发送')")
    assert page.locator("#qc-flags li").count() == 0
    page.screenshot(path=str(tmp_path / "case.png"), full_page=True)

    # send: the case closes
    page.click("#send-reply")
    page.wait_for_selector("#case-badges .badge:has-text('已办结')")
    assert page.is_visible("#final-reply") and page.inner_text("#final-text") == GOOD
    assert not page.is_visible("#send-reply") and not page.is_visible("#routing-actions")
    assert page.locator("#history li[data-kind=reply_sent]").count() == 1
    stored = api_get(server, f"/cases/{case['id']}")
    assert stored["status"] == "closed" and stored["reply"]["text"] == GOOD

    # gone from the open queue, listed among the closed
    page.goto(server["base"] + "/")
    page.wait_for_selector("#queue-summary:not(:has-text('正在加载'))")
    assert page.locator(f"#queue tbody tr[data-case-id='{case['id']}']").count() == 0
    page.goto(server["base"] + "/?status=closed")
    page.wait_for_selector(f"#queue tbody tr[data-case-id='{case['id']}']")

    # the statistics changed: one more closed case for the department, and it was not the suggestion
    page.goto(server["base"] + "/supervisor")
    page.wait_for_selector(f'#stats tbody tr[data-department="{target}"]')
    after = stats_row(page, target)
    assert int(after["closed"]) == (int(before["closed"]) if before else 0) + 1
    assert int(after["volume"]) == (int(before["volume"]) if before else 0) + 1
    if before is None or before["unchanged"] == "—":
        assert after["unchanged"] == "0%"  # the only closed case was overridden
    assert after["median_hours"] != "—"
    for name in ("queue.png", "case.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_refused_reply_shows_the_flags_and_goes_out_with_a_reason(page, server):
    case = new_case(server)
    sign_in(page, server["base"], server["staff"], f"/case/{case['id']}")
    page.wait_for_selector("#case:not([hidden])")
    page.fill("#reply-text", VAGUE + CONTACT)
    wait_checked(page)
    page.click("#send-reply")
    page.wait_for_selector("#refused:not([hidden])")
    refused = page.locator("#refused-flags li").evaluate_all("items => items.map(i => i.dataset.code)")
    assert page.locator("#history li[data-kind=reply_refused]").count() == 1
    stored = api_get(server, f"/cases/{case['id']}")
    assert stored["status"] != "closed"
    recorded = next(e for e in stored["history"] if e["kind"] == "reply_refused")
    assert refused and refused == recorded["data"]["flags"]

    page.click("#confirm-send")  # no reason yet: nothing is sent
    page.wait_for_selector("#toast:has-text('理由')")
    page.fill("#confirm-reason", "已电话联系群众，转办单位当日已处理完毕")
    page.click("#confirm-send")
    page.wait_for_selector("#case-badges .badge:has-text('已办结')")
    assert "已电话联系群众" in page.inner_text("#final-meta")
    stored = api_get(server, f"/cases/{case['id']}")
    assert (
        stored["status"] == "closed"
        and stored["reply"]["confirm_reason"] == "已电话联系群众，转办单位当日已处理完毕"
    )


def test_an_unfilled_draft_slot_is_never_sent(page, server):
    case = new_case(server)
    sign_in(page, server["base"], server["staff"], f"/case/{case['id']}")
    page.wait_for_selector("#case:not([hidden])")
    page.fill("#reply-text", GOOD + "【请填写联系电话】")
    page.wait_for_selector("#qc-flags li[data-code=unfilled_slot]")
    page.click("#send-reply")
    page.wait_for_selector("#toast:has-text('【')")
    assert api_get(server, f"/cases/{case['id']}")["status"] != "closed"
    assert page.locator("#history li[data-kind=reply_refused]").count() == 0  # never reached the API


def test_a_reply_citing_a_document_number_in_brackets_is_sent(page, server):
    """长政发【2018】5号 is how many official replies cite a document; it is not a blank of the draft."""
    case = new_case(server)
    sign_in(page, server["base"], server["staff"], f"/case/{case['id']}")
    page.wait_for_selector("#case:not([hidden])")
    page.fill("#reply-text", GOOD.replace("第三十条", "第三十条及长政发【2018】5号文件"))
    wait_checked(page)
    assert page.locator("#qc-flags li[data-code=unfilled_slot]").count() == 0
    page.click("#send-reply")
    page.wait_for_selector("#case-badges .badge:has-text('已办结')")
    assert "长政发【2018】5号" in api_get(server, f"/cases/{case['id']}")["reply"]["text"]


def test_a_department_returns_a_case_and_it_goes_back_to_manual_routing(page, server):
    case = new_case(server)
    sign_in(page, server["base"], server["staff"], f"/case/{case['id']}")
    page.wait_for_selector("#return-box:visible")
    page.click("#return-box summary")
    page.fill("#return-reason", "欠薪主体为个体工商户，不属本局职责")
    page.click("#return-form button[type=submit]")
    page.wait_for_selector("#history li[data-kind=returned]")
    assert "被退回" in page.inner_text("#case-badges") and "退回 1 次" in page.inner_text("#case-badges")
    assert page.is_visible("#routing-manual")
    assert "欠薪主体为个体工商户" in page.inner_text("#routing-suggestion")
    assert not page.is_visible("#accept-routing") and page.is_visible("#override-box")
    stored = api_get(server, f"/cases/{case['id']}")
    assert stored["status"] == "returned" and stored["routing"]["returned_by"][0]["department"] == "人社局"


def test_an_unknown_case_says_so(page, server):
    sign_in(page, server["base"], server["staff"], "/case/987654")
    page.wait_for_selector("#case-error:visible")
    assert "没有编号为 987654 的案件" in page.inner_text("#case-error")
    assert not page.is_visible("#case")


# -- safety --------------------------------------------------------------------------------------


def test_a_script_injected_in_a_petition_never_runs(page, server):
    title = '<img src=x onerror="window.__xss=1;alert(1)">投诉'
    body = '<script>window.__xss=2;alert(2)</script>小区门口<b>垃圾</b>堆积，"><svg onload=alert(3)>'
    case = new_case(server, title=title, body=body)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, server["base"], server["staff"], f"/?q={case['external_id']}")
    page.wait_for_selector(f"#queue tbody tr[data-case-id='{case['id']}']")
    assert page.inner_text(f"#queue tbody tr[data-case-id='{case['id']}'] td.title") == title
    open_case(page, server, case["id"])
    assert page.inner_text("#petition-body") == body
    assert title in page.inner_text("#case-title")
    page.wait_for_timeout(300)  # an onerror/onload handler would have fired by now
    assert page.evaluate("window.__xss") is None
    assert dialogs == []
    injected = page.evaluate(
        "document.querySelectorAll('#case script, #case img, #case svg[onload], #queue img').length"
    )
    assert injected == 0


def test_a_change_made_meanwhile_by_someone_else_is_not_overwritten(page, server):
    case = new_case(server)
    sign_in(page, server["base"], server["staff"], f"/case/{case['id']}")
    page.wait_for_selector("#accept-routing:visible")
    # another clerk overrides the routing while this page shows the old version
    r = httpx.post(
        f"{server['base']}/cases/{case['id']}/routing",
        json={"action": "override", "department": "住建局", "reason": "另一位工作人员改派"},
        headers=bearer(server["staff"]),
        timeout=30,
    )
    assert r.status_code == 200
    page.click("#accept-routing")
    page.wait_for_selector("#toast:has-text('冲突')")
    assert not re.search("[A-Za-z]", page.inner_text("#toast"))  # the API's English is translated
    page.wait_for_selector("#history li[data-kind=routing_overridden]")  # reloaded: the other change shows
    stored = api_get(server, f"/cases/{case['id']}")
    assert stored["department"] == "住建局" and stored["routing_state"] == "overridden"


def test_api_errors_read_in_chinese_on_the_page(page, server):
    page.goto(server["base"] + "/")
    said = page.evaluate(
        """() => {
          const T = window.Triage, E = (status, detail) => T.errorText(new T.ApiError(status, detail));
          return [
            E(409, "case 3 is closed: its reply was sent at 2026-01-01"),
            E(422, [{loc: ["body", "reason"], msg: "String should have at most 2000 characters"}]),
            E(404, "no case with id 12"),
            E(0, "Failed to fetch"),
            E(422, "a message the page does not know"),
          ];
        }"""
    )
    assert said[:4] == [
        "冲突：案件已办结，答复已发送，不能再修改。",
        "输入有误：理由：不能超过 2000 个字",
        "没有编号为 12 的案件。",
        "无法连接服务器，请检查网络后重试。",
    ]
    assert (
        said[4] == "输入有误（服务器说明：a message the page does not know）"
    )  # unknown: marked as the server's


def test_an_expired_key_asks_to_sign_in_again_and_the_page_carries_on(page, server):
    case = new_case(server)
    posts = []
    page.on(
        "request",
        lambda r: posts.append(r.url) if r.method == "POST" and r.url.endswith("/routing") else None,
    )
    sign_in(page, server["base"], server["staff"], f"/case/{case['id']}")
    page.wait_for_selector("#accept-routing:visible")
    page.evaluate(  # as if revoked
        "localStorage.setItem('triage.staffKey', JSON.stringify({key: 'tk_revoked_key', expires: Date.now() + 60000}))"
    )
    page.click("#accept-routing")
    page.wait_for_selector("#signin-error:has-text('登录已失效')")
    assert api_get(server, f"/cases/{case['id']}")["routing_state"] == "suggested"
    page.fill("#signin-key", server["staff"])
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#accept-routing:visible")
    page.click("#accept-routing")
    page.wait_for_selector("#history li[data-kind=routing_accepted]")
    page.wait_for_timeout(300)  # a second, duplicated click handler would have posted by now
    assert len(posts) == 2  # the refused one, then exactly one after signing in again
    kinds = [e["kind"] for e in api_get(server, f"/cases/{case['id']}")["history"]]
    assert kinds.count("routing_accepted") == 1


def test_a_late_refusal_of_the_old_key_does_not_sign_out_the_clerk_who_signed_in_again(page, server):
    """A request still on its way with the revoked key (the editor's quality check, a reload) is
    answered 401 after the clerk has signed in anew: the page must stay signed in, not throw the
    new key away and hide the case. (Under load this made the page ask for the key a second time.)"""
    case = new_case(server)
    sign_in(page, server["base"], server["staff"], f"/case/{case['id']}")
    page.wait_for_selector("#accept-routing:visible")
    outcome = page.evaluate(
        """async (goodKey) => {
            const store = (k) => localStorage.setItem('triage.staffKey', JSON.stringify({key: k, expires: Date.now() + 60000}));
            store('tk_revoked_key');
            const late = window.Triage.api('GET', '/cases?limit=1').catch((err) => err.status);
            store(goodKey);  // the clerk signs in again while that request is on its way
            return await late;
        }""",
        server["staff"],
    )
    assert outcome == 401
    assert page.is_visible("#accept-routing") and not page.is_visible("#signin")
    assert page.evaluate("window.Triage.key()") == server["staff"]


# -- queue marks and filters ---------------------------------------------------------------------


def test_cases_for_manual_routing_are_marked_and_filtered(page, server):
    manual = new_case(server, title="咨询一下", body="请问这个事情应该找谁？")
    sure = new_case(server)
    assert manual["routing"]["abstain"] is True and sure["routing"]["abstain"] is False
    sign_in(page, server["base"], server["staff"], "/?abstained=true")
    page.wait_for_selector(f"#queue tbody tr[data-case-id='{manual['id']}']")
    assert page.locator(f"#queue tbody tr[data-case-id='{sure['id']}']").count() == 0
    rows = page.locator("#queue tbody tr")
    assert rows.count() >= 1
    for i in range(rows.count()):
        assert rows.nth(i).locator(".badge", has_text="待人工分派").count() == 1
    open_case(page, server, manual["id"])
    assert page.is_visible("#routing-manual")


def test_a_repeat_is_marked_linked_to_the_earlier_case_and_merged(page, server, tmp_path):
    """A petition sent again is marked 可能重复 in the queue and on the case, with a link to the
    earlier case; the clerk merges it (并单) after confirming, and the earlier case lists it."""
    body = "滨江区望江苑7幢楼下的窨井盖缺失一个多星期了，已经有骑车的人摔倒，请尽快补上井盖。"
    first = new_case(server, title="井盖缺失", body=body)
    repeat = new_case(server, title="井盖还是没有补", body=body + "再次反映！")
    assert repeat["possible_duplicate"]["case_id"] == first["id"]

    sign_in(page, server["base"], server["staff"], f"/?q={repeat['external_id']}")
    row = page.locator(f"#queue tbody tr[data-case-id='{repeat['id']}']")
    row.wait_for()
    link = row.locator("a.badge", has_text="可能重复")
    assert link.inner_text() == f"可能重复 #{first['id']}"
    assert link.get_attribute("href") == f"/case/{first['id']}"

    open_case(page, server, repeat["id"])
    assert page.locator("#case-badges a.badge", has_text=f"可能重复 #{first['id']}").count() == 1
    assert page.is_visible("#duplicate-box") and f"案件 #{first['id']}" in page.inner_text("#duplicate-text")
    page.screenshot(path=str(tmp_path / "duplicate.png"), full_page=True)
    page.once("dialog", lambda dialog: dialog.dismiss())  # the clerk changes their mind: nothing happens
    page.click("#merge-button")
    assert api_get(server, f"/cases/{repeat['id']}")["status"] == "new"
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#merge-button")
    page.wait_for_selector(f"#case-badges a.badge:has-text('已并入 #{first['id']}')")
    assert page.is_visible("#merged-into-box") and not page.is_visible("#routing-actions")
    assert page.is_disabled("#send-reply") and f"#{first['id']}" in page.inner_text("#send-hint")
    stored = api_get(server, f"/cases/{repeat['id']}")
    assert stored["status"] == "merged" and stored["merged_into"] == first["id"]

    open_case(page, server, first["id"])
    merged = page.locator(f"#merged-list li[data-case-id='{repeat['id']}']")
    assert repeat["external_id"] in merged.inner_text() and "已并单" in merged.inner_text()
    assert "并单 1 件" in page.inner_text("#case-badges")
    page.screenshot(path=str(tmp_path / "merged.png"), full_page=True)


def test_an_out_of_scope_case_shows_its_evidence_and_the_template_goes_in_with_one_click(
    page, server, tmp_path
):
    case = new_case(
        server,
        title="劳动纠纷",
        body="我和公司的劳动纠纷已经向法院起诉了，法院已经立案，请你们督促公司尽快支付工资。",
    )
    oos = case["routing"]["out_of_scope"]
    assert oos["reason"] == "诉讼"
    sign_in(page, server["base"], server["staff"], f"/case/{case['id']}")
    page.wait_for_selector("#out-of-scope:not([hidden])")
    assert page.inner_text("#oos-reason") == "诉讼"
    assert page.inner_text("#oos-evidence") == oos["evidence"]
    assert page.inner_text("#oos-template") == oos["template"]
    assert (
        page.inner_text("#draft-text") == oos["template"]
        and page.inner_text("#draft-tier") == "不予受理答复模板"
    )
    # the model's label and the department are told apart; no send before the routing is decided
    assert "模型类别：人社局" in page.inner_text("#routing-suggestion")
    assert "建议承办部门：人社局" in page.inner_text("#routing-suggestion")
    assert page.is_disabled("#send-reply") and page.is_visible("#send-hint")
    # the template is the reply as written, with no house-style parts to trace (a trial showed "—")
    assert page.inner_text("#draft-style") == "不予受理答复模板的原文，没有套用固定用语"
    page.fill("#reply-text", "")
    page.click("#use-template")
    assert page.input_value("#reply-text") == oos["template"]
    # the project's own template passes its own quality gate (a trial found it flagged: no basis)
    page.wait_for_selector("#qc-verdict:text-is('可以发送')")
    page.screenshot(path=str(tmp_path / "out_of_scope.png"), full_page=True)
    page.click("#accept-routing")
    page.wait_for_selector("#history li[data-kind=routing_accepted]")
    assert not page.is_disabled("#send-reply") and not page.is_visible(
        "#case-badges .badge:has-text('待人工分派')"
    )


def test_an_abstained_case_is_routed_from_the_tables_departments_before_the_reply(page, server):
    case = new_case(server, title="咨询一下", body="请问这个事情应该找谁？")
    assert case["routing"]["abstain"] is True
    sign_in(page, server["base"], server["staff"], f"/case/{case['id']}")
    page.wait_for_selector("#case:not([hidden])")
    assert "待人工分派" in page.inner_text("#case-badges") and page.is_disabled("#send-reply")
    options = page.eval_on_selector_all("#department-list option", "os => os.map(o => o.value)")
    # the routing table's departments (a former name, forwarded elsewhere, is not offered)
    assert "城南区综合执法局" in options and "卫计委" not in options and "人社局" in options, options
    page.click("#override-box summary")
    page.fill("#override-department", "燃气集团")
    page.fill("#override-reason", "燃气问题")
    page.click("#override-form button[type=submit]")
    page.wait_for_selector("#toast:has-text('燃气集团')")
    page.fill("#override-department", "住建局")
    page.click("#override-form button[type=submit]")
    page.wait_for_selector("#history li[data-kind=routing_overridden]")
    assert "待人工分派" not in page.inner_text("#case-badges")
    assert not page.is_disabled("#send-reply") and not page.is_visible("#routing-manual")


def test_a_label_never_routed_alone_says_so_instead_of_calling_a_sure_model_unsure(page, server):
    """Found in a trial: a 低保 petition at 99 % read "模型不确定（置信度 99%）". The sample's model never
    routes 民政局 alone (out of fold it missed the target precision there), and the clerk is told that."""
    bundle = next(Path(server["base_models"]).glob("*/metadata.json"))
    assert json.loads(bundle.read_text())["abstain"]["thresholds"]["民政局"] > 1, (
        "pick a label never routed alone"
    )
    case = new_case(
        server,
        title="低保申请一直没批",
        body="我父亲七十五岁，独居，四月份在社区递交了低保申请，到现在两个月了还没有消息",
    )
    assert case["routing"]["label"] == "民政局" and case["routing"]["abstain_reason"] == "label_not_automatic"
    sign_in(page, server["base"], server["staff"], f"/case/{case['id']}")
    page.wait_for_selector("#routing-manual:not([hidden])")
    note = page.inner_text("#routing-manual")
    assert "“民政局”尚不自动分派" in note and "模型不确定" not in note, note


def test_a_sure_prediction_below_its_labels_bar_says_so_instead_of_calling_the_model_unsure(page, server):
    """Found in a trial: an 积分入学 petition at 97 % for 教育局 waited with "模型不确定（置信度 97%）";
    the sample's model routes 教育局 alone only above a higher bar, and the clerk is told that."""
    case = new_case(
        server,
        title="孩子入学積分怎麼算",
        body="我們是外地戶籍，在城北區買了房，孩子明年上小學，請問積分入學的分數怎麼計算？社保要交滿幾年？",
    )
    routing = case["routing"]
    bundle = next(Path(server["base_models"]).glob("*/metadata.json"))
    bar = json.loads(bundle.read_text())["abstain"]["thresholds"][routing["label"]]
    assert routing["abstain_reason"] == "below_threshold" and routing["confidence"] > 0.9 and bar <= 1, (
        routing,
        bar,
    )
    sign_in(page, server["base"], server["staff"], f"/case/{case['id']}")
    page.wait_for_selector("#routing-manual:not([hidden])")
    note = page.inner_text("#routing-manual")
    assert f"“{routing['label']}”要求更高的置信度才自动分派" in note and "模型不确定" not in note, note


def test_a_traditional_petition_is_drafted_in_traditional_where_the_house_answers_so(page, server):
    """The sample's departments answer Traditional petitions in Traditional characters; the draft
    for one does too, and the page says where that came from."""
    case = new_case(
        server,
        title="殯儀館強制消費",
        body="我外婆上週在城北殯儀館過世，殯儀館說骨灰盒必須在館內買，最便宜的也要三千多，請民政局管一管",
    )
    sign_in(page, server["base"], server["staff"], f"/case/{case['id']}")
    page.wait_for_selector("#case:not([hidden])")
    draft = page.inner_text("#draft-text")
    assert "【核查結果】" in draft and "【核查结果】" not in draft, draft
    assert "殯儀館強制消費" in draft  # the matter in the citizen's own words and script
    script = [line for line in page.locator("#draft-style li").all_inner_texts() if "字体" in line]
    assert len(script) == 1 and "繁体来信以繁体答复" in script[0] and "件以繁体答复" in script[0], script


def test_a_draft_built_from_a_close_past_case_names_the_facts_to_check(page, server):
    """Nearly the sample's A002 (a bus line to the metro): its reply is the start, every fact of
    that case bracketed, named under the draft, and the reply cannot go out until they are dealt with."""
    case = new_case(
        server,
        title="软件园到地铁站建议开一条公交",
        body="我在高新区软件园上班，园区里有两三万人，离最近的地铁站（创业大道站）有3公里，没有直达公交，"
        "早上只能扫共享单车或者走二十多分钟。建议开一条软件园到地铁站的接驳公交。",
    )
    draft = api_get(server, f"/cases/{case['id']}")["draft"]
    checks = [m.removeprefix("核实：") for m in draft["missing"] if m.startswith("核实：")]
    assert "2月17日" in checks and "0571-86540310" in checks, draft["missing"]
    assert "拟于【2月17日】起开通" in draft["text"] and "发车间隔【8分钟】" in draft["text"]
    sign_in(page, server["base"], server["staff"], f"/case/{case['id']}")
    page.wait_for_selector("#draft-checks:not([hidden])")
    note = page.inner_text("#draft-checks")
    assert note.startswith("待核实") and "2月17日" in note and "0571-86540310" in note, note
    page.click("#use-draft")
    wait_checked(page)
    assert "【2月17日】" in page.inner_text("#qc")  # the check lists it with the slots to fill
    # … and names every blank it counts (it said "还有 5 处" beside the first three only)
    flag = page.inner_text("#qc-flags li[data-code=unfilled_slot]")
    blanks = [f"【{m.removeprefix('核实：')}】" for m in draft["missing"]]
    assert len(blanks) > 3 and f"还有 {len(blanks)} 处" in flag, flag
    assert all(b in flag for b in blanks), (blanks, flag)


# -- supervisor ----------------------------------------------------------------------------------


def test_supervisor_view_tables_charts_and_hot_topics(page, server):
    new_case(server)
    sign_in(page, server["base"], server["staff"], "/supervisor")
    page.wait_for_selector("#stats tbody tr[data-department]")
    stats = api_get(server, "/stats")["departments"]
    shown = page.locator("#stats tbody tr").evaluate_all("rows => rows.map(r => r.dataset.department)")
    assert shown == [d["department"] for d in stats]
    # every share the table shows is explained under it (草稿保留率 was not)
    headings = page.locator("#stats thead th").all_inner_texts()
    legend = page.inner_text("#stats ~ p.hint")
    for share in (h for h in headings if h.endswith(("比例", "率"))):
        assert f"{share}：" in legend, (share, legend)
    for d in stats:
        assert stats_row(page, d["department"])["volume"] == str(d["volume"])
    # the 合计 row is the server's count of every case (departments + 待分派), not a sum of the rows shown
    figures = api_get(server, "/stats")
    total_cells = page.locator("#stats tfoot tr").last.locator("th").all_inner_texts()
    assert total_cells[0] == "合计" and total_cells[1] == str(figures["total"]["volume"])
    listed = api_get(server, "/cases?status=new,assigned,returned,closed,merged&limit=1")["total"]
    assert figures["total"]["volume"] == listed
    # one bar per department in each chart, labelled with the department
    for chart in ("#chart-volume", "#chart-unchanged", "#chart-hours"):
        labels = page.locator(f"{chart} svg text.label").evaluate_all("ts => ts.map(t => t.textContent)")
        assert labels == [d["department"] for d in stats]
    widths = page.locator("#chart-volume svg rect.bar").evaluate_all(
        "rs => rs.map(r => parseFloat(r.getAttribute('width')))"
    )
    biggest = max(range(len(stats)), key=lambda i: stats[i]["volume"])
    assert widths[biggest] == max(widths) > 0
    # hot topics, hottest first, each with one column a day
    topics = api_get(server, "/topics?limit=10")["topics"]
    assert len(topics) >= 2
    page.wait_for_selector("#topics li")
    assert page.locator("#topics .topic-title strong").all_inner_texts() == [t["title"] for t in topics]
    columns = page.locator("#topics li").evaluate_all(
        "items => items.map(i => i.querySelectorAll('svg rect').length)"
    )
    assert columns == [len(t["daily"]) for t in topics]


def test_clerk_adds_edits_and_retires_a_curated_answer_and_drafts_cite_it(page, server):
    question = '<img src=x onerror="window.__xss=1">燃气表走字异常怎么办'
    answer = (
        "您好！燃气表计量异常可拨打燃气公司客服电话申请免费校验，校验不合格的由燃气公司免费更换，"
        "多收的费用予以退还。【请填写受理编号】"
    )
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    sign_in(page, server["base"], server["staff"], "/library")
    page.wait_for_selector("#library-summary:not(:text('正在加载'))")
    page.fill("#answer-question", question)
    page.fill("#answer-text", answer)
    page.fill("#answer-keywords", "燃气表，校验")
    page.click("#answer-save")
    row = page.locator("#library tbody tr", has_text="燃气表走字异常")
    row.wait_for()
    assert row.locator("td.question").inner_text() == question  # shown as text, never as HTML
    assert page.evaluate("window.__xss") is None
    answer_id = row.get_attribute("data-id")
    stored = api_get(server, f"/answers/{answer_id}")
    assert stored["keywords"] == ["燃气表", "校验"] and stored["author"].startswith("staff:")

    # a draft for a matching petition starts from the new entry, labelled as the manual source
    r = httpx.post(
        server["base"] + "/draft",
        json={
            "title": "燃气表走字异常",
            "body": "我家燃气表最近走字特别快，怀疑燃气表计量异常，想申请校验。",
        },
        headers=bearer(server["staff"]),
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert [s["id"] for s in r.json()["sources"] if s["kind"] == "manual"][:1] == [answer_id]

    # edit: the form fills from the row, and the change is stored
    row.locator("button.edit").click()
    assert page.input_value("#answer-text") == answer
    page.fill("#answer-until", "2030-12-31")
    page.click("#answer-save")
    page.locator(f"#library tbody tr[data-id='{answer_id}']", has_text="2030-12-31").wait_for()
    assert api_get(server, f"/answers/{answer_id}")["valid_until"] == "2030-12-31"

    # a bad edit is refused with the reason, and nothing changes
    page.locator(f"#library tbody tr[data-id='{answer_id}'] button.edit").click()
    page.fill("#answer-from", "2031-01-01")
    page.click("#answer-save")
    page.wait_for_selector("#answer-error:not([hidden])")
    assert "失效日期早于生效日期" in page.inner_text("#answer-error")
    assert api_get(server, f"/answers/{answer_id}")["valid_from"] is None
    page.click("#answer-cancel")

    # retire: gone from the list, still there (marked) with "显示已停用"
    page.locator(f"#library tbody tr[data-id='{answer_id}'] button.retire").click()
    page.locator(f"#library tbody tr[data-id='{answer_id}']").wait_for(state="detached")
    assert dialogs and "停用" in dialogs[0]
    page.check("#filter-retired")
    page.locator(f"#library tbody tr.retired[data-id='{answer_id}']", has_text="已停用").wait_for()
    assert api_get(server, f"/answers/{answer_id}")["retired"] is True
