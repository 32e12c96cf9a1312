"""The staff page works under the strict Content-Security-Policy: no violation in a real browser.

The CSP (api/middleware.py) forbids inline script and styles and anything from another origin;
a page that relied on them would break silently (the browser only logs the refusal), so this test
signs in, opens the queue, a case and the supervisor view in Debian's chromium and fails on any
"Refused to …" console message. That injected HTML never runs is the workbench's browser test
(tests/test_browser.py::test_a_script_injected_in_a_petition_never_runs).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.screenshots import (
    chromium_missing_reason,
    launch_chromium,
    prepare,
    sign_in,
    store_key,
    submit,
)
from benchmarks.server import running_server
from tests.reliability_fixtures import free_port

pytestmark = pytest.mark.skipif(chromium_missing_reason() is not None, reason=chromium_missing_reason() or "")


def test_staff_pages_raise_no_csp_violation(tmp_path, trained_models_dir):
    from playwright.sync_api import sync_playwright

    env, staff = prepare(tmp_path, trained_models_dir)
    platform = store_key(env["TRIAGE_DATABASE_URL"], "platform")
    messages: list[str] = []
    with (
        open(tmp_path / "server.log", "w") as log,
        running_server(
            Path(env["TRIAGE_MODELS_DIR"]), free_port(), database_url=env["TRIAGE_DATABASE_URL"], log_file=log
        ) as (
            base,
            _,
        ),
    ):
        case = submit(
            base, platform, external_id="csp-1", title="<b>噪音</b>", body="楼下噪音扰民<script>x=1</script>"
        )
        with sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_page()
            page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
            responses = []
            page.on("response", lambda r: responses.append(r))
            sign_in(page, base, staff)
            page.goto(f"{base}/case/{case['id']}")
            page.wait_for_selector("#case:not([hidden])")
            page.goto(f"{base}/supervisor")
            page.wait_for_timeout(1000)
            html = [r for r in responses if r.headers.get("content-type", "").startswith("text/html")]
            browser.close()
    assert len(html) >= 3
    for r in html:
        assert "script-src 'self'" in r.headers["content-security-policy"], r.url
    violations = [m for m in messages if "Content Security Policy" in m or "Refused to" in m]
    assert violations == [], violations
