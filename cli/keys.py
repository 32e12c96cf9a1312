"""`triage keys create --role ROLE | list | revoke PREFIX`: API keys for the platform, staff, admins.

`create` prints the new key alone on the last line so a script can take it with `tail -n 1`;
the key is shown this once - only its hash is stored.
"""

from __future__ import annotations

import argparse
import sys

from cli.common import settings
from triage.settings import store_description
from triage.store.engine import Store, StoreUnavailable
from triage.store.keys import KeyManagementError, create_key, list_keys, revoke_key
from triage.store.models import ROLES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("keys", help="create, list or revoke API keys")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a key; prints it alone on the last line")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--name", help="who or what uses it (default: role and prefix)")
    create.set_defaults(func=run_create)
    actions.add_parser("list", help="keys by prefix, name and role (never the keys)").set_defaults(
        func=run_list
    )
    revoke = actions.add_parser("revoke", help="stop a key from working")
    revoke.add_argument("prefix", help="the part between tk_ and the second underscore")
    revoke.set_defaults(func=run_revoke)


def open_store() -> Store:
    """The case store of the settings, migrated; its location is printed to stderr."""
    from cli import CommandError

    url = settings().database_url
    # Said on every use: a store other than the server's (another folder, another URL) would
    # otherwise only show as keys the server rejects.
    print(f"store: {store_description(url)}", file=sys.stderr)
    store = Store(url)
    try:
        store.ensure_schema()
    except StoreUnavailable as exc:
        raise CommandError(str(exc)) from None
    return store


def run_create(args: argparse.Namespace) -> int:
    store = open_store()
    with store.session(write=True) as s:
        key, row = create_key(s, args.role, args.name)
        prefix, name = row.prefix, row.name
    store.dispose()
    print(f"created {args.role} key {name!r} (prefix {prefix}); it is shown only now:")
    print(key)
    return 0


def run_list(args: argparse.Namespace) -> int:
    store = open_store()
    with store.session() as s:
        rows = list_keys(s)
        print(f"{'prefix':14} {'role':9} {'created_at':20} {'revoked':8} name")
        for r in rows:
            print(
                f"{r.prefix:14} {r.role:9} {r.created_at.isoformat(sep=' '):20} {'yes' if r.revoked_at else '':8} {r.name}"
            )
    store.dispose()
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    from cli import CommandError

    store = open_store()
    try:
        with store.session(write=True) as s:
            row = revoke_key(s, args.prefix)
            print(f"revoked {row.role} key {row.name!r} (prefix {row.prefix})")
    except KeyManagementError as exc:
        raise CommandError(str(exc)) from None
    finally:
        store.dispose()
    return 0


def ensure_first_key() -> None:
    """On a fresh store, create a staff key and print it so a new user can sign in to the page."""
    store = open_store()
    try:
        from triage.store.keys import count_active

        with store.session(write=True) as s:
            if count_active(s, ("staff", "admin")):
                print("API keys exist (triage keys list); a new one: triage keys create --role staff")
                return
            key, _ = create_key(s, "staff", "first staff key")
    finally:
        store.dispose()
    bar = "=" * 72
    print(
        f"{bar}\nA staff API key was created. Sign in at http://127.0.0.1:8000 with it, or send it as\n"
        f"'Authorization: Bearer <key>'. It is shown only now - keep it:\n\n    {key}\n\n"
        f"More keys: triage keys create --role platform|staff|admin\n{bar}"
    )
