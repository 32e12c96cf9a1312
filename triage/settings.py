"""Configuration from environment variables (prefix ``TRIAGE_``) or a ``.env`` file.

The defaults need nothing: a SQLite file for the case store, models under ``models/``,
127.0.0.1:8000. Every entry point reads settings through `get_settings` so tests can point a
whole app at a temporary directory by setting environment variables.
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRIAGE_", env_file=".env", extra="ignore"
    )

    models_dir: Path = Path("models")
    database_url: str = "sqlite:///data/triage.db"
    host: str = "127.0.0.1"
    port: int = 8000
    max_batch_items: int = 1000
    max_request_bytes: int = 5 * 1024 * 1024
    model_check_seconds: float = 1.0
    embedding_model: str | None = None


def get_settings() -> Settings:
    return Settings()
