"""`triage serve`: the API and the staff page under uvicorn."""

from __future__ import annotations

import argparse
import errno
import socket
import subprocess
import sys

from cli.common import settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the HTTP service")
    p.add_argument("--host", help="default: TRIAGE_HOST or 127.0.0.1")
    p.add_argument("--port", type=int, help="default: TRIAGE_PORT or 8000")
    p.add_argument("--workers", type=int, default=1, help="processes sharing the port (one per core)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.add_argument(
        "--worker",
        action="store_true",
        help="also run one `triage worker` process (jobs such as retraining) until the server stops",
    )
    p.add_argument(
        "--loop", default="auto", choices=["auto", "uvloop", "asyncio"], help="default: uvloop when installed"
    )
    p.add_argument(
        "--http",
        default="auto",
        choices=["auto", "httptools", "h11"],
        help="default: httptools when installed",
    )
    p.set_defaults(func=run)


def http_stack(loop: str = "auto", http: str = "auto") -> tuple[str, str]:
    """The event loop and HTTP parser uvicorn runs: uvloop and httptools (C) when installed.

    With asyncio's loop and the pure-Python h11 parser, a keep-alive POST /classify cost 0.2 to
    1.2 ms more server CPU (of 5-6 ms, on a busy 2-core machine) than with uvloop + httptools. Named
    explicitly rather than left to uvicorn's "auto" so a missing wheel is visible in `--help`
    and the choice can be forced for comparisons.
    """
    from importlib.util import find_spec

    if loop == "auto":
        loop = "uvloop" if find_spec("uvloop") else "asyncio"
    if http == "auto":
        http = "httptools" if find_spec("httptools") else "h11"
    return loop, http


def tcp_listener(host: str, port: int) -> socket.socket:
    """The shared listening socket for several workers, created with protocol TCP.

    uvicorn's own socket for `--workers` has protocol 0, so asyncio does not set TCP_NODELAY on
    the connections the workers accept, and every keep-alive response then waits ~40 ms for
    Nagle's algorithm (measured: 0.9 ms → 44 ms per request). Naming the protocol fixes it.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def port_problem(host: str, port: int, exc: OSError) -> str:
    """What to tell an admin whose listening socket could not be opened, naming how to fix it."""
    where = f"{host}:{port}"
    fix = "start it on another port with --port N or TRIAGE_PORT=N"
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} is already in use on {host} (another triage serve, or another program); {fix}"
    if exc.errno == errno.EACCES:
        return f"not allowed to listen on {where} (ports below 1024 need root); {fix}"
    if exc.errno == errno.EADDRNOTAVAIL:
        return (
            f"cannot listen on {where}: {host} is not an address of this machine; set --host or TRIAGE_HOST"
        )
    return f"cannot listen on {where}: {exc.strerror or exc}; {fix}"


def open_listener(host: str, port: int) -> socket.socket:
    """The listening socket, or a CommandError saying why not (a busy port, a foreign address).

    Bound here rather than inside uvicorn, whose failure is a bare ``[Errno 98]`` log line.
    """
    from cli import CommandError

    try:
        return tcp_listener(host, port)
    except OSError as exc:
        raise CommandError(port_problem(host, port, exc)) from None


def run(args: argparse.Namespace) -> int:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    s = settings()
    loop, http = http_stack(args.loop, args.http)
    config = uvicorn.Config(
        "api.app:create_app",
        factory=True,
        host=args.host or s.host,
        port=args.port or s.port,
        workers=args.workers,
        log_level=args.log_level,
        loop=loop,
        http=http,
        access_log=False,  # the app writes its own access log: JSON, with request ids, PII masked
    )
    listener = open_listener(config.host, config.port)
    job_worker = subprocess.Popen([sys.executable, "-m", "cli", "worker"]) if args.worker else None
    try:
        if args.workers > 1:
            from cli.worker_state import shared_worker_state

            with shared_worker_state(args.workers):  # summed metrics, one rate limit per key
                Multiprocess(config, sockets=[listener]).run()
        else:
            uvicorn.Server(config).run(sockets=[listener])
    finally:
        if job_worker is not None:
            job_worker.terminate()
            try:
                job_worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                job_worker.kill()
    return 0
