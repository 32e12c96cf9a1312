"""The `triage` command: one entry point for every job an admin or a script runs.

Each command group lives in its own module with a `register(subparsers)` function, so adding a
surface means adding a module and one line in `COMMANDS`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from cli import (
    bootstrap,
    check,
    classify,
    drafting,
    duplicates,
    keys,
    models,
    retrain,
    route,
    serve,
    topics,
    train,
    worker,
)
from triage.csvio import DataError

COMMANDS = [
    bootstrap,
    train,
    models,
    classify,
    serve,
    keys,
    retrain,
    route,
    drafting,
    topics,
    duplicates,
    check,
    worker,
]


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="triage", description="Route petitions, draft replies, check reply quality, train models."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
