"""`triage topics`: group a CSV of petitions into hot topics and write the ranked list."""

from __future__ import annotations

import argparse
import json

from cli.common import write_csv
from triage.csvio import DataError, numbered, parse_columns, read_csv, require_columns
from triage.topics.clustering import TopicModel
from triage.topics.heat import DEFAULT_HALF_LIFE_DAYS
from triage.topics.times import parse_time

OUTPUT_COLUMNS = [
    "rank",
    "topic_id",
    "title",
    "place",
    "first_time",
    "last_time",
    "count",
    "supporters",
    "heat",
    "growth",
    "entities",
    "daily",
    "members",
]
TIME_COLUMNS = ("received_at", "created_at", "留言时间")
LIKES_COLUMNS = ("likes", "点赞数")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "topics",
        help="group petitions into hot topics and rank them by heat",
        description=(
            "Groups petitions about one problem in one place, then ranks the groups in the window "
            "[--since, --until] by heat = Σ (1 + ln(1 + likes)) · 2^(−age_days / half_life), age "
            "counted back from the end of the window. members lists the petition ids (the --id-col "
            "values) in time order; daily is a JSON list of {date, count}."
        ),
    )
    p.add_argument("--input", required=True, help="CSV of petitions (UTF-8, UTF-8 with BOM or GB18030)")
    p.add_argument("--since", help="start of the window, e.g. 2019-11-01 (default: the first petition)")
    p.add_argument("--until", help="end of the window, a date includes that day (default: the last petition)")
    p.add_argument("--output", required=True, help="CSV of topics to write, hottest first")
    p.add_argument("--text-col", default="title,body", help="title and body columns (one column = body only)")
    p.add_argument(
        "--time-col", help=f"received-time column (default: the first of {', '.join(TIME_COLUMNS)})"
    )
    p.add_argument(
        "--id-col", default="id", help="petition id column (default id; absent → 0-based row index)"
    )
    p.add_argument(
        "--likes-col", help=f"supporters (点赞) column (default: {' or '.join(LIKES_COLUMNS)} if present)"
    )
    p.add_argument("--min-count", type=int, default=2, help="fewest petitions for a topic (default 2)")
    p.add_argument("--limit", type=int, help="write at most this many topics")
    p.add_argument("--half-life-days", type=float, default=DEFAULT_HALF_LIFE_DAYS, help="heat half-life")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cli import CommandError

    if args.min_count < 1:
        raise CommandError(f"--min-count must be 1 or more, got {args.min_count}")
    if args.half_life_days <= 0:
        raise CommandError(f"--half-life-days must be positive, got {args.half_life_days}")
    for name in ("since", "until"):
        try:
            parse_time(getattr(args, name))
        except ValueError as exc:
            raise CommandError(f"--{name}: {exc}") from None
    columns = parse_columns(args.text_col)
    if not 1 <= len(columns) <= 2:
        raise CommandError("--text-col takes one (body) or two (title,body) columns")
    header, rows = read_csv(args.input)
    time_col = args.time_col or next((c for c in TIME_COLUMNS if c in header), None)
    if time_col is None:
        raise DataError(
            args.input, f"no time column: name one with --time-col (looked for {', '.join(TIME_COLUMNS)})"
        )
    likes_col = args.likes_col or next((c for c in LIKES_COLUMNS if c in header), None)
    require_columns(args.input, header, columns + [time_col] + ([likes_col] if likes_col else []))
    title_col, body_col = (None, columns[0]) if len(columns) == 1 else columns
    use_ids = args.id_col in header

    items, seen = [], {}
    for number, row in numbered(rows):
        case_id = (row[args.id_col].strip() if use_ids else str(number - 2)) or str(number - 2)
        if case_id in seen:
            raise DataError(
                args.input, f"id {case_id!r} repeats row {seen[case_id]}", row=number, column=args.id_col
            )
        seen[case_id] = number
        title, body = (row.get(title_col) or "") if title_col else "", row.get(body_col) or ""
        if not (title.strip() or body.strip()):
            raise DataError(args.input, "empty text", row=number, column=",".join(columns))
        try:
            when = parse_time(row.get(time_col))
        except ValueError as exc:
            raise DataError(args.input, str(exc), row=number, column=time_col) from None
        if when is None:
            raise DataError(args.input, "empty time", row=number, column=time_col)
        likes = (row.get(likes_col) or "").strip() if likes_col else ""
        if likes and not likes.lstrip("-").replace(".", "", 1).isdigit():
            raise DataError(args.input, f"not a number: {likes!r}", row=number, column=likes_col)
        items.append({"id": case_id, "title": title, "body": body, "received_at": when, "likes": likes or 0})

    model = TopicModel()
    model.add(items)
    try:
        found = model.topics(
            args.since, args.until, min_count=args.min_count, half_life_days=args.half_life_days
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if args.limit:
        found = found[: args.limit]

    def out_rows():
        for rank, t in enumerate(found, 1):
            d = t.to_dict()
            yield {
                **d,
                "rank": rank,
                "topic_id": t.id,
                "entities": "；".join(t.entities),
                "daily": json.dumps(t.daily, ensure_ascii=False),
                "members": " ".join(t.members),
            }

    write_csv(args.output, OUTPUT_COLUMNS, out_rows())
    print(f"{len(items)} petitions → {len(model)} groups; {len(found)} topics written → {args.output}")
    return 0
