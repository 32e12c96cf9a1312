"""Telling the platform a case was answered: signed HTTP POSTs from the store's outbox.

The sender runs in a background thread of the server process, never on a request's path, so a
receiver that hangs costs that thread its timeout and no clerk waits for it. It claims due rows
from the store (triage.store.outbox), so deliveries written before a restart are sent after it,
and several server processes share the work without sending a row twice.

Each request carries `X-Triage-Timestamp` (Unix seconds) and `X-Triage-Signature:
sha256=<hex>`, the HMAC-SHA256 with the shared secret of `<timestamp>.<body>`: the receiver
recomputes it over the raw body it got and may refuse old timestamps, so a captured request
cannot be replayed later or altered.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from triage.store.engine import Store
from triage.store.outbox import Claimed, claim_due, record_attempt

log = logging.getLogger("triage.webhook")

SIGNATURE_HEADER = "X-Triage-Signature"
TIMESTAMP_HEADER = "X-Triage-Timestamp"
EVENT_HEADER = "X-Triage-Event"
DELIVERY_HEADER = "X-Triage-Delivery"
LEASE_MARGIN_SECONDS = 30.0


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>." + body)."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute the signature and compare in constant time."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature or "")


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    secret: str | None
    timeout: float = 5.0
    max_attempts: int = 6
    backoff: float = 30.0
    poll: float = 2.0


class WebhookSender:
    """Claims due deliveries and POSTs them; one thread per server process, woken on each close."""

    def __init__(self, store: Store, config: WebhookConfig) -> None:
        self.store = store
        self.config = config
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: httpx.Client | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="webhook-sender", daemon=True)
            self._thread.start()
            if not self.config.secret:
                log.warning("TRIAGE_WEBHOOK_SECRET is not set: webhook deliveries are sent unsigned")

    def stop(self, wait: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(wait)
        if self._client is not None:
            self._client.close()
            self._client = None

    def wake(self) -> None:
        """Look for due deliveries now (a case was just closed) instead of at the next poll."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                while not self._stop.is_set() and self.send_due():
                    pass
            except Exception:  # the database may be down: try again at the next poll
                log.exception("webhook sender: could not read the outbox")
            self._wake.wait(self.config.poll)
            self._wake.clear()

    # -- sending ----------------------------------------------------------------------------------

    def send_due(self) -> bool:
        """Claim and send one due delivery; False when none is due."""
        lease = self.config.timeout + LEASE_MARGIN_SECONDS
        with self.store.session(write=True) as s:
            claimed = claim_due(s, lease_seconds=lease, limit=1)
        if not claimed:
            return False
        self._attempt(claimed[0])
        return True

    def _attempt(self, delivery: Claimed) -> None:
        body = encode(delivery.payload)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            TIMESTAMP_HEADER: timestamp,
            EVENT_HEADER: delivery.event,
            DELIVERY_HEADER: str(delivery.id),
        }
        if self.config.secret:
            headers[SIGNATURE_HEADER] = sign(self.config.secret, timestamp, body)
        started = time.monotonic()
        status_code, error = None, None
        if self._client is None:  # kept open between deliveries: one connection to the receiver
            self._client = httpx.Client(timeout=self.config.timeout, follow_redirects=False)
        try:
            response = self._client.post(self.config.url, content=body, headers=headers)
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}: {response.text[:200]}"
        except httpx.TimeoutException:
            error = f"timed out after {self.config.timeout:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        seconds = time.monotonic() - started
        with self.store.session(write=True) as s:
            row = record_attempt(
                s,
                delivery.id,
                ok=error is None,
                status_code=status_code,
                error=error,
                seconds=seconds,
                max_attempts=self.config.max_attempts,
                backoff_base=self.config.backoff,
            )
            outcome, attempts = row.status, row.attempts
        log.info(
            "webhook delivery %s (%s, case %s) attempt %s: %s in %.0f ms%s",
            delivery.id,
            delivery.event,
            delivery.payload.get("external_id"),
            attempts,
            "ok" if error is None else error,
            seconds * 1000,
            "" if outcome == "pending" else f"; {outcome}",
        )
