"""`triage retrain --from-store`: what `POST /admin/retrain` does, in the foreground.

Trains on the case store's final routings (plus an optional labelled CSV), compares the new
model with the live one on the same held-out split and prints the comparison as JSON. The new
bundle becomes live only with `--promote`.
"""

from __future__ import annotations

import argparse
import sys

from cli.common import print_json, registry, table_in_force
from cli.keys import open_store
from training.balance import DEFAULT_MERGE_LABEL
from training.from_store import retrain_from_store
from triage.store.repository import record_event


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "retrain", help="retrain from the case store's final routings and compare with the live model"
    )
    p.add_argument(
        "--from-store", action="store_true", required=True, help="use the case store (TRIAGE_DATABASE_URL)"
    )
    p.add_argument("--data", help="optional labelled CSV added to the store's cases")
    p.add_argument("--text-col", default="title,body", help="text column(s) of --data")
    p.add_argument("--label-col", default="department", help="label column of --data")
    p.add_argument("--test-size", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--only-data",
        action="store_true",
        help="train on --data alone, not merged with the store's cases (returns still count as hard negatives)",
    )
    p.add_argument(
        "--min-examples", type=int, metavar="N", help="drop or merge (--rare) labels with fewer rows"
    )
    p.add_argument("--rare", choices=["drop", "merge"], default="drop")
    p.add_argument("--merge-into", default=DEFAULT_MERGE_LABEL, metavar="LABEL")
    p.add_argument("--promote", action="store_true", help="make the new bundle live")
    p.add_argument(
        "--force",
        action="store_true",
        help="with --promote: make it live even if the routing table does not route all its labels",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cli import CommandError

    if args.only_data and not args.data:
        raise CommandError("--only-data needs --data FILE: the labelled CSV to train on")
    if args.min_examples is not None and args.min_examples < 1:
        raise CommandError("--min-examples must be at least 1")
    store = open_store()

    def progress(fraction: float, message: str) -> None:
        print(f"[{fraction:4.0%}] {message}", file=sys.stderr)

    try:
        result = retrain_from_store(
            store,
            registry(),
            csv_path=args.data,
            text_cols=args.text_col,
            label_col=args.label_col,
            test_size=args.test_size,
            seed=args.seed,
            promote=args.promote,
            progress=progress,
            only_csv=args.only_data,
            routing_table=table_in_force(),
            force=args.force,
            min_examples=args.min_examples,
            rare=args.rare,
            merge_into=args.merge_into,
        )
        with store.session(write=True) as s:
            record_event(
                s,
                "model_trained",
                "cli",
                {"version": result["version"], "promoted": result["promoted"]},
                result["version"],
            )
    finally:
        store.dispose()
    print_json(result)
    if result.get("promotion_refused"):
        print(f"error: {result['promotion_refused']}", file=sys.stderr)
        return 2
    return 0
