"""`triage train` and `triage evaluate`."""

from __future__ import annotations

import argparse

from cli.common import print_json, registry
from training.data import load_labelled_csv
from training.evaluate import evaluate
from training.train import train_bundle
from triage.classifier import PetitionClassifier


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model bundle from a labelled CSV")
    p.add_argument("--data", required=True, help="labelled CSV (UTF-8, UTF-8 with BOM or GB18030)")
    p.add_argument("--text-col", default="title,body", help="text column(s), comma-separated")
    p.add_argument("--label-col", default="label", help="the column to learn (category, department …)")
    p.add_argument("--test-size", type=float, default=0.2, help="share held out for evaluation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--promote", action="store_true", help="make the new bundle live")
    p.set_defaults(func=run_train)

    e = sub.add_parser("evaluate", help="evaluate a model bundle on a labelled CSV")
    e.add_argument("--data", required=True)
    e.add_argument("--text-col", default="title,body")
    e.add_argument("--label-col", default="label")
    e.add_argument("--version", help="bundle to evaluate (default: the live one)")
    e.set_defaults(func=run_evaluate)


def run_train(args: argparse.Namespace) -> int:
    data = load_labelled_csv(args.data, args.text_col, args.label_col)
    bundle = train_bundle(
        data,
        registry(),
        label_col=args.label_col,
        text_cols=args.text_col.split(","),
        test_size=args.test_size,
        seed=args.seed,
        promote=args.promote,
    )
    meta = bundle.metadata
    print_json(
        {
            "version": bundle.version,
            "promoted": args.promote,
            "labels": meta["labels"],
            "counts": meta["counts"],
            "macro_f1": meta["macro_f1"],
            "accuracy": meta["accuracy"],
            "abstain": meta["abstain"]["test"],
            "fit_seconds": meta["fit_seconds"],
        }
    )
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from cli import CommandError
    from training.bundles import UnknownVersion

    reg = registry()
    version = args.version or reg.live_version()
    if version is None:
        raise CommandError("no model is live; pass --version or promote one")
    try:
        model = PetitionClassifier.load(reg.model_path(version))
    except UnknownVersion as exc:
        raise CommandError(str(exc)) from None
    data = load_labelled_csv(args.data, args.text_col, args.label_col)
    print_json({"version": version, **evaluate(model, data.texts, data.labels)})
    return 0
