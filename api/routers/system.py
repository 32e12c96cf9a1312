"""`GET /health` and `GET /models`: what a load balancer and an admin need to see."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status

from api.deps import get_live, get_registry
from api.live_model import LiveModel, NoLiveModel
from training.bundles import ModelRegistry

router = APIRouter(tags=["system"])


@router.get("/health", summary="Service, model and database state")
def health(
    response: Response, live: Annotated[LiveModel, Depends(get_live)]
) -> dict[str, Any]:
    try:
        loaded = live.get()
        model = {"status": "ok", "version": loaded.version}
    except NoLiveModel as exc:
        model = {"status": "missing", "error": str(exc)}
    healthy = model["status"] == "ok"
    if not healthy:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return {"status": "ok" if healthy else "degraded", "model": model}


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
