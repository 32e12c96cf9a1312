"""The staff page warns when the live model and the routing table disagree (a forced promotion).

A real server prepared as `make run` prepares it; the admin force-promotes a bundle with labels
the table does not route through the real `triage models promote --force`, and the clerk's page
shows the warning until the admin rolls back.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.screenshots import (
    chromium_missing_reason,
    free_port,
    launch_chromium,
    prepare,
    sign_in,
    triage_cli,
)
from tests.admin_fixtures import train_unrouted

pytestmark = pytest.mark.skipif(chromium_missing_reason() is not None, reason=chromium_missing_reason() or "")


@pytest.fixture(scope="module")
def server(tmp_path_factory, trained_models_dir):
    from benchmarks.server import running_server

    work = tmp_path_factory.mktemp("admin-browser")
    env, staff_key = prepare(work, trained_models_dir)
    models = Path(env["TRIAGE_MODELS_DIR"])
    bundle = train_unrouted(work / "unrouted")
    shutil.copytree(bundle, models / bundle.name)
    log = (work / "server.log").open("w")
    with running_server(models, free_port(), database_url=env["TRIAGE_DATABASE_URL"], log_file=log) as (
        base,
        _,
    ):
        yield {"base": base, "staff": staff_key, "env": env, "unrouted": bundle.name}
    log.close()


@pytest.fixture
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
        context.set_default_timeout(20_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page
        browser.close()
        assert errors == [], errors


def test_the_page_warns_while_a_forced_model_has_unrouted_labels(page, server):
    sign_in(page, server["base"], server["staff"], "/")
    page.wait_for_timeout(500)  # the /health answer has come back
    assert not page.is_visible("#service-warning")

    out = triage_cli(server["env"], "models", "promote", server["unrouted"], "--force")
    assert server["unrouted"] in out
    page.wait_for_timeout(1500)  # the server notices the new pointer within a second
    page.reload()
    warning = page.locator("#service-warning")
    warning.wait_for(state="visible")
    text = warning.inner_text()
    assert "路由表中没有对应的承办部门" in text and "学前教育、社会救助" in text and "请人工分派" in text
    page.screenshot(path=str(Path(server["env"]["TRIAGE_MODELS_DIR"]).parent / "warning.png"))

    triage_cli(server["env"], "models", "rollback")
    page.wait_for_timeout(1500)
    page.reload()
    page.wait_for_selector("#main:not([hidden])")
    page.wait_for_timeout(500)
    assert not page.is_visible("#service-warning")
