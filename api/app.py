"""The FastAPI application factory.

`create_app` takes settings instead of reading globals so tests can build as many isolated apps
as they need, each on its own models directory and database.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI

from api import docs, heap, middleware, web
from api.auth import authorize
from api.live_model import LiveModel
from api.routers import admin, cases, classify, routing, stats, system
from api.routers import drafting as drafting_routes
from api.routers import platform as platform_routes
from api.routers import quality as quality_routes
from api.routers import topics as topic_routes
from api.store_changes import listen_for_changes
from api.store_setup import setup_store
from training.model_store import open_registry
from triage import __version__
from triage.service import TriageService
from triage.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="petition triage",
        version=__version__,
        description="Routes citizens' petitions, drafts replies and checks their quality.",
        dependencies=[Depends(authorize)],  # roles per route: api.auth.POLICY
    )
    app.state.settings = settings
    setup_store(app, settings)
    registry = open_registry(settings, app.state.store)
    app.state.registry = registry
    app.state.live_model = LiveModel(registry, settings.model_check_seconds, settings.gc_freeze)
    app.include_router(system.router)
    app.include_router(classify.router)
    app.include_router(cases.router)
    platform_routes.install(app, settings)  # /platform/cases/…, /admin/webhooks, the webhook sender
    app.include_router(stats.router)
    app.include_router(admin.router)
    routing.install(app, settings)  # app.state.routing + request-type model + /admin/routing
    drafting_routes.install(app, settings)  # app.state.drafter + /draft, /answers
    topic_routes.install(app, settings)  # app.state.case_duplicates + /topics, /duplicates/check
    quality_routes.install(app, settings)  # app.state.quality_checker + /check, /check/batch
    app.state.service = TriageService(  # the workflows the routers share with the CLI
        app.state.live_model,
        request_types=app.state.request_type_model,
        routing=app.state.routing,
        drafter=app.state.drafter,
    )
    app.state.service.attach_cases(  # /cases: intake, routing decisions, replies, returns, merges
        app.state.store,
        checker=app.state.quality_checker,
        duplicates=app.state.case_duplicates,
        webhook=app.state.webhook_sender,
    )
    listen_for_changes(app)  # PostgreSQL: every cache above hears of another host's commit at once
    docs.install(app)  # /docs and /redoc from local files; the bearer scheme in the OpenAPI
    web.install(app)  # the staff page: /, /case/{id}, /supervisor, /static
    middleware.install(app, settings)  # request ids, limits, headers, logs, /metrics, rate limit
    if settings.gc_freeze:
        heap.settle()  # indexes and tables loaded above stay out of every later full collection
    return app
