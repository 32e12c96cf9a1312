"""`triage duplicates`: mark each row of a CSV that repeats an earlier row."""

from __future__ import annotations

import argparse
from datetime import datetime

from cli.common import progress, write_csv
from triage.csvio import DataError, join_text, numbered, parse_columns, read_csv, require_columns
from triage.text import MAX_TEXT_CHARS
from triage.topics.duplicates import DEFAULT_THRESHOLD, DuplicateIndex
from triage.topics.times import parse_time

OUTPUT_COLUMNS = ["duplicate_of", "similarity"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "duplicates",
        help="flag rows that repeat an earlier row (near-duplicate petitions)",
        description=(
            "Adds two columns. duplicate_of: the row index of the earliest earlier row this row "
            "repeats, empty if none. A row index is the 0-based position of the data row in the "
            "file, header not counted: the first data row (spreadsheet row 2) is 0. similarity: the "
            "estimated Jaccard similarity of the two texts' character 3-grams (1.0 = same text). "
            "'Earlier' means earlier in --time-col when given (ties: lower row index), otherwise "
            "a lower row index."
        ),
    )
    p.add_argument("--input", required=True, help="CSV of petitions (UTF-8, UTF-8 with BOM or GB18030)")
    p.add_argument("--text-col", default="title,body", help="text column(s), comma-separated")
    p.add_argument("--time-col", help="received-time column; rows are compared in time order")
    p.add_argument("--output", required=True, help="CSV to write: the input plus duplicate_of, similarity")
    p.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help=f"similarity at and above which a row repeats another (default {DEFAULT_THRESHOLD})",
    )
    p.add_argument("--within-days", type=int, help="only rows at most this many days earlier count")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cli import CommandError

    if not 0.0 < args.threshold <= 1.0:
        raise CommandError(f"--threshold must be in (0, 1], got {args.threshold}")
    if args.within_days is not None and args.within_days < 0:
        raise CommandError(f"--within-days must be 0 or more, got {args.within_days}")
    if args.within_days is not None and not args.time_col:
        raise CommandError("--within-days needs --time-col: without times there is no 'within'")
    columns = parse_columns(args.text_col)
    if not columns:
        raise CommandError("--text-col names no column")
    header, rows = read_csv(args.input)
    require_columns(args.input, header, columns + ([args.time_col] if args.time_col else []))
    texts, times = _texts_and_times(args, rows, columns)

    index = DuplicateIndex(threshold=args.threshold)
    order = sorted(range(len(rows)), key=lambda i: (times[i] or datetime.min, i))
    found: dict[int, tuple[int, float]] = {}
    for i in progress(order, total=len(order), desc="duplicates"):
        matches = index.query(texts[i], received_at=times[i], within_days=args.within_days)
        earlier = [(times[int(m.case_id)] or datetime.min, int(m.case_id), m.similarity) for m in matches]
        if earlier:
            _, row, similarity = min(earlier)
            found[i] = (row, similarity)
        index.add(str(i), texts[i], times[i])

    def annotated():
        for i, row in enumerate(rows):
            dup = found.get(i)
            yield {**row, "duplicate_of": dup[0] if dup else "", "similarity": dup[1] if dup else ""}

    out_header = header + [c for c in OUTPUT_COLUMNS if c not in header]
    write_csv(args.output, out_header, annotated())
    print(f"{len(found)} of {len(rows)} rows repeat an earlier row → {args.output}")
    return 0


def _texts_and_times(args, rows, columns):
    texts, times = [], []
    for number, row in numbered(rows):
        text = join_text(row, columns)
        if not text.strip():
            raise DataError(
                args.input, "empty text: nothing to compare", row=number, column=",".join(columns)
            )
        if len(text) > MAX_TEXT_CHARS:
            raise DataError(
                args.input, f"text over {MAX_TEXT_CHARS} characters", row=number, column=",".join(columns)
            )
        texts.append(text)
        when = None
        if args.time_col:
            try:
                when = parse_time(row.get(args.time_col))
            except ValueError as exc:
                raise DataError(args.input, str(exc), row=number, column=args.time_col) from None
            if when is None:
                raise DataError(args.input, "empty time", row=number, column=args.time_col)
        times.append(when)
    return texts, times
