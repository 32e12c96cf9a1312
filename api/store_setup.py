"""Attach the case store, the key cache and the job runner to an app, and map store errors.

Errors are mapped in one place so every router answers the same way: a store refusal with its
status (404 unknown case, 409 conflict, 422 bad input), a lost race on a case's version with 409,
and an unreachable database with 503 and the reason - the request's transaction was rolled back,
so nothing is half-written.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from api.auth import KeyCache
from training.jobs import JobNotFound, JobQueue
from triage.settings import Settings
from triage.store.engine import Store, StoreUnavailable, _first_line
from triage.store.repository import StoreError

log = logging.getLogger("triage.store")


def setup_store(app: FastAPI, settings: Settings) -> None:
    store = Store(settings.database_url)
    app.state.store = store
    app.state.key_cache = KeyCache()
    app.state.jobs = JobQueue(store)  # jobs run in `triage worker`, never here
    app.state.public_paths = {"/health"}
    try:
        store.ensure_schema()
    except StoreUnavailable as exc:
        log.error("%s; requests that need it answer 503 until it is back", exc)

    @app.exception_handler(StoreError)
    async def _store_error(_: Request, exc: StoreError) -> JSONResponse:
        detail = getattr(exc, "detail", None) or str(exc)  # a refused reply carries its verdict
        return JSONResponse({"detail": detail}, status_code=exc.status)

    @app.exception_handler(JobNotFound)
    async def _job_missing(_: Request, exc: JobNotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_404_NOT_FOUND)

    @app.exception_handler(StaleDataError)
    async def _stale(_: Request, exc: StaleDataError) -> JSONResponse:
        return JSONResponse(
            {"detail": "the case was changed by someone else at the same moment; reload it and try again"},
            status_code=status.HTTP_409_CONFLICT,
        )

    @app.exception_handler(StoreUnavailable)
    async def _unavailable(_: Request, exc: StoreUnavailable) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)

    @app.exception_handler(OperationalError)
    async def _operational(_: Request, exc: DBAPIError) -> JSONResponse:
        log.error("database error: %s", exc)
        return JSONResponse(
            {"detail": f"database unavailable ({store.safe_url()}): {_first_line(exc)}; nothing was saved"},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        )

    @app.exception_handler(DBAPIError)
    async def _dbapi(_: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            return await _operational(_, exc)
        log.exception("database error")
        return JSONResponse(
            {"detail": f"database error: {_first_line(exc)}; nothing was saved"}, status_code=500
        )
