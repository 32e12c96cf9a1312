"""Dependencies shared by routers: settings, the model registry, the live model and the service."""

from __future__ import annotations

from fastapi import Request

from api.live_model import LiveModel
from training.bundles import ModelRegistry
from triage.service import TriageService
from triage.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_registry(request: Request) -> ModelRegistry:
    return request.app.state.registry


def get_live(request: Request) -> LiveModel:
    return request.app.state.live_model


def get_service(request: Request) -> TriageService:
    """The app's workflows (triage/service.py): the same object the CLI builds for itself."""
    return request.app.state.service
