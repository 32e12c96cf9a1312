"""The `triage` command: one entry point for every job an admin or a script runs.

Each command group lives in its own module with a `register(subparsers)` function, so adding a
surface means adding a module and its commands in `COMMANDS`. A run imports only the module of
the command it runs (`triage --help` imports them all): the groups' imports (the store, training,
the web stack) cost more than a second, which a `triage classify` of a backlog should not pay.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from triage.csvio import DataError

# command -> the module (under cli/) that registers it, in the order `triage --help` lists them
COMMANDS = {
    "bootstrap": "bootstrap",
    "train": "train",
    "evaluate": "train",
    "models": "models",
    "classify": "classify",
    "serve": "serve",
    "keys": "keys",
    "retrain": "retrain",
    "route": "route",
    "index": "drafting",
    "answers": "drafting",
    "draft": "drafting",
    "topics": "topics",
    "duplicates": "duplicates",
    "check": "check",
    "worker": "worker",
}


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit status 2."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser for `command` alone when it is known, else for every command."""
    parser = argparse.ArgumentParser(
        prog="triage", description="Route petitions, draft replies, check reply quality, train models."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for name in modules:
        importlib.import_module(f"cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    if args.command != "serve":  # the service logs JSON lines of its own (api.middleware)
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = args.func(args)
    except (DataError, CommandError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(result or 0)
