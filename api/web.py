"""The staff web page: a queue, a case view and a supervisor view, in Chinese.

The server renders only the frame of each page (navigation, filter form, empty panels, the list
of departments); the page's script fills it from the same JSON API the platform uses, sending the
key the clerk signed in with as a bearer token. So the page needs no session or cookie auth of its
own, every read and write goes through the API's role checks, and there is one code path for a
case change whether it comes from a clerk or another system.

Nothing on these pages runs inline: scripts and styles are static files, so the strict
Content-Security-Policy that api.middleware sends with HTML holds, and petition text rendered by
the script (always through textContent) or by Jinja (autoescaped) cannot execute.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import jinja2
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from api.departments import routable_departments

log = logging.getLogger("triage.web")

HERE = Path(__file__).parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"

# Paths that answer without a key: the page frames and their static files (the data is not there).
PUBLIC_PATHS = {"/", "/supervisor", "/library", "/case/*", "/static/*"}

# The queue's status filter: the values GET /cases accepts, with the label a clerk reads.
STATUS_CHOICES = [
    ("open", "全部未办结"),
    ("new", "新案件"),
    ("assigned", "已分派"),
    ("returned", "被退回"),
    ("closed", "已办结"),
    ("merged", "已并单"),
    ("", "全部"),
]

router = APIRouter(include_in_schema=False)  # pages, not API: kept out of the OpenAPI schema


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every {{ }} is escaped, whatever the template's extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return Jinja2Templates(env=env)


templates = _templates()


def asset_version() -> str:
    """A short hash of the static files, appended to their URLs so a new release is never stale."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.glob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def known_departments(app: FastAPI) -> list[str]:
    """Departments a clerk may route to: the live model's labels and the routing table's departments.

    Best effort: a missing model or table leaves the list shorter, and the override field still
    accepts any department typed in.
    """
    names: set[str] = set()
    loaded = None
    try:
        loaded = app.state.live_model.peek()
    except Exception:  # the page must render without a model
        log.debug("no live model for the department list", exc_info=True)
    if loaded is not None:
        names.update(str(label) for label in getattr(loaded.model, "classes_", []))
    routing = getattr(app.state, "routing", None)
    try:
        table = getattr(routing, "table", None) if routing is not None else None
        if table is not None:
            departments = getattr(table, "departments", {}) or {}
            # a renamed department (forward_to) is no longer a place to send cases
            names.update(str(n) for n, d in departments.items() if not getattr(d, "forward_to", None))
    except Exception:  # a broken table is reported by /admin/routing, not here
        log.debug("routing table unreadable for the department list", exc_info=True)
    return sorted(n for n in names if n)


def _page(request: Request, name: str, **context: Any) -> HTMLResponse:
    base = {
        "asset_version": request.app.state.web_asset_version,
        "departments": known_departments(request.app),
        "page": name.removesuffix(".html"),
    }
    return templates.TemplateResponse(request, name, {**base, **context})


@router.get("/", response_class=HTMLResponse)
def queue_page(request: Request) -> HTMLResponse:
    q = request.query_params
    filters = {
        "status": q.get("status", "open"),
        "department": q.get("department", ""),
        "overdue": q.get("overdue") == "true",
        "abstained": q.get("abstained") == "true",
        "q": q.get("q", ""),
    }
    return _page(request, "queue.html", filters=filters, status_choices=STATUS_CHOICES)


@router.get("/case/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: int) -> HTMLResponse:
    # the override list offers the routing table's departments (not the model's labels)
    route_to = routable_departments(request.app.state)
    return _page(
        request, "case.html", case_id=case_id, route_departments=route_to or known_departments(request.app)
    )


@router.get("/supervisor", response_class=HTMLResponse)
def supervisor_page(request: Request) -> HTMLResponse:
    return _page(request, "supervisor.html")


@router.get("/library", response_class=HTMLResponse)
def library_page(request: Request) -> HTMLResponse:
    return _page(request, "library.html")


def install(app: FastAPI) -> None:
    """Serve the pages and /static, and open their paths to callers without a key."""
    app.state.web_asset_version = asset_version()
    app.state.public_paths = set(getattr(app.state, "public_paths", set())) | PUBLIC_PATHS
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
