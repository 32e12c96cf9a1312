"""The API's own documentation, usable on an intranet: local viewer files and the bearer scheme.

FastAPI's /docs and /redoc load Swagger UI and ReDoc from a CDN, which a hotline's intranet
cannot reach: the page stays blank. The viewers' files come from the fastapi-offline package
(pinned in pyproject.toml) and are served under /static/docs; the pages are otherwise FastAPI's.

The OpenAPI gains an HTTP bearer security scheme, so Swagger's Authorize button sends the key,
and each operation says which roles may call it (from api.auth.POLICY, the rule's one home).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import Mount

from api.auth import ADMIN, allowed_roles

ASSETS_URL = "/static/docs"  # under /static: public like the staff page's own files
ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))
FAVICON_URL = "/static/favicon.svg"
SCHEME = "bearer"
SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key (`tk_…`) made by `triage keys create --role platform|staff|admin`.",
}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _swagger(app: FastAPI):
    async def page(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + (app.openapi_url or "/openapi.json"),
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=root + app.swagger_ui_oauth2_redirect_url
            if app.swagger_ui_oauth2_redirect_url
            else None,
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=root + FAVICON_URL,
            # no call to the public validator; the key survives a reload of the page
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )

    return page


def _redoc(app: FastAPI):
    async def page(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_redoc_html(
            openapi_url=root + (app.openapi_url or "/openapi.json"),
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=root + FAVICON_URL,
            with_google_fonts=False,
        )

    return page


def _replace_route(app: FastAPI, path: str, endpoint) -> None:
    """Swap FastAPI's CDN page at `path` for ours (a plain route: no auth dependency, like FastAPI's)."""
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) != path]
    app.add_route(path, endpoint, include_in_schema=False)


def document_security(app: FastAPI) -> None:
    """Add the bearer scheme, and on each operation the lock and the roles allowed."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        if schema.get("components", {}).get("securitySchemes", {}).get(SCHEME):
            return schema
        schema.setdefault("components", {}).setdefault("securitySchemes", {})[SCHEME] = SECURITY_SCHEME
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                if method not in HTTP_METHODS or not isinstance(operation, dict):
                    continue
                roles = allowed_roles(method.upper(), path)
                if roles == ("*",):
                    operation["security"] = []
                    continue
                operation["security"] = [{SCHEME: []}]
                who = ", ".join((*roles, ADMIN))
                note = f"Roles: {who}."
                description = operation.get("description")
                operation["description"] = f"{description}\n\n{note}" if description else note
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    """Serve the viewers' files, the local /docs and /redoc, and the security scheme."""
    app.router.routes.insert(0, Mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets"))
    if app.docs_url:
        _replace_route(app, app.docs_url, _swagger(app))
    if app.redoc_url:
        _replace_route(app, app.redoc_url, _redoc(app))
    document_security(app)
