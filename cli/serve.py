"""`triage serve`: the API and the staff page under uvicorn."""

from __future__ import annotations

import argparse

from cli.common import settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the HTTP service")
    p.add_argument("--host", help="default: TRIAGE_HOST or 127.0.0.1")
    p.add_argument("--port", type=int, help="default: TRIAGE_PORT or 8000")
    p.add_argument("--workers", type=int, default=1)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    s = settings()
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=args.host or s.host,
        port=args.port or s.port,
        workers=args.workers,
        log_level="info",
    )
    return 0
