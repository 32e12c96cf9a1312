"""`GET /health` and `GET /models`: what a load balancer and an admin need to see."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from sqlalchemy import text

from api.deps import get_live, get_registry
from api.live_model import LiveModel, NoLiveModel
from training.bundles import ModelRegistry
from training.promotion import routing_gaps

router = APIRouter(tags=["system"])


def _database(request: Request) -> dict[str, Any]:
    """The case store's state, probed with one trivial query (and migrated if it just came back)."""
    store = getattr(request.app.state, "store", None)
    if store is None:
        return {"status": "not configured"}
    try:
        with store.session() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "unavailable", with the reason
        lines = str(exc).strip().splitlines()
        error = store.last_error or f"{type(exc).__name__}: {lines[0] if lines else ''}"
        return {"status": "unavailable", "backend": store.engine.url.get_backend_name(), "error": error}
    return {"status": "ok", "backend": store.engine.url.get_backend_name()}


def _request_type_model(request: Request) -> dict[str, Any]:
    """The optional request-type model: reported (and loaded, so that the first /classify does not
    wait for it) but never a reason for 503, since routing works without it."""
    holder: LiveModel | None = getattr(request.app.state, "request_type_model", None)
    if holder is None:
        return {"status": "not configured"}
    try:
        return {"status": "ok", "version": holder.get().version}
    except NoLiveModel as exc:
        return {"status": "missing", "error": str(exc)}


def _routing_agreement(request: Request, loaded: Any | None) -> dict[str, Any]:
    """Whether the routing table routes every label of the live model (see training.promotion)."""
    routing = getattr(request.app.state, "routing", None)
    table = routing.table if routing is not None else None
    if table is None or loaded is None:
        return {"status": "not checked"}
    gaps = routing_gaps([str(label) for label in loaded.model.classes_], table)
    return {"status": "ok"} if gaps is None else {"status": "unrouted_labels", **gaps}


@router.get("/health", summary="Service, model and database state")
def health(
    request: Request, response: Response, live: Annotated[LiveModel, Depends(get_live)]
) -> dict[str, Any]:
    """200 when both the model and the database are usable; 503 naming which one is not.

    A live model with labels the routing table does not route (promoted with force) still
    serves, so the answer stays 200, but `status` is "degraded" and `routing.error` says why:
    its cases get no department until the table routes them.
    """
    loaded = None
    try:
        loaded = live.get()
        model = {"status": "ok", "version": loaded.version}
        if live.last_error:  # a newer live version could not be loaded: the previous one serves
            model["error"] = live.last_error
    except NoLiveModel as exc:
        model = {"status": "missing", "error": str(exc)}
    database = _database(request)
    routing = _routing_agreement(request, loaded)
    healthy = model["status"] == "ok" and database["status"] in ("ok", "not configured")
    if not healthy:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return {
        "status": "ok" if healthy and routing["status"] != "unrouted_labels" else "degraded",
        "model": model,
        "database": database,
        "routing": routing,
        "request_type_model": _request_type_model(request),
    }


@router.get("/models", summary="Model bundles on disk and which one is live")
def models(registry: Annotated[ModelRegistry, Depends(get_registry)]) -> dict[str, Any]:
    bundles = registry.list()
    return {
        "live": registry.live_version(),
        "models": [
            {
                "version": b.version,
                "live": b.live,
                "created_at": b.metadata.get("created_at"),
                "labels": b.metadata.get("labels", []),
                "macro_f1": b.metadata.get("macro_f1"),
                "accuracy": b.metadata.get("accuracy"),
                "counts": b.metadata.get("counts", {}),
            }
            for b in reversed(bundles)
        ],
    }
