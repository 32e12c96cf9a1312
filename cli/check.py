"""`triage check`: reply quality for one reply (JSON) or a CSV export of replies (CSV + summary).

A supervisor's question is "which department sends boilerplate?", so with `--department-col` the
run ends with the share of `revise` and the most frequent flags per department. Every row is
checked before anything is written: a bad date in row 900 fails the run with its row number and
leaves no half-written output. The near-duplicate check compares each reply with the other
replies of the same file (or with `--reference`), which is exactly where templates show.
"""

from __future__ import annotations

import argparse
import json
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence

from cli.common import print_json, progress, write_csv
from triage.csvio import DataError, numbered, parse_columns, read_csv, require_columns
from triage.quality import QualityChecker, QualityInputError, QualityResult, RulesError
from triage.text import MAX_TEXT_CHARS

OUTPUT_COLUMNS = ["score", "verdict", "flags", "flag_evidence"]
TOP_FLAGS = 3


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="check reply quality: one reply, or a CSV of petitions with replies")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", help="CSV of petitions with their replies")
    source.add_argument("--reply", help="one reply text; prints JSON (use with --title/--body)")
    p.add_argument("--title", default="", help="the petition's title (with --reply)")
    p.add_argument("--body", default="", help="the petition's text (with --reply)")
    p.add_argument("--received-at", help="when the petition was received (with --reply)")
    p.add_argument("--replied-at", help="when the reply was sent (with --reply)")
    p.add_argument("--request-type", help="咨询, 投诉, 建议, 求助 … (with --reply)")
    p.add_argument("--petition-cols", default="title,body", help="petition column(s): title,body")
    p.add_argument("--reply-col", default="reply", help="column with the reply")
    p.add_argument("--received-col", help="column with the time the petition was received")
    p.add_argument("--replied-col", help="column with the time the reply was sent")
    p.add_argument("--request-type-col", help="column with the request type (咨询, 投诉 …)")
    p.add_argument("--department-col", help="column with the department: adds a per-department summary")
    p.add_argument(
        "--output", help="CSV to write (required with --input): the input plus " + ", ".join(OUTPUT_COLUMNS)
    )
    p.add_argument("--rules", help="rules file (default: the bundled quality_rules.yaml)")
    p.add_argument(
        "--reference",
        help="CSV of past replies (column `reply`) for near-duplicates; default: the input's replies",
    )
    p.set_defaults(func=run)


def _checker(args: argparse.Namespace) -> QualityChecker:
    from cli import CommandError

    try:
        return QualityChecker(rules_path=args.rules)
    except RulesError as exc:
        raise CommandError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    from cli import CommandError

    checker = _checker(args)
    if args.reply is not None:
        if len(args.reply) > MAX_TEXT_CHARS:
            raise CommandError(f"--reply has {len(args.reply)} characters; the limit is {MAX_TEXT_CHARS}")
        if args.reference:
            checker.fit_reply_corpus(_reference(args.reference))
        try:
            result = checker.check(
                {"title": args.title, "body": args.body},
                args.reply,
                replied_at=args.replied_at,
                received_at=args.received_at,
                request_type=args.request_type,
            )
        except QualityInputError as exc:
            raise CommandError(f"--{exc.field.replace('_', '-')}: {exc.detail}") from None
        print_json(result.to_dict())
        return 0
    if not args.output:
        raise CommandError("--output is required with --input")
    return check_file(args, checker)


def _reference(path: str) -> list[str]:
    header, rows = read_csv(path)
    require_columns(path, header, ["reply"])
    return [row["reply"] for row in rows]


def _petition(row: dict[str, str], columns: Sequence[str]) -> dict[str, str]:
    values = [(row.get(c) or "") for c in columns]
    if len(values) == 1:
        return {"title": "", "body": values[0]}
    return {"title": values[0], "body": "。".join(v for v in values[1:] if v.strip())}


def check_file(args: argparse.Namespace, checker: QualityChecker) -> int:
    petition_cols = parse_columns(args.petition_cols)
    optional = {
        "received_at": args.received_col,
        "replied_at": args.replied_col,
        "request_type": args.request_type_col,
        "department": args.department_col,
    }
    header, rows = read_csv(args.input)
    require_columns(
        args.input, header, [*petition_cols, args.reply_col, *(c for c in optional.values() if c)]
    )
    checker.fit_reply_corpus(
        _reference(args.reference) if args.reference else [r[args.reply_col] for r in rows]
    )

    results: list[QualityResult] = []
    column_of = {"reply": args.reply_col, "petition": ",".join(petition_cols), **optional}
    for number, row in progress(numbered(rows), total=len(rows), desc="check"):
        reply = row[args.reply_col]
        if len(reply) > MAX_TEXT_CHARS:
            raise DataError(
                args.input, f"reply over {MAX_TEXT_CHARS} characters", row=number, column=args.reply_col
            )
        try:
            results.append(
                checker.check(
                    _petition(row, petition_cols),
                    reply,
                    replied_at=row[args.replied_col] if args.replied_col else None,
                    received_at=row[args.received_col] if args.received_col else None,
                    request_type=row[args.request_type_col] if args.request_type_col else None,
                )
            )
        except QualityInputError as exc:
            field = exc.field.split(".")[0]
            raise DataError(args.input, exc.detail, row=number, column=column_of.get(field, field)) from None

    def annotated():
        for row, result in zip(rows, results, strict=True):
            yield {
                **row,
                "score": result.score,
                "verdict": result.verdict,
                "flags": ";".join(result.codes),
                "flag_evidence": json.dumps({f.code: f.evidence for f in result.flags}, ensure_ascii=False),
            }

    write_csv(args.output, header + [c for c in OUTPUT_COLUMNS if c not in header], annotated())
    revise = sum(r.verdict == "revise" for r in results)
    share = revise / len(results) if results else 0.0
    print(f"checked {len(results)} replies: {revise} to revise ({share:.1%}) → {args.output}")
    print(f"flags: {_top(Counter(c for r in results for c in r.codes), 12) or 'none'}")
    if args.department_col:
        print(department_summary([row[args.department_col] for row in rows], results))
    return 0


def _width(text: str) -> int:
    """Columns a terminal gives the text: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _top(counts: Counter, n: int = TOP_FLAGS) -> str:
    return ", ".join(f"{code} {count}" for code, count in counts.most_common(n))


def department_summary(departments: Sequence[str], results: Sequence[QualityResult]) -> str:
    """A plain-text table, worst department first: where supervision should look."""
    groups: dict[str, list[QualityResult]] = defaultdict(list)
    for department, result in zip(departments, results, strict=True):
        groups[department.strip() or "(none)"].append(result)
    lines = []
    stats = []
    for department, items in groups.items():
        revise = sum(r.verdict == "revise" for r in items) / len(items)
        flags = Counter(c for r in items for c in r.codes)
        stats.append((revise, department, len(items), flags))
    stats.sort(key=lambda s: (-s[0], s[1]))
    width = max(len("department"), *(_width(s[1]) for s in stats))
    lines.append(f"{'department':<{width}}  replies  revise  most frequent flags")
    for revise, department, n, flags in stats:
        padded = department + " " * (width - _width(department))
        lines.append(f"{padded}  {n:>7}  {revise:>6.1%}  {_top(flags) or '-'}")
    return "\n".join(lines)
