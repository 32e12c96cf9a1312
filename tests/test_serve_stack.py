"""`triage serve` runs uvicorn on uvloop and httptools when they are installed (pinned)."""

from __future__ import annotations

from importlib.util import find_spec

import pytest

from cli.serve import http_stack


def test_auto_picks_the_c_event_loop_and_parser_when_installed():
    if not (find_spec("uvloop") and find_spec("httptools")):
        pytest.skip("uvloop/httptools are not installed here (pyproject.toml pins them)")
    assert http_stack() == ("uvloop", "httptools")


def test_an_explicit_choice_is_kept():
    assert http_stack("asyncio", "h11") == ("asyncio", "h11")


async def _app(scope, receive, send) -> None:  # an ASGI app with no side effects to load
    return None


def test_uvicorn_accepts_the_chosen_stack():
    import uvicorn

    loop, http = http_stack()
    config = uvicorn.Config(_app, loop=loop, http=http)
    config.load()  # imports the loop setup and the protocol class: fails on an unknown name
    assert config.http_protocol_class is not None
