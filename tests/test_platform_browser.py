"""The platform's side in a real browser (Debian's chromium): /docs offline, the 补充 on the case page.

One real server (`triage serve` after `triage bootstrap`, as `make run`); chromium is cut off from
every address but the server's own, as on an intranet.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from benchmarks.screenshots import (
    bearer,
    chromium_missing_reason,
    free_port,
    launch_chromium,
    prepare,
    sign_in,
    store_key,
    submit,
)

pytestmark = pytest.mark.skipif(chromium_missing_reason() is not None, reason=chromium_missing_reason() or "")

PHONE = "13912345678"


@pytest.fixture(scope="module")
def server(tmp_path_factory, trained_models_dir):
    from benchmarks.server import running_server

    work = tmp_path_factory.mktemp("platform-browser")
    env, staff_key = prepare(work, trained_models_dir)
    platform_key = store_key(env["TRIAGE_DATABASE_URL"], "platform", "board")
    with (
        (work / "server.log").open("w") as log,
        running_server(
            Path(env["TRIAGE_MODELS_DIR"]), free_port(), database_url=env["TRIAGE_DATABASE_URL"], log_file=log
        ) as (base, _),
    ):
        yield {"base": base, "staff": staff_key, "platform": platform_key, "work": work}


@pytest.fixture
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
        context.set_default_timeout(20_000)
        outside: list[str] = []

        def intranet(route) -> None:  # only the server itself answers, as on a hotline's intranet
            if route.request.url.startswith(server["base"]):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        context.route("**/*", intranet)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.outside = outside
        yield page
        context.close()
        browser.close()
    assert errors == [], errors


def test_docs_render_every_operation_without_network(page, server, tmp_path):
    page.goto(server["base"] + "/docs")
    page.wait_for_selector(".opblock")
    operations = page.locator(".opblock").count()
    assert operations >= 30, operations
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/platform/cases/{external_id}/supplements" in p.replace("\u200b", "") for p in paths), paths
    assert page.locator("button.authorize").is_visible()  # the bearer scheme's Authorize button
    assert page.locator(".opblock .authorization__btn").count() >= 20  # the lock on protected routes
    page.screenshot(path=str(tmp_path / "docs.png"))
    assert page.outside == [], f"/docs asked for outside addresses: {page.outside}"


def test_the_case_page_shows_supplements_contact_and_attachments(page, server, tmp_path):
    case = submit(
        server["base"],
        server["platform"],
        external_id="BR-1",
        title="公司拖欠工资",
        body="我们公司拖欠农民工工资三个月了，老板不接电话",
        contact={"name": "张先生", "phone": PHONE},
        attachments=[
            {
                "name": "工资条.jpg",
                "url": "https://files.example.org/1.jpg",
                "content_type": "image/jpeg",
                "size": 52000,
            }
        ],
    )
    r = httpx.post(
        server["base"] + "/platform/cases/BR-1/supplements",
        json={"text": "今天老板说下个月也发不了"},
        headers=bearer(server["platform"]),
        timeout=30,
    )
    assert r.status_code == 201, r.text
    sign_in(page, server["base"], server["staff"], f"/case/{case['id']}")
    page.wait_for_selector("#case:not([hidden])")
    assert page.is_visible("#supplements-panel")
    assert "今天老板说下个月也发不了" in page.inner_text("#supplements")
    assert "1 条" in page.inner_text("#supplements-count")
    caller = page.inner_text("#caller-panel")
    assert "张先生" in caller and PHONE in caller
    link = page.locator("#attachments a")
    assert (
        link.inner_text() == "工资条.jpg" and link.get_attribute("href") == "https://files.example.org/1.jpg"
    )
    assert "收到群众补充" in page.inner_text("#history")
    # the section's script is loaded once, and no stray markup leaks into the page as text
    assert page.locator("script[src*='case_platform.js']").count() == 1
    stray = "[...document.body.childNodes].filter(n => n.nodeType === 3 && n.textContent.trim()).length"
    assert page.evaluate(stray) == 0
    page.screenshot(path=str(tmp_path / "case.png"), full_page=True)
    plain = submit(server["base"], server["platform"], external_id="BR-2", title="噪音", body="楼下噪音扰民")
    page.goto(f"{server['base']}/case/{plain['id']}")
    page.wait_for_selector("#case:not([hidden])")
    assert not page.is_visible("#supplements-panel") and not page.is_visible("#caller-panel")
