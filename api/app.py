"""The FastAPI application factory.

`create_app` takes settings instead of reading globals so tests can build as many isolated apps
as they need, each on its own models directory and database.
"""

from __future__ import annotations

from fastapi import FastAPI

from api.live_model import LiveModel
from api.routers import classify, system
from training.bundles import ModelRegistry
from triage import __version__
from triage.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="petition triage",
        version=__version__,
        description="Routes citizens' petitions, drafts replies and checks their quality.",
    )
    registry = ModelRegistry(settings.models_dir)
    app.state.settings = settings
    app.state.registry = registry
    app.state.live_model = LiveModel(registry, settings.model_check_seconds)
    app.include_router(system.router)
    app.include_router(classify.router)
    return app
