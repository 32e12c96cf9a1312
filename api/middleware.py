"""What every request goes through: a request id, a size limit, security headers, a log line.

Pure ASGI (not Starlette's BaseHTTPMiddleware) because it wraps `/classify`, whose whole budget
is a few milliseconds: BaseHTTPMiddleware runs the app in a separate task and streams the
response through a memory channel, which costs more than the checks themselves.

Logging promises two things, both enforced here rather than trusted to every caller:
- every record from any logger is PII-masked (triage.text.mask_pii) when it is created,
  message and traceback alike, so a phone number inside an exception message never reaches a
  log file;
- the service's own lines are one JSON object each, carrying the request id that the client
  sent in `X-Request-ID` (or that we made up) and that the response echoes back, so one
  petition's trail can be followed across the platform's logs and ours.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import unquote

from fastapi import FastAPI, HTTPException, status
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from triage.settings import Settings
from triage.text import mask_pii

REQUEST_ID_HEADER = "X-Request-ID"
_RID_OK = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

access_log = logging.getLogger("triage.access")
error_log = logging.getLogger("triage.error")

# Security headers on every response. The staff page holds citizens' names and addresses, hence
# no caching, no framing and no referrer leaking a case URL.
_COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]
# HTML pages may load scripts, styles and images from this origin only: no inline script, no
# eval, nothing from elsewhere, so petition text that slips past escaping still cannot run.
CSP_HTML = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# JSON and everything else is never rendered as a document.
CSP_OTHER = "default-src 'none'; frame-ancestors 'none'"
# The /docs and /redoc pages load their viewer from this origin (api/docs.py) with an inline
# bootstrap script; they show only the schema (no petition data), so they may run inline code.
CSP_DOCS = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "font-src 'self' data:; img-src 'self' data:; worker-src blob:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HSTS = b"max-age=31536000; includeSubDomains"


class RequestTooLarge(HTTPException):
    """Raised from `receive` when a body without Content-Length grows past the limit.

    An HTTPException so FastAPI's body parsing re-raises it untouched and the exception
    middleware answers 413, instead of a generic 400 "error parsing the body".
    """

    def __init__(self, limit: int, what: str) -> None:
        super().__init__(status.HTTP_413_CONTENT_TOO_LARGE, too_large_message(limit, what))


def too_large_message(limit: int, what: str, size: int | None = None) -> str:
    got = f" of {size:,} bytes" if size is not None else ""
    return f"request body{got} is over the {limit:,}-byte limit for {what}; send less per request"


class Observer(Protocol):
    """Receives one call per finished request (api.metrics implements it)."""

    def wants_body(self, method: str, route: str | None) -> bool: ...

    def observe_body(self, method: str, route: str, chunk: bytes) -> None: ...

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None: ...


# -- logging -----------------------------------------------------------------------------------


# Every pattern mask_pii knows needs a digit or an @; most log text has neither, and skipping the
# six regular expressions for it keeps the access log cheap enough for /classify's budget.
_MAYBE_PII = re.compile(r"[\d@＠]")


def _safe(text: str) -> str:
    """Masked, and encodable: a lone surrogate from a hostile request must not break the log."""
    if _MAYBE_PII.search(text):
        text = mask_pii(text)
    return _encodable(text)


def _encodable(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


_MASKED = "_pii_masked"
_formatter = logging.Formatter()


def _mask_record(record: logging.LogRecord) -> logging.LogRecord:
    if getattr(record, _MASKED, False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed call must not lose the line
        message = f"{record.msg!r} % {record.args!r}"
    record.msg, record.args = _safe(message), ()
    if record.exc_info and not record.exc_text:
        record.exc_text = _safe(_formatter.formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = _safe(record.exc_text)
    if record.stack_info:
        record.stack_info = _safe(record.stack_info)
    setattr(record, _MASKED, True)
    return record


def install_masking() -> None:
    """Mask every log record of the process when it is created, whatever logger or handler.

    A record factory (rather than a filter on some handlers) also covers handlers added later,
    uvicorn's own loggers and logging's last-resort handler.
    """
    current = logging.getLogRecordFactory()
    if getattr(current, "_triage_masking", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return _mask_record(current(*args, **kwargs))

    factory._triage_masking = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


# Access-log fields that never carry user text: the method (checked by the server), the route
# template (ours) and the client address.
_SAFE_FIELDS = frozenset({"method", "route", "client"})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and any `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        _mask_record(record)
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.msg,
        }
        # request ids are made log-safe by RequestMiddleware when it accepts them
        rid = getattr(record, "request_id", None) or request_id_var.get()
        if rid:
            line["request_id"] = rid
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            # `extra` fields are attached after the record factory ran: mask them here
            line.update(
                {
                    k: _safe(v) if isinstance(v, str) and k not in _SAFE_FIELDS else v
                    for k, v in fields.items()
                }
            )
        if record.exc_info and not record.exc_text:
            record.exc_text = _safe(self.formatException(record.exc_info))
        if record.exc_text:
            line["exc"] = record.exc_text
        return _encodable(json.dumps(line, ensure_ascii=False, default=str))


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is now (so pytest's capture and redirections see it)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self):  # logging reads self.stream on every emit
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(level: int = logging.INFO) -> None:
    """JSON lines on stderr for the `triage` loggers, masking for every logger; idempotent.

    The `triage` logger still propagates, so an application that configures the root logger
    (or pytest's caplog) sees the records too; under uvicorn the root has no handler.
    """
    install_masking()
    logger = logging.getLogger("triage")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)


# -- the middleware ----------------------------------------------------------------------------


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


class RequestMiddleware:
    """Request id, body size limit, security headers, access log and metrics for each request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_upload_bytes: int,
        observer: Observer | None = None,
        access_log_enabled: bool = True,
        docs_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        self.observer = observer
        self.access_log_enabled = access_log_enabled
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        incoming = _header(scope, b"x-request-id")
        if incoming and _RID_OK.match(incoming):
            rid = incoming.decode("ascii")
            log_rid = _safe(rid)  # a client could send a phone number as its id: logs get it masked
        else:
            rid = log_rid = uuid.uuid4().hex
        rid_bytes = rid.encode("ascii")
        token = request_id_var.set(log_rid)
        scope.setdefault("state", {})["request_id"] = rid
        path: str = scope["path"]
        https = scope.get("scheme") == "https"
        state = {"status": 0, "route": None}
        observer = self.observer
        scan_body = False

        async def send_wrapper(message: Message) -> None:
            nonlocal scan_body
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                headers = list(message.get("headers", ()))
                names = {k.lower() for k, _ in headers}
                headers.append((b"x-request-id", rid_bytes))
                headers.extend(_COMMON_HEADERS)
                if b"content-security-policy" not in names:
                    ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                    if path in self.docs_paths:
                        csp = CSP_DOCS
                    elif ctype.startswith(b"text/html"):
                        csp = CSP_HTML
                    else:
                        csp = CSP_OTHER
                    headers.append((b"content-security-policy", csp.encode()))
                if b"cache-control" not in names and not path.startswith("/static"):
                    headers.append((b"cache-control", b"no-store"))
                if https:
                    headers.append((b"strict-transport-security", HSTS))
                message["headers"] = headers
                route = scope.get("route")
                template = getattr(route, "path", None)
                state["route"] = template
                scan_body = observer is not None and observer.wants_body(scope["method"], template)
            elif scan_body and message["type"] == "http.response.body":
                observer.observe_body(scope["method"], state["route"], message.get("body", b""))  # type: ignore[union-attr]
            await send(message)

        try:
            limit, what = self._limit_for(scope)
            length = _header(scope, b"content-length")
            size = int(length) if length and length.isdigit() else None
            if size is not None and size > limit:
                # Refuse before reading a byte: the client may not even have sent the body yet.
                await _send_json(
                    send_wrapper,
                    status.HTTP_413_CONTENT_TOO_LARGE,
                    {"detail": too_large_message(limit, what, size)},
                )
                return
            if size is None and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
                receive = _limited(receive, limit, what)
            await self.app(scope, receive, send_wrapper)
        except Exception:
            error_log.exception(
                "unhandled error in %s %s", scope["method"], path, extra={"request_id": log_rid}
            )
            if state["status"] == 0:
                # Answer here rather than leave it to Starlette's outer error middleware, so the
                # 500 carries the request id and the security headers too; it then re-raises
                # and the server logs the error as usual (masked like every other line).
                try:
                    await _send_json(
                        send_wrapper,
                        status.HTTP_500_INTERNAL_SERVER_ERROR,
                        {"detail": f"internal error; it has been logged under request id {rid}"},
                    )
                except Exception:  # noqa: BLE001 - the client may be gone; the error is logged
                    state["status"] = 500
            raise
        finally:
            seconds = time.perf_counter() - start
            route = state["route"] or _route_of(scope, state["status"])
            if observer is not None:
                observer.observe_request(scope["method"], route, state["status"], seconds)
            if self.access_log_enabled and access_log.isEnabledFor(logging.INFO):
                self._log(scope, log_rid, route, state["status"], seconds)
            request_id_var.reset(token)

    def _limit_for(self, scope: Scope) -> tuple[int, str]:
        ctype = _header(scope, b"content-type") or b""
        if ctype.startswith(b"multipart/form-data"):
            return self.max_upload_bytes, "uploads"
        return self.max_body_bytes, "a request"

    @staticmethod
    def _log(scope: Scope, rid: str, route: str, status_code: int, seconds: float) -> None:
        query = scope.get("query_string", b"")
        client = scope.get("client")
        fields = {
            "method": scope["method"],
            "path": scope["path"],
            "route": route,
            "status": status_code,
            "ms": round(seconds * 1000, 2),
            "client": client[0] if client else None,
        }
        if query:
            fields["query"] = unquote(query.decode("latin-1"), errors="replace")
        # makeRecord + handle instead of .info(): skips logging's stack walk for the caller,
        # a large share of a log line's cost; the record factory still masks the message.
        record = access_log.makeRecord(
            access_log.name,
            logging.INFO,
            __file__,
            0,
            "%s %s",
            (scope["method"], scope["path"]),
            None,
            extra={"request_id": rid, "fields": fields},
        )
        access_log.handle(record)


# Labels for requests answered before routing: bounded, and saying why there is no template.
_UNROUTED = {429: "<rate-limited>", 413: "<too-large>"}


def _route_of(scope: Scope, status_code: int) -> str:
    """The matched route's template; one label per reason for everything else (bounded cardinality)."""
    return getattr(scope.get("route"), "path", None) or _UNROUTED.get(status_code, "<unmatched>")


def _limited(receive: Receive, limit: int, what: str) -> Receive:
    """`receive` that refuses a streamed (chunked) body once it grows past `limit` bytes."""
    total = 0

    async def wrapped() -> Message:
        nonlocal total
        message = await receive()
        if message["type"] == "http.request":
            total += len(message.get("body", b""))
            if total > limit:
                raise RequestTooLarge(limit, what)
        return message

    return wrapped


async def _send_json(send: Callable[[Message], Awaitable[None]], code: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


# -- OpenAPI -----------------------------------------------------------------------------------

# Answers any operation can give because of this module, the rate limiter or the app-wide key
# check, documented so clients (and the schema fuzzer) know to expect them.
COMMON_RESPONSES = {
    "413": "Request body over the size limit (TRIAGE_MAX_REQUEST_BYTES / TRIAGE_MAX_UPLOAD_BYTES)",
    "429": "Rate limit for this key exceeded; see the Retry-After header",
}
AUTH_RESPONSES = {
    "401": "Missing, malformed, unknown or revoked API key",
    "403": "The key's role may not call this operation",
}
NOT_FOUND = {"404": "No such resource (the path names an unknown id or version)"}
BAD_BODY = {"400": "The body could not be parsed at all (not decodable as its content type says)"}
# Answers particular routes give by design that their decorators do not declare; kept here so
# the schema is complete (a router that declares them itself makes its line here redundant).
KNOWN_RESPONSES: dict[tuple[str, str], dict[str, str]] = {
    ("post", "/admin/models/rollback"): {"409": "No earlier live version to roll back to"},
    ("post", "/admin/rollback"): {"409": "No earlier live version to roll back to"},
    ("post", "/admin/models/{version}/promote"): {"409": "The bundle cannot become live"},
    ("put", "/admin/routing"): {"422": "The routing table is invalid (the message names the entry)"},
    ("post", "/answers"): {"409": "An answer with this id exists already"},
    ("put", "/answers/{answer_id}"): {"409": "The answer changed meanwhile or conflicts with another"},
}


def _is_public(app: FastAPI, method: str, path: str) -> bool:
    from api.auth import allowed_roles

    public = getattr(app.state, "public_paths", set())
    if path in public or any(
        p.endswith("/*") and (path.startswith(p[:-1]) or path == p[:-2]) for p in public
    ):
        return True
    return allowed_roles(method.upper(), path) == ("*",)


def document_common_responses(app: FastAPI) -> None:
    """Add the answers every operation can give: 413, 429; 401/403 unless public; 404 with path ids; 400 with a body."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None and getattr(app, "_reliability_documented", False):
            return app.openapi_schema
        schema = build()
        error = {
            "content": {
                "application/json": {
                    "schema": {"type": "object", "properties": {"detail": {"type": "string"}}}
                }
            }
        }
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                extra = dict(COMMON_RESPONSES)
                if not _is_public(app, method, path):
                    extra.update(AUTH_RESPONSES)
                if "{" in path:
                    extra.update(NOT_FOUND)
                if "requestBody" in operation:
                    extra.update(BAD_BODY)
                extra.update(KNOWN_RESPONSES.get((method, path), {}))
                for code, text in extra.items():
                    operation["responses"].setdefault(code, {"description": text, **error})
        app.openapi_schema = schema
        app._reliability_documented = True  # type: ignore[attr-defined]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# -- wiring ------------------------------------------------------------------------------------


def install(app: FastAPI, settings: Settings) -> None:
    """Add logging, metrics, rate limiting, CORS and the request middleware to `app`.

    Order, outermost first: request middleware (so 429s, CORS preflights and errors get an id,
    headers, a log line and a metric), CORS (only when origins are configured), rate limiter.
    """
    from api import metrics, ratelimit

    configure_logging()
    observer = metrics.install(app)
    app.add_middleware(
        ratelimit.RateLimitMiddleware,
        rate=settings.rate_limit_per_second,
        burst=settings.rate_limit_burst,
        exempt=frozenset({"/health", "/metrics"}),
        redis_url=settings.redis_url,
    )
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER, "Retry-After"],
            allow_credentials=False,
        )
    docs = frozenset(p for p in (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url) if p)
    app.add_middleware(
        RequestMiddleware,
        max_body_bytes=settings.max_request_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        observer=observer,
        access_log_enabled=settings.access_log,
        docs_paths=docs,
    )
    document_common_responses(app)
