"""The close webhook against a real HTTP receiver on 127.0.0.1 that checks the signature.

SQLite and PostgreSQL: the outbox row commits with the close, the sender thread delivers it,
a receiver that hangs past the timeout is retried without slowing the clerk's reply, a failing
one ends `failed` and can be retried by an admin, deliveries survive a restart, and two senders
never send the same row.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.platform_schemas import CaseClosedEvent
from tests.conftest import auth
from triage.store.models import WebhookDelivery
from triage.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookConfig, WebhookSender, verify

SECRET = "s3cret-shared-with-the-platform"
PETITION = {"title": "公司拖欠工资", "body": "我们公司拖欠农民工工资三个月了，老板不接电话"}
GOOD = (
    "网友您好：您反映的公司拖欠工资问题已收悉。经核实，该公司拖欠12名员工3个月工资共计15万元。1月9日，"
    "市人社局劳动保障监察支队依据《保障农民工工资支付条例》第三十条向该公司下达限期整改指令书，要求其于1月20日前"
    "足额支付。如逾期未付，将依法处罚。联系电话0571-86523017。人社局 2025年1月10日"
)


class Receiver:
    """A webhook receiver: verifies each request's signature, records it, answers as told."""

    def __init__(
        self, *, sleep_first: float = 0.0, status: int = 200, hold_first: threading.Event | None = None
    ) -> None:
        self.received: list[dict] = []
        self.sleep_first, self.status, self.hold_first = sleep_first, status, hold_first
        self.calls = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with outer.lock:
                    outer.calls += 1
                    first = outer.calls == 1
                if first and outer.sleep_first:
                    time.sleep(outer.sleep_first)
                if first and outer.hold_first is not None:
                    outer.hold_first.wait(60)
                ok = verify(SECRET, self.headers[TIMESTAMP_HEADER], body, self.headers[SIGNATURE_HEADER])
                with outer.lock:
                    outer.received.append(
                        {"valid": ok, "headers": dict(self.headers), "payload": json.loads(body)}
                    )
                code = outer.status if ok else 401
                try:
                    self.send_response(code)
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:  # the sender gave up waiting and closed the connection
                    pass

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


def hooked(db_settings, url: str, **extra):
    return db_settings.model_copy(
        update={
            "webhook_url": url,
            "webhook_secret": SECRET,
            "webhook_timeout_seconds": 0.5,
            "webhook_backoff_seconds": 0.2,
            "webhook_poll_seconds": 0.1,
            **extra,
        }
    )


def open_client(settings) -> TestClient:
    app = create_app(settings)
    client = TestClient(app)
    client.headers.update(auth(app, "admin"))
    return client


def submit_and_close(c, external_id="W-1") -> int:
    """The id of a case submitted and closed with a sent reply."""
    r = c.post("/cases", json={"external_id": external_id, **PETITION})
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]
    sent = c.post(f"/cases/{case_id}/reply", json={"text": GOOD, "send": True, "confirm_reason": "已核实"})
    assert sent.status_code == 200 and sent.json()["sent"], sent.text
    return case_id


def wait_for(condition, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def deliveries(c, **params) -> dict:
    r = c.get("/admin/webhooks", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def shutdown(c: TestClient) -> None:
    c.app.state.store.dispose()


def test_a_close_is_delivered_signed_with_the_reply(db_settings, receivers):
    receiver = receivers()
    with open_client(hooked(db_settings, receiver.url)) as c:
        case_id = submit_and_close(c)
        wait_for(lambda: receiver.received)
        got = receiver.received[0]
        assert got["valid"], "the signature verifies with the shared secret"
        assert got["headers"]["X-Triage-Event"] == "case.closed"
        payload = got["payload"]
        assert payload["event"] == "case.closed" and payload["external_id"] == "W-1"
        assert payload["status"] == "closed" and payload["id"] == case_id
        assert payload["department"] == c.get(f"/cases/{case_id}").json()["department"]
        assert payload["reply"]["text"] == GOOD and payload["reply"]["replied_at"]
        CaseClosedEvent.model_validate(payload)  # the body is what the OpenAPI's webhook documents
        listed = wait_for(lambda: deliveries(c, status="delivered")["items"])
        assert listed[0]["external_id"] == "W-1" and listed[0]["attempts"] == 1
        assert listed[0]["log"][0]["status_code"] == 200 and listed[0]["log"][0]["error"] is None
        view = deliveries(c)
        assert view["configured"] and view["signed"] and view["target"].startswith("http://127.0.0.1:")
    shutdown(c)


def test_the_reply_does_not_wait_for_the_receiver(db_settings, receivers):
    """The receiver holds the first delivery until the test lets go and the timeout is long: had
    the reply request waited for the webhook, it could only have returned after that attempt
    ended, and the attempt would be in the log when the clerk's answer arrives."""
    release = threading.Event()
    receiver = receivers(hold_first=release)
    with open_client(hooked(db_settings, receiver.url, webhook_timeout_seconds=30)) as c:
        submit_and_close(c)
        rows = deliveries(c)["items"]
        assert len(rows) == 1 and rows[0]["status"] == "pending" and rows[0]["log"] == []
        assert receiver.received == []
        release.set()
        row = wait_for(lambda: deliveries(c, status="delivered")["items"])[0]
        assert row["attempts"] == 1 and receiver.received[0]["valid"]
    shutdown(c)


def test_a_receiver_past_the_timeout_is_retried(db_settings, receivers):
    receiver = receivers(sleep_first=2.0)
    with open_client(hooked(db_settings, receiver.url)) as c:
        submit_and_close(c)
        row = wait_for(lambda: deliveries(c, status="delivered")["items"])[0]
        assert row["attempts"] == 2
        assert "timed out" in row["log"][0]["error"] and row["log"][1]["status_code"] == 200
        assert wait_for(lambda: [r for r in receiver.received if r["valid"]])
    shutdown(c)


def test_a_failing_receiver_ends_failed_and_an_admin_can_retry(db_settings, receivers):
    receiver = receivers(status=500)
    with open_client(hooked(db_settings, receiver.url, webhook_max_attempts=3)) as c:
        submit_and_close(c)
        row = wait_for(lambda: deliveries(c, status="failed")["items"])[0]
        assert row["attempts"] == 3 and len(row["log"]) == 3
        assert row["last_error"].startswith("HTTP 500")
        assert receiver.calls == 3
        assert c.post(f"/admin/webhooks/{row['id'] + 999}/retry").status_code == 404
        receiver.status = 200
        again = c.post(f"/admin/webhooks/{row['id']}/retry")
        assert again.status_code == 200 and again.json()["status"] in ("pending", "delivered")
        wait_for(lambda: deliveries(c, status="delivered")["items"])
        refused = c.post(f"/admin/webhooks/{row['id']}/retry")
        assert refused.status_code == 409 and "only a failed one" in refused.json()["detail"]
    assert c.get("/admin/webhooks", params={"status": "lost"}).status_code == 422
    shutdown(c)


def test_a_pending_delivery_is_sent_after_a_restart(db_settings, receivers):
    receiver = receivers()
    first = open_client(hooked(db_settings, receiver.url))  # never started: the sender thread never ran
    submit_and_close(first)
    assert receiver.received == []
    with first.app.state.store.session() as s:
        assert [r.status for r in s.scalars(select(WebhookDelivery))] == ["pending"]
    shutdown(first)
    with open_client(hooked(db_settings, receiver.url)) as second:
        wait_for(lambda: receiver.received)
        assert receiver.received[0]["payload"]["external_id"] == "W-1"
    shutdown(second)


def test_no_webhook_url_writes_no_delivery(db_client):
    submit_and_close(db_client)
    view = deliveries(db_client)
    assert view["total"] == 0 and view["configured"] is False and view["target"] is None


def test_two_senders_never_send_the_same_delivery(db_settings, receivers):
    receiver = receivers()
    c = open_client(hooked(db_settings, receiver.url))  # not started: the test drives two senders
    for i in range(8):
        submit_and_close(c, external_id=f"W-{i}")
    config = WebhookConfig(url=receiver.url, secret=SECRET, timeout=2.0)
    senders = [WebhookSender(c.app.state.store, config) for _ in range(2)]

    def drain(sender) -> None:
        while sender.send_due():
            pass

    threads = [threading.Thread(target=drain, args=(s,)) for s in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for s in senders:
        s.stop()
    ids = [r["headers"]["X-Triage-Delivery"] for r in receiver.received]
    assert len(ids) == 8 and len(set(ids)) == 8, ids
    assert all(r["valid"] for r in receiver.received)
    shutdown(c)


def test_one_reply_to_a_case_with_a_merged_repeat_notifies_both_petitions(db_settings, receivers):
    """并单: each petition keeps its own external id, so its platform hears back for each."""
    receiver = receivers()
    with open_client(hooked(db_settings, receiver.url)) as c:
        main = c.post("/cases", json={"external_id": "W-MAIN", **PETITION}).json()["id"]
        repeat = c.post(
            "/cases",
            json={"external_id": "W-AGAIN", "title": "再次反映", "body": PETITION["body"] + "再次反映！"},
        ).json()["id"]
        assert c.post(f"/cases/{repeat}/merge", json={"into": main}).status_code == 200
        sent = c.post(f"/cases/{main}/reply", json={"text": GOOD, "send": True, "confirm_reason": "已核实"})
        assert sent.status_code == 200 and sent.json()["sent"], sent.text
        wait_for(lambda: len(receiver.received) >= 2)
        got = {r["payload"]["external_id"]: r["payload"] for r in receiver.received}
        assert set(got) == {"W-MAIN", "W-AGAIN"} and all(r["valid"] for r in receiver.received)
        assert got["W-AGAIN"]["reply"]["text"] == GOOD and got["W-AGAIN"]["status"] == "closed"
    shutdown(c)
