"""`triage retrain --from-store`: what `POST /admin/retrain` does, in the foreground.

Trains on the case store's final routings (plus an optional labelled CSV), compares the new
model with the live one on the same held-out split and prints the comparison as JSON. The new
bundle becomes live only with `--promote`.
"""

from __future__ import annotations

import argparse
import sys

from cli.common import print_json, registry
from cli.keys import open_store
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
    p.add_argument("--promote", action="store_true", help="make the new bundle live")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
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
        )
        with store.session(write=True) as s:
            record_event(
                s,
                "model_trained",
                "cli",
                {"version": result["version"], "promoted": args.promote},
                result["version"],
            )
    finally:
        store.dispose()
    print_json(result)
    return 0
