"""Two hosts on one machine: two apps on one database, each with its own models/cache folder."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import auth


def host(settings, models_dir, role: str = "admin") -> TestClient:
    """An app over `models_dir` (its caches) and the settings' database, with a `role` key."""
    app = create_app(settings.model_copy(update={"models_dir": models_dir, "answers_encoder": "none"}))
    client = TestClient(app)
    client.__enter__()
    client.headers.update(auth(app, role))
    return client


def close(client: TestClient) -> None:
    client.__exit__(None, None, None)
    client.app.state.store.dispose()
