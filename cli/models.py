"""`triage models list | promote VERSION | rollback`."""

from __future__ import annotations

import argparse
import getpass
import sys

from cli.common import print_json, registry, table_in_force
from training.bundles import BundleError
from training.promotion import promote_checked


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list, promote or roll back model bundles")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="bundles on disk, newest first").set_defaults(func=run_list)
    promote = actions.add_parser("promote", help="make a bundle live")
    promote.add_argument("version")
    promote.add_argument(
        "--force",
        action="store_true",
        help="make it live even if the routing table does not route all its labels (/health is then degraded)",
    )
    promote.set_defaults(func=run_promote)
    actions.add_parser("rollback", help="return to the previous live bundle").set_defaults(func=run_rollback)


def run_list(args: argparse.Namespace) -> int:
    reg = registry()
    rows = reg.list()
    if not rows:
        print(f"no model bundles in {reg.root}")
        return 0
    print(f"{'':2}{'version':36} {'created_at':26} {'macro_f1':>8} {'n':>7}  labels")
    for b in reversed(rows):
        m = b.metadata
        print(
            f"{'*' if b.live else ' ':2}{b.version:36} {m.get('created_at', ''):26} "
            f"{m.get('macro_f1', 0):8.4f} {m.get('counts', {}).get('total', 0):7d}  {len(m.get('labels', []))}"
        )
    return 0


def cli_actor() -> str:
    """Who made a model live from the command line, for the registry's record."""
    return f"cli:{getpass.getuser()}"


def _pointer_change(action, *args) -> int:
    from cli import CommandError

    try:
        version = action(*args)
    except BundleError as exc:
        raise CommandError(str(exc)) from None
    print_json({"live": version})
    return 0


def promote_or_refuse(version: str, force: bool) -> dict:
    """Promote through the routing-table check; a refusal becomes the command's one-line error."""
    from cli import CommandError

    try:
        result = promote_checked(registry(), version, table_in_force(), force=force, actor=cli_actor())
    except BundleError as exc:
        raise CommandError(str(exc)) from None
    if result["forced"]:
        print(
            f"warning: {version} is live although the routing table does not route "
            f"{', '.join(result['unrouted_labels'])}; its cases get no department and /health "
            "reports degraded until the table routes them",
            file=sys.stderr,
        )
    return result


def run_promote(args: argparse.Namespace) -> int:
    result = promote_or_refuse(args.version, args.force)
    print_json({"live": result["live"]})
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    return _pointer_change(registry().rollback, cli_actor())
