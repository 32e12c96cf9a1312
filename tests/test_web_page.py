"""The staff page as the server renders it (through the ASGI client): frames, filters, assets, CSP.

What the page's script does with the data is driven in a real browser by tests/test_browser.py.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api import web
from api.app import create_app
from triage.settings import Settings

PAGES = ["/", "/case/7", "/supervisor", "/library"]


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside <script>/<style> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._in = tag

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in and data.strip():
            self.inline.append(f"<{self._in}>{data.strip()[:60]}")


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


@pytest.fixture
def anon(settings):
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_in_chinese_without_a_key(anon, path):
    r = anon.get(path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in r.text
    assert "工作人员登录" in r.text and "待办队列" in r.text and "主管视图" in r.text
    assert 'id="signin-form"' in r.text


def test_opening_the_pages_does_not_open_the_api(anon):
    for path in ("/cases", "/stats", "/cases/1"):
        assert anon.get(path).status_code == 401, path
    schema_paths = set(anon.app.openapi()["paths"])
    assert not {"/", "/case/{case_id}", "/supervisor", "/library"} & schema_paths  # pages are not API


@pytest.mark.parametrize("path", PAGES)
def test_no_inline_script_style_or_handler_so_the_strict_csp_holds(anon, path):
    r = anon.get(path)
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    tags = parse(r.text)
    assert tags.inline == []
    scripts = [a for t, a in tags.tags if t == "script"]
    assert scripts and all(a.get("src", "").startswith("/static/") for a in scripts)
    handlers = [(t, k) for t, a in tags.tags for k in a if k.startswith("on")]
    styles = [t for t, a in tags.tags if "style" in a]
    assert handlers == [] and styles == []


@pytest.mark.parametrize("path", PAGES)
def test_every_asset_a_page_references_is_served_with_the_content_hash(anon, path):
    tags = parse(anon.get(path).text)
    urls = [a.get("src") or a.get("href") for t, a in tags.tags if t in ("script", "link")]
    assert len(urls) >= 4
    version = anon.app.state.web_asset_version
    assert version == web.asset_version()
    for url in urls:
        assert url.endswith(f"?v={version}"), url
        r = anon.get(url)
        assert r.status_code == 200, url
        kind = r.headers["content-type"]
        assert any(k in kind for k in ("javascript", "text/css", "image/svg")), (url, kind)


def test_the_page_script_of_each_page_exists(anon):
    for path, script in (
        ("/", "queue.js"),
        ("/case/3", "case.js"),
        ("/supervisor", "supervisor.js"),
        ("/library", "library.js"),
    ):
        html = anon.get(path).text
        assert f"/static/{script}?v=" in html
        assert (web.STATIC_DIR / script).is_file()


def test_queue_filters_are_rendered_from_the_query_and_escaped(anon):
    hostile = '"><script>alert(1)</script>'
    r = anon.get(
        "/",
        params={
            "status": "closed",
            "department": "人社局",
            "overdue": "true",
            "abstained": "true",
            "q": hostile,
        },
    )
    assert r.status_code == 200
    assert hostile not in r.text and "<script>alert(1)" not in r.text
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in r.text
    assert re.search(r'<option value="closed"\s+selected>', r.text)
    assert re.search(r'<option value="人社局"\s+selected>', r.text)
    assert re.search(r'name="overdue" value="true"\s+checked', r.text)
    assert re.search(r'name="abstained" value="true"\s+checked', r.text)


def test_the_queue_defaults_to_open_cases(anon):
    html = anon.get("/").text
    assert re.search(r'<option value="open"\s+selected>', html)
    assert not re.search(r'name="overdue" value="true"\s+checked', html)


def test_department_choices_are_the_live_models_labels(anon, live_model):
    html = anon.get("/").text
    department_select = html[
        html.index('name="department"') : html.index("</select>", html.index('name="department"'))
    ]
    for label in live_model.classes_:
        assert f'<option value="{label}"' in department_select


def test_pages_render_without_a_live_model(tmp_path):
    settings = Settings(
        models_dir=tmp_path / "empty", database_url=f"sqlite:///{tmp_path / 'x.db'}", model_check_seconds=0.0
    )
    with TestClient(create_app(settings)) as c:
        for path in PAGES:
            assert c.get(path).status_code == 200, path


def test_the_case_page_carries_its_id_and_refuses_a_non_numeric_one(anon):
    assert 'data-case-id="42"' in anon.get("/case/42").text
    assert anon.get("/case/abc").status_code == 422


def test_static_files_cannot_reach_outside_their_folder(anon):
    for path in ("/static/../web.py", "/static/%2e%2e/web.py", "/static/..%2fweb.py"):
        r = anon.get(path)
        assert r.status_code == 404, path
        assert "def install" not in r.text


def test_page_scripts_never_build_html_from_strings():
    """Petition text reaches the DOM through textContent only; these sinks would parse it as HTML."""
    sinks = re.compile(
        r"innerHTML|outerHTML\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\(\s*[\"']on"
    )
    scripts = sorted(Path(web.STATIC_DIR).glob("*.js"))
    assert len(scripts) >= 5
    for script in scripts:
        for n, line in enumerate(script.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("//", 1)[0] if line.lstrip().startswith("//") else line
            assert not sinks.search(code), f"{script.name}:{n}: {line.strip()}"
