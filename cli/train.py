"""`triage train` and `triage evaluate`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.common import live_routing, print_json, registry, settings
from cli.models import promote_or_refuse
from training.balance import DEFAULT_MERGE_LABEL, handle_rare, imbalance_warning
from training.data import load_labelled_csv
from training.deployment_keywords import KeywordGroups, from_file, from_table
from training.evaluate import evaluate
from training.overlap import seen_in_training
from training.train import train_bundle
from triage.classifier import PetitionClassifier
from triage.routing.table import RoutingTable


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model bundle from a labelled CSV")
    p.add_argument("--data", required=True, help="labelled CSV (UTF-8, UTF-8 with BOM or GB18030)")
    p.add_argument("--text-col", default="title,body", help="text column(s), comma-separated")
    p.add_argument("--label-col", default="label", help="the column to learn (category, department …)")
    p.add_argument("--test-size", type=float, default=0.2, help="share held out for evaluation")
    p.add_argument(
        "--no-refit",
        action="store_true",
        help="serve the evaluation fit (the held-out rows never seen) instead of refitting on every row",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--min-examples",
        type=int,
        metavar="N",
        help="labels with fewer than N rows are dropped or merged (--rare) instead of refused",
    )
    p.add_argument(
        "--rare",
        choices=["drop", "merge"],
        default="drop",
        help="with --min-examples: drop those rows, or relabel them --merge-into (default: drop)",
    )
    p.add_argument(
        "--merge-into",
        default=DEFAULT_MERGE_LABEL,
        metavar="LABEL",
        help=f"the label rare labels are merged into (default: {DEFAULT_MERGE_LABEL})",
    )
    p.add_argument(
        "--keywords",
        metavar="FILE",
        help="CSV of keyword groups for this training: first column a label (or the department leading it), "
        "the other columns its terms or responsibilities text (e.g. a 3-level taxonomy); added to the "
        "routing table's department keywords and responsibilities",
    )
    p.add_argument(
        "--no-keywords",
        action="store_true",
        help="learn without keyword features (neither the routing table's nor --keywords)",
    )
    p.add_argument(
        "--embeddings",
        action="store_true",
        help="add the sentence vectors of the encoder TRIAGE_EMBEDDING_MODEL names (a local "
        "sentence-transformers directory) as features; every host serving the model needs that directory",
    )
    p.add_argument("--promote", action="store_true", help="make the new bundle live")
    p.add_argument(
        "--force",
        action="store_true",
        help="with --promote: make it live even if the routing table does not route all its labels",
    )
    p.add_argument(
        "--write-routing-stub",
        metavar="FILE",
        help="write a label_sets: YAML fragment for the labels the routing table does not route yet",
    )
    p.set_defaults(func=run_train)

    e = sub.add_parser("evaluate", help="evaluate a model bundle on a labelled CSV")
    e.add_argument("--data", required=True)
    e.add_argument("--text-col", default="title,body")
    e.add_argument("--label-col", default="label")
    e.add_argument("--version", help="bundle to evaluate (default: the live one)")
    e.set_defaults(func=run_evaluate)


def run_train(args: argparse.Namespace) -> int:
    from cli import CommandError

    if args.no_keywords and args.keywords:
        raise CommandError("--keywords and --no-keywords contradict each other; pass one")
    params = embedding_params() if args.embeddings else None  # a wrong path refused before any work
    data = load_labelled_csv(args.data, args.text_col, args.label_col)
    rare = None
    if args.min_examples is not None:
        if args.min_examples < 1:
            raise CommandError("--min-examples must be at least 1")
        data, report = handle_rare(data, args.min_examples, args.rare, args.merge_into)
        print(report.message(), file=sys.stderr)
        rare = report.to_dict()
    if warning := imbalance_warning(data.labels):
        print(f"warning: {warning}", file=sys.stderr)
    keywords = (
        KeywordGroups() if args.no_keywords else deployment_keywords(sorted(set(data.labels)), args.keywords)
    )
    bundle = train_bundle(
        data,
        registry(),
        label_col=args.label_col,
        text_cols=args.text_col.split(","),
        test_size=args.test_size,
        seed=args.seed,
        rare=rare,
        refit=not args.no_refit,
        keywords=keywords,
        params=params,
    )
    meta = bundle.metadata
    if args.write_routing_stub:
        write_stub(args.write_routing_stub, meta["labels"], args.label_col)
    if args.promote:  # after the stub: a refused promotion still leaves the admin the entries to fill
        promote_or_refuse(bundle.version, args.force)
    print_json(
        {
            "version": bundle.version,
            "promoted": args.promote,
            "labels": meta["labels"],
            "counts": meta["counts"],
            "macro_f1": meta["macro_f1"],
            "accuracy": meta["accuracy"],
            "abstain": meta["abstain"]["test"],
            "evaluation": meta["evaluation"],
            "keywords": meta["keywords"],
            "fit_seconds": meta["fit_seconds"],
            "warnings": meta["warnings"],
            **({"rare_labels": rare} if rare else {}),
        }
    )
    return 0


def embedding_params() -> dict[str, str]:
    """The classifier parameters for the admin's encoder, checked before any training starts."""
    from cli import CommandError
    from triage.retrieval.encoders import EncoderError, SentenceTransformerEncoder

    path = settings().embedding_model
    if not path:
        raise CommandError(
            "--embeddings needs TRIAGE_EMBEDDING_MODEL: the path of a local sentence-transformers model directory"
        )
    try:
        SentenceTransformerEncoder(path)
    except EncoderError as exc:
        raise CommandError(f"--embeddings: {exc}") from None
    return {"embedding_model": str(Path(path).resolve())}


def routing_table_or_warn(consequence: str) -> RoutingTable | None:
    """The store's table in force, else the seed file; None (with a warning) when neither reads."""
    from training.promotion import TableUnavailable, read_table

    table = live_routing().table
    if table is None:
        try:
            table = read_table(settings().routing_table)
        except TableUnavailable as exc:
            print(f"warning: {exc}; {consequence}", file=sys.stderr)
    return table


def deployment_keywords(labels: list[str], keywords_file: str | None) -> KeywordGroups:
    """The routing table's keyword groups for these labels, plus the admin's file if given."""
    table = routing_table_or_warn("no keyword features from the routing table")
    groups = from_table(table, labels) if table is not None else KeywordGroups()
    if keywords_file:
        groups = groups.merged(from_file(keywords_file, labels, table))
    if groups:
        said = groups.describe()
        print(
            f"keyword features: {said['groups']} of {len(labels)} labels, {said['terms']} terms "
            f"({'; '.join(groups.sources)})",
            file=sys.stderr,
        )
    return groups


def write_stub(path: str, labels: list[str], label_col: str) -> None:
    """Write the routing-table entries the new labels need, or say that none are needed."""
    from training.promotion import routing_stub, unrouted_labels
    from triage.atomic import atomic_write_bytes

    table = routing_table_or_warn("the stub lists every label")
    if table is not None and not unrouted_labels(labels, table):
        print(f"routing table {table.source} routes every label; no stub written", file=sys.stderr)
        return
    atomic_write_bytes(Path(path), routing_stub(labels, table, label_col).encode("utf-8"))
    print(f"wrote routing-table stub {path}: fill in each TODO department", file=sys.stderr)


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
    seen = seen_in_training(reg.model_path(version).parent, data.texts)
    if seen:
        print(
            f"warning: {seen} of {len(data)} rows were in the training data of {version}: "
            "the figures are optimistic; evaluate on rows the model has not seen",
            file=sys.stderr,
        )
    elif seen is None:
        print(f"note: {version} kept no record of its training rows; overlap not checked", file=sys.stderr)
    print_json({"version": version, "seen_in_training": seen, **evaluate(model, data.texts, data.labels)})
    return 0
