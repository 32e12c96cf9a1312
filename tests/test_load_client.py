"""benchmarks/load.py's raw HTTP client against a real socket server: what it sends, how it
counts answers, and that a response it cannot frame is an error, not a success."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest

from benchmarks.load import _run


async def _serve(reply: bytes | None, seen: list[dict]) -> asyncio.AbstractServer:
    """A keep-alive HTTP/1.1 server on a free port: records each request, answers `reply`
    (a 201 with a JSON body when None) and, for a reply without Content-Length, closes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)}
                body = await reader.readexactly(int(headers["content-length"]))
                seen.append({"line": lines[0], "headers": headers, "body": json.loads(body)})
                if reply is None:
                    out = json.dumps({"ok": len(seen)}).encode()
                    writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: %d\r\n\r\n%s" % (len(out), out))
                else:
                    writer.write(reply)
                await writer.drain()
                if reply is not None and b"Content-Length" not in reply:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def _load(reply: bytes | None, payloads: list[dict], unique: str | None = None, client: str = "raw"):
    seen: list[dict] = []

    async def main() -> dict:
        server = await _serve(reply, seen)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await _run(
                f"http://127.0.0.1:{port}/classify",
                payloads,
                rate=200,
                seconds=0.2,
                headers={"Authorization": "Bearer k"},
                unique=unique,
                client=client,
            )

    return asyncio.run(main()), seen


@pytest.mark.parametrize("client", ["raw", "httpx"])
def test_every_request_is_sent_and_every_answer_counted(client):
    payloads = [{"title": "路灯", "body": "小区路灯不亮"}, {"body": "噪音扰民"}]
    result, seen = _load(None, payloads, client=client)
    assert result["requests"] == 40 == len(seen)
    assert result["statuses"] == {201: 40} and result["errors"] == 0
    assert all(s["line"] == "POST /classify HTTP/1.1" for s in seen)
    assert all(s["headers"]["authorization"] == "Bearer k" for s in seen)
    # the payloads in turn, each as often: requests overlap on several connections, so the
    # server may record them out of order (the first four once arrived as 1, 2, 2, 1)
    sent = Counter(json.dumps(s["body"], ensure_ascii=False) for s in seen)
    assert sent == {json.dumps(p, ensure_ascii=False): 20 for p in payloads}


def test_a_unique_field_makes_every_body_new():
    result, seen = _load(None, [{"external_id": "x", "body": "路灯不亮"}], unique="external_id")
    ids = [s["body"]["external_id"] for s in seen]
    assert result["errors"] == 0 and len(set(ids)) == len(ids) == 40
    assert all(i.startswith("x-") for i in ids)


def test_error_statuses_count_as_errors():
    reply = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\n\r\n{}"
    result, _ = _load(reply, [{"body": "路灯不亮"}])
    assert result["statuses"] == {503: 40} and result["errors"] == 40


def test_a_response_without_content_length_is_an_error():
    result, seen = _load(b"HTTP/1.1 200 OK\r\n\r\n{}", [{"body": "路灯不亮"}])
    assert len(seen) == 40 and result["errors"] == 40 and result["statuses"] == {}


def test_the_knee_is_the_last_step_of_an_unbroken_run_within_the_limit():
    """A step that passes above one that failed is not a rate the service holds "up to"."""
    from benchmarks.load_knee import knee

    def step(rate: float, p99: float, errors: int = 0) -> dict:
        return {"offered_rate": rate, "p99": p99, "errors": errors}

    steps = [step(100, 5), step(200, 8), step(300, 40), step(400, 9)]
    assert knee(steps, 25.0)["offered_rate"] == 200
    assert knee(steps, 100.0)["offered_rate"] == 400
    assert knee([step(100, 5), step(200, 5, errors=1), step(300, 5)], 25.0)["offered_rate"] == 100
    assert knee([step(100, 30)], 25.0) is None
