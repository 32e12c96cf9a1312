"""`GET/PUT /admin/routing`: the routing table an admin reads and replaces.

`install` puts one live engine on `app.state.routing` (the store's newest table version, caught up
every `TRIAGE_MODEL_CHECK_SECONDS`) and the
request-type model, when one is trained, on `app.state.request_type_model`.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request, status

from api.live_model import LiveModel, NoLiveModel
from training.model_store import REQUEST_TYPE, open_registry
from triage.routing import RoutingTableError
from triage.routing.live import LiveRoutingEngine
from triage.settings import Settings
from triage.store import routing_tables
from triage.store.clock import iso
from triage.store.routing_tables import TableVersion

router = APIRouter(tags=["routing"])
log = logging.getLogger("triage.routing")

MAX_TABLE_BYTES = 1024 * 1024


def install(app: FastAPI, settings: Settings) -> None:
    app.state.routing = LiveRoutingEngine(
        settings.routing_table,
        check_seconds=settings.model_check_seconds,
        store=getattr(app.state, "store", None),
    )
    app.state.request_type_model = LiveModel(
        open_registry(settings, app.state.store, REQUEST_TYPE),
        settings.model_check_seconds,
        settings.gc_freeze,
    )
    app.include_router(router)


def _live(request: Request) -> LiveRoutingEngine:
    live = getattr(request.app.state, "routing", None)
    if live is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "routing is not set up in this app")
    return live


def _model_labels(request: Request) -> list[str] | None:
    holder: LiveModel | None = getattr(request.app.state, "live_model", None)
    if holder is None:
        return None
    try:
        return [str(label) for label in holder.get().model.classes_]
    except NoLiveModel:
        return None


@router.get("/admin/routing", summary="The routing table in use, its source text and any load error")
def get_routing(request: Request) -> dict[str, Any]:
    live = _live(request)
    table = live.table
    text = live.text()
    summary = None
    label_check = None
    if table is not None:
        summary = {
            "departments": sorted(table.departments),
            "label_sets": {name: sorted(labels) for name, labels in table.label_sets.items()},
            "rules": [rule.name for rule in table.rules],
            "deadlines": dict(table.deadlines),
            "urgent": [
                {"reason": c.reason, "transfer": c.transfer, "hours": c.hours}
                for c in table.urgent_rules.categories
            ],
            "cohandling": {
                "min_probability": table.cohandling.min_probability,
                "max_assist": table.cohandling.max_assist,
            },
        }
        labels = _model_labels(request)
        if labels is not None:
            try:
                label_check = {"ok": True, "label_set": table.check_labels(labels)}
            except RoutingTableError as exc:
                label_check = {"ok": False, "error": str(exc)}
    return {
        "path": str(live.path),
        "version": _version_view(live.version),
        "text": text,
        "loaded": table is not None,
        "error": live.last_error,
        "live_model_labels": label_check,
        "table": summary,
    }


@router.put(
    "/admin/routing",
    summary="Replace the routing table (YAML body); an invalid table is refused and the old one kept",
)
async def put_routing(request: Request) -> dict[str, Any]:
    live = _live(request)
    raw = await request.body()
    if len(raw) > MAX_TABLE_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"routing table over {MAX_TABLE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "routing table is not UTF-8 text"
        ) from None
    if not text.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "routing table is empty")
    comment = request.query_params.get("comment") or None
    if comment is not None and len(comment) > 2000:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "comment is over 2000 characters")
    identity = getattr(request.state, "identity", None)
    try:
        table = live.replace_text(
            text,
            _model_labels(request),
            author=identity.actor if identity is not None else None,
            comment=comment,
        )
    except RoutingTableError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    log.info("routing table replaced through the API")
    return {
        "ok": True,
        "version": _version_view(live.version),
        "departments": len(table.departments),
        "labels": len(table.labels),
        "rules": len(table.rules),
    }


def _version_view(version: TableVersion | None) -> dict[str, Any] | None:
    if version is None:
        return None
    return {
        "id": version.id,
        "author": version.author,
        "comment": version.comment,
        "created_at": iso(version.created_at),
    }


@router.get("/admin/routing/versions", summary="Every stored version of the routing table, newest first")
def routing_versions(request: Request, limit: int = Query(default=50, ge=1, le=500)) -> dict[str, Any]:
    store = getattr(request.app.state, "store", None)
    if store is None:  # pragma: no cover - every app has a store
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "no case store in this app")
    with store.session() as session:
        versions = routing_tables.history(session, limit)
    return {"items": [_version_view(v) for v in versions]}
