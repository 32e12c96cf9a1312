"""`triage route`: a CSV of petitions → the same CSV with the routing added.

Adds label, departments (JSON: lead and assist), request_type, due_at, place (JSON), out_of_scope
(JSON: reason, evidence, template), manual_queue and urgent (JSON: reason, evidence, transfer). Every row is checked before anything is
written, so a bad received time in row 900 fails the run with its row number and no output file.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from cli.classify import load_model
from cli.common import live_routing, progress, registry, write_csv
from training.request_type import load_live_request_type
from triage.csvio import (
    DataError,
    checked_text,
    join_text,
    numbered,
    parse_columns,
    read_csv,
    require_columns,
)
from triage.loaded_model import FixedModel
from triage.routing import RoutingEngine, RoutingTableError
from triage.routing.cohandling import cohandling_curve, fit_min_probability
from triage.routing.live import LiveRoutingEngine
from triage.service import PetitionError, PetitionInput, TriageService

OUTPUT_COLUMNS = [
    "label",
    "departments",
    "request_type",
    "due_at",
    "place",
    "out_of_scope",
    "manual_queue",
    "urgent",
]
JSON_COLUMNS = ("departments", "place", "out_of_scope", "urgent")  # empty cell when null
CHUNK = 256


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("route", help="route a CSV of petitions: departments, request type, deadline, place")
    p.add_argument("--input", required=True, help="CSV of petitions")
    p.add_argument("--text-col", default="title,body", help="text column(s), comma-separated")
    p.add_argument("--output", help="CSV to write (required unless --fit-cohandling)")
    p.add_argument(
        "--received-col",
        default="received_at",
        help="column with the time of receipt (used when present; default: received_at)",
    )
    p.add_argument(
        "--request-type-col",
        default="request_type",
        help="column with known request types, used when present (default: request_type); empty "
        "cells and files without it get the request-type model's prediction",
    )
    p.add_argument("--table", help="routing table (default: TRIAGE_ROUTING_TABLE or config/routing.yaml)")
    p.add_argument("--version", help="department model version (default: the live one)")
    p.add_argument(
        "--fit-cohandling",
        metavar="LABEL_COL",
        help="instead of routing: fit cohandling.min_probability on --input, labelled petitions the "
        "model was not trained on (LABEL_COL holds the true label); prints coverage vs precision",
    )
    p.add_argument("--target-precision", type=float, default=0.3, help="with --fit-cohandling (default 0.3)")
    p.add_argument(
        "--write", action="store_true", help="with --fit-cohandling: store the threshold in the table"
    )
    p.set_defaults(func=run)


def _engine(table: str | None) -> RoutingEngine:
    from cli import CommandError

    if not table:
        live = live_routing()
        if live.engine is None:
            raise CommandError(live.last_error or "no routing table in the store")
        return live.engine
    try:
        return RoutingEngine.from_file(Path(table))
    except RoutingTableError as exc:
        raise CommandError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    from cli import CommandError

    if args.fit_cohandling:
        return fit_cohandling(args)
    if not args.output:
        raise CommandError("--output is required (or use --fit-cohandling LABEL_COL)")
    columns = parse_columns(args.text_col)
    header, rows = read_csv(args.input)
    require_columns(args.input, header, columns, flag="--text-col")
    type_col = args.request_type_col if args.request_type_col in header else None
    received_col = args.received_col if args.received_col in header else None
    texts = [checked_text(args.input, row, number, columns) for number, row in numbered(rows)]
    engine = _engine(args.table)
    version, model = load_model(args.version)
    rt_model = load_live_request_type(registry("request_type"))

    service = TriageService(
        FixedModel(version, model),
        request_types=FixedModel(*rt_model) if rt_model else None,
        routing=engine,
    )
    title_col, body_col = ([*columns, None])[:2] if len(columns) <= 2 else (None, None)
    petitions = [
        PetitionInput(
            row.get(title_col, "") if title_col else "",
            row.get(body_col, "") if body_col else text,
            received_at=(row.get(received_col) or "").strip() or None if received_col else None,
            request_type=(row.get(type_col) or "").strip() or None if type_col else None,
            text=text,
        )
        for row, text in zip(rows, texts, strict=True)
    ]
    routed = []
    for start in range(0, len(rows), CHUNK):
        try:
            _, items = service.classify(petitions[start : start + CHUNK], k=3, reasons=False)
        except PetitionError as exc:
            column = received_col if exc.field == "received_at" else type_col
            raise DataError(args.input, exc.message, row=start + exc.index + 2, column=column) from None
        for row, item in zip(rows[start : start + CHUNK], items, strict=True):
            data = item.routing.to_dict()  # type: ignore[union-attr] # the engine is always given here
            routed.append({**row, **{column: _cell(column, data[column]) for column in OUTPUT_COLUMNS}})
    out_header = header + [c for c in OUTPUT_COLUMNS if c not in header]
    write_csv(args.output, out_header, progress(routed, total=len(routed), desc="route"))
    flagged = sum(1 for r in routed if r["out_of_scope"])
    urgent = sum(1 for r in routed if r["urgent"])
    print(
        f"routed {len(rows)} rows with model {version} → {args.output} "
        f"({flagged} out of scope, {urgent} urgent)"
    )
    return 0


def _cell(column: str, value: object) -> object:
    """A routing field as a CSV cell: JSON for the structured ones, empty when null."""
    if column not in JSON_COLUMNS:
        return value
    return json.dumps(value, ensure_ascii=False) if value else ""


_MIN_PROBABILITY = re.compile(
    r"(?m)^(cohandling:[^\n]*\n(?:(?:[ \t]+[^\n]*|[ \t]*|#[^\n]*)\n)*?[ \t]+min_probability:[ \t]*)([0-9.]+)"
)


def fit_cohandling(args: argparse.Namespace) -> int:
    """Fit the co-handling threshold of the live model on held-out labelled petitions."""
    from cli import CommandError

    columns = parse_columns(args.text_col)
    header, rows = read_csv(args.input)
    require_columns(args.input, header, [*columns, args.fit_cohandling])
    texts, labels = [], []
    for number, row in numbered(rows):
        text, label = join_text(row, columns), (row.get(args.fit_cohandling) or "").strip()
        if not text.strip() or not label:
            raise DataError(args.input, "empty text or label", row=number)
        texts.append(text)
        labels.append(label)
    version, model = load_model(args.version)
    classes = [str(c) for c in model.classes_]
    unknown = sorted(set(labels) - set(classes))
    if unknown:
        raise CommandError(f"labels the model {version} does not know: {', '.join(unknown)}")
    proba = model.predict_proba(texts)
    fitted = fit_min_probability(proba, labels, classes, target_precision=args.target_precision)
    for row in cohandling_curve(proba, labels, classes):
        mark = "  <- fitted" if abs(row["threshold"] - fitted) < 1e-9 else ""
        print(
            f"min_probability {row['threshold']:.2f}: {row['with_assist']:.1%} get assistants, "
            f"assistant right {row['assist_precision']:.1%}, true label in lead+assist "
            f"{row['lead_or_assist']:.1%}{mark}"
        )
    print(f"fitted min_probability {fitted:.2f} on {len(texts)} petitions (model {version})")
    if args.write:
        live = LiveRoutingEngine(Path(args.table)) if args.table else live_routing()
        where = args.table or f"the store's routing table ({live.store.safe_url()})"  # type: ignore[union-attr]
        text = live.text() or ""
        new, count = _MIN_PROBABILITY.subn(lambda m: f"{m.group(1)}{fitted:g}", text, count=1)
        if count == 0:
            raise CommandError(f"{where}: no cohandling.min_probability line to update")
        try:
            live.replace_text(
                new, classes, author="cli:route", comment=f"cohandling.min_probability {fitted:g}"
            )
        except RoutingTableError as exc:
            raise CommandError(str(exc)) from None
        print(f"wrote cohandling.min_probability: {fitted:g} to {where}")
    return 0
