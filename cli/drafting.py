"""`triage index`, `triage answers import|list`, `triage draft`: the drafting side from the shell.

`index` and `answers import` write into the case store (`TRIAGE_DATABASE_URL`), one transaction
per file; every server's history index and library catch up from it within
`TRIAGE_MODEL_CHECK_SECONDS`, and this host's index at once.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from cli.common import live_routing, print_json, progress, settings, store, table_in_force, write_csv
from triage.csvio import DataError, numbered, parse_columns, read_csv, require_columns
from triage.drafting import Drafter, EmptyPetition, open_drafter_from_settings
from triage.retrieval.history import HistoryItem
from triage.retrieval.learnable import substantive
from triage.retrieval.sparse import retrieval_tokens
from triage.routing.names import DepartmentNames, load_department_map
from triage.routing.table import RoutingTable, RoutingTableError, load_table
from triage.service import PetitionInput, TriageService
from triage.store.history_imports import BatchReport
from triage.text import MAX_TEXT_CHARS, petition_text

DRAFT_COLUMNS = ["draft", "tier", "sources", "style"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("index", help="add answered petitions to the history that drafts are built from")
    p.add_argument("--history", required=True, help="CSV of past petitions with their final replies")
    p.add_argument("--text-col", default="title,body", help="petition text column(s), comma-separated")
    p.add_argument("--reply-col", default="reply", help="the final reply column")
    p.add_argument("--department-col", help="the handling department column")
    p.add_argument(
        "--department-map",
        metavar="FILE",
        help="CSV (name,department) or YAML (name: department) mapping the export's department names "
        "onto the routing table's; the table's aliases and forward_to apply too",
    )
    p.add_argument("--time-col", help="the date column (YYYY-MM-DD …), for date filters")
    p.add_argument("--id-col", help="a case id column (default: a hash of text and reply)")
    p.add_argument(
        "--dry-run", action="store_true", help="read and map the file, print the report, import nothing"
    )
    p.set_defaults(func=run_index)

    a = sub.add_parser("answers", help="the manual answer library")
    asub = a.add_subparsers(dest="answers_command", required=True, metavar="ACTION")
    imp = asub.add_parser("import", help="import curated answers from CSV (duplicates kept once, reported)")
    imp.add_argument("file", help="CSV of curated answers")
    imp.add_argument("--question-col", default="question")
    imp.add_argument("--answer-col", default="answer")
    imp.add_argument("--department-col")
    imp.add_argument("--keywords-col")
    imp.add_argument("--author-col")
    imp.add_argument("--id-col")
    imp.add_argument("--valid-from-col")
    imp.add_argument("--valid-until-col")
    imp.add_argument("--author", default="", help="author recorded for rows without one")
    imp.set_defaults(func=run_answers_import)
    ls = asub.add_parser("list", help="print the library as JSON")
    ls.add_argument("--department")
    ls.add_argument("--include-retired", action="store_true")
    ls.set_defaults(func=run_answers_list)

    d = sub.add_parser("draft", help="draft replies for a CSV of petitions (or one --text)")
    source = d.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", help="CSV of petitions")
    source.add_argument("--text", help="one petition; prints the draft as JSON")
    d.add_argument(
        "--text-col", default="title,body", help="text column(s) of --input: title,body or one column"
    )
    d.add_argument("--department-col", help="column with the routed department (filters the sources)")
    d.add_argument("--department", help="department for --text")
    d.add_argument("--output", help="CSV to write (required with --input)")
    d.set_defaults(func=run_draft)


def open_drafter() -> Drafter:
    setup = open_drafter_from_settings(settings(), store())
    if setup.encoder_error:
        print(f"warning: {setup.encoder_error}; using BM25 only", file=sys.stderr)
    return setup.drafter


def drafting_service() -> TriageService:
    """The draft workflow as the service runs it: the store's routing table in force reads each
    petition first (an emergency's draft reports the transfer, an out-of-scope matter gets the
    table's template), then the drafter."""
    return TriageService(None, routing=live_routing(), drafter=open_drafter())


def _title_body(row: dict[str, str], columns: list[str]) -> tuple[str, str]:
    values = [(row.get(c) or "").strip() for c in columns]
    if len(values) == 1:
        return "", values[0]
    return values[0], "。".join(v for v in values[1:] if v)


def history_items(
    path: str, args: argparse.Namespace, counts: dict[str, int], names: DepartmentNames | None = None
) -> Iterator[HistoryItem]:
    """Rows of a history CSV as items; rows without a reply or text are counted and skipped.

    `names` maps the department column onto the routing table's departments (unmatched names
    are kept as written and counted)."""
    columns = parse_columns(args.text_col)
    header, rows = read_csv(path)
    optional = [c for c in (args.department_col, args.time_col, args.id_col) if c]
    require_columns(path, header, [*columns, args.reply_col, *optional])
    for _, row in numbered(rows):
        title, body = _title_body(row, columns)
        text = petition_text(title, body)
        reply = (row.get(args.reply_col) or "").strip()
        if not reply:
            counts["skipped_no_reply"] += 1
            continue
        if not text:
            counts["skipped_no_text"] += 1
            continue
        ident = (row.get(args.id_col) or "").strip() if args.id_col else ""
        if not ident:
            ident = "h-" + hashlib.sha1(f"{text}\x00{reply}".encode()).hexdigest()[:16]
        yield HistoryItem(
            id=ident,
            text=text[:MAX_TEXT_CHARS],
            reply=reply,
            department=_department(row, args.department_col, names),
            date=(row.get(args.time_col) or "").strip() if args.time_col else "",
        )


def _department(row: dict[str, str], column: str | None, names: DepartmentNames | None) -> str:
    name = (row.get(column) or "").strip() if column else ""
    return names(name) if names is not None and name else name


def department_names(args: argparse.Namespace) -> DepartmentNames | None:
    """The name mapper for `--department-col`: the map file, then the table's names and aliases."""
    from cli import CommandError

    if not args.department_col:
        if args.department_map:
            raise CommandError("--department-map needs --department-col: the column it maps")
        return None
    try:
        found = table_in_force()  # the store's table, where admins' aliases live
        table = found if isinstance(found, RoutingTable) else load_table(found)
    except RoutingTableError as exc:
        print(
            f"warning: routing table not loaded ({exc}); department names are kept as written",
            file=sys.stderr,
        )
        table = None
    mapping = load_department_map(args.department_map, table) if args.department_map else None
    return DepartmentNames(table, mapping)


def print_name_report(names: DepartmentNames) -> None:
    """Say on stderr which names matched nothing, so the admin can map them and import again."""
    report = names.report
    print(
        f"departments: {report.mapped} row(s) mapped onto the routing table's names, "
        f"{report.matched} already used them, {sum(report.unmatched.values())} matched nothing",
        file=sys.stderr,
    )
    if report.unmatched:
        listed = ", ".join(f"{name} ({n})" for name, n in report.unmatched.most_common())
        print(
            f"unmatched department names (imported under the name as written; drafts for routed "
            f"cases will not use them until mapped): {listed}",
            file=sys.stderr,
        )


def run_index(args: argparse.Namespace) -> int:
    counts = {"skipped_no_reply": 0, "skipped_no_text": 0}
    names = department_names(args)
    items = list(
        history_items(args.history, args, counts, names)
    )  # read fully first: a bad file adds nothing
    items, counts["skipped_vague_reply"] = substantive(items)
    extra = {"departments": names.report.to_dict()} if names is not None else {}
    if names is not None:
        print_name_report(names)
    if args.dry_run:
        print_json({"dry_run": True, "rows": len(items), **counts, **extra})
        return 0
    drafter = open_drafter()
    report = import_history(drafter, items, source=Path(args.history).name)
    print_json(
        {
            "indexed": report.added,
            "duplicates": len(report.duplicates),
            **counts,
            "history_size": len(drafter.history),
            **extra,
        }
    )
    return 0


def import_history(drafter: Drafter, items: list[HistoryItem], source: str) -> BatchReport:
    """Tokenise the items (the slow part, with a progress bar), store them as one batch, then
    bring this host's index up to date; other hosts catch up on their own."""
    from cli.models import cli_actor
    from triage.store.history_imports import import_batch

    for item in progress(items, total=len(items), desc="index"):
        item.tokens = retrieval_tokens(item.text)
    with store().session(write=True) as session:
        report = import_batch(session, items, source, actor=cli_actor())
    drafter.import_feed.catch_up()
    return report


def run_answers_import(args: argparse.Namespace) -> int:
    drafter = open_drafter()
    report = drafter.answers.import_csv(
        args.file,
        question_col=args.question_col,
        answer_col=args.answer_col,
        department_col=args.department_col,
        id_col=args.id_col,
        keywords_col=args.keywords_col,
        author_col=args.author_col,
        valid_from_col=args.valid_from_col,
        valid_until_col=args.valid_until_col,
        default_author=args.author,
        actor="cli:answers import",
    )
    drafter.answers.warm()
    print_json({**report.to_dict(), "library_size": len(drafter.answers)})
    return 0


def run_answers_list(args: argparse.Namespace) -> int:
    drafter = open_drafter()
    print_json([a.to_dict() for a in drafter.answers.list(args.department, args.include_retired)])
    return 0


def run_draft(args: argparse.Namespace) -> int:
    from cli import CommandError

    if args.text is not None:
        if not args.text.strip():
            raise CommandError("--text is empty: nothing to draft a reply to")
        if len(args.text) > MAX_TEXT_CHARS:
            raise CommandError(f"--text has {len(args.text)} characters; the limit is {MAX_TEXT_CHARS}")
        draft = drafting_service().draft(PetitionInput("", args.text), department=args.department)
        print_json(draft.to_dict())
        return 0
    if not args.output:
        raise CommandError("--output is required with --input")
    columns = parse_columns(args.text_col)
    header, rows = read_csv(args.input)
    require_columns(args.input, header, columns, flag="--text-col")
    require_columns(args.input, header, [args.department_col] if args.department_col else [])
    petitions = []
    for number, row in numbered(rows):
        title, body = _title_body(row, columns)
        if not (title or body):
            raise DataError(args.input, "empty text", row=number, column=",".join(columns))
        if len(title) > MAX_TEXT_CHARS or len(body) > MAX_TEXT_CHARS:
            raise DataError(
                args.input, f"text over {MAX_TEXT_CHARS} characters", row=number, column=",".join(columns)
            )
        department = (row.get(args.department_col) or "").strip() if args.department_col else ""
        petitions.append((title, body, department or None))
    service = drafting_service()

    def annotated():
        for row, (title, body, department) in zip(rows, petitions, strict=True):
            try:
                draft = service.draft(PetitionInput(title, body), department=department)
            except EmptyPetition:  # pragma: no cover - rejected above
                continue
            yield {
                **row,
                "draft": draft.draft,
                "tier": draft.tier,
                "sources": json.dumps([s.to_dict() for s in draft.sources], ensure_ascii=False),
                "style": json.dumps(draft.style, ensure_ascii=False),
            }

    out_header = header + [c for c in DRAFT_COLUMNS if c not in header]
    write_csv(args.output, out_header, progress(annotated(), total=len(rows), desc="draft"))
    print(f"drafted {len(rows)} replies → {args.output}")
    return 0


def bootstrap_drafting() -> dict:
    """On a fresh clone: the bundled sample's replies as history, its curated answers as the library.

    Only fills what is empty, so it never duplicates or overrides what staff have since changed.
    """
    from datasets import SAMPLE_DIR, load_sample

    drafter = open_drafter()
    drafter.import_feed.catch_up()  # another host may have stored the sample already
    out: dict = {}
    if len(drafter.history) == 0:
        items = [
            HistoryItem(
                id=r["id"],
                text=petition_text(r["title"], r["body"]),
                reply=r["reply"],
                department=r["department"],
                date=r["received_at"],
            )
            for r in load_sample()
            if r.get("reply", "").strip()
        ]
        items, _ = substantive(items)
        out["history_indexed"] = import_history(drafter, items, source="bootstrap sample").added
    answers_csv = SAMPLE_DIR / "answers.csv"
    if len(drafter.answers) == 0 and answers_csv.is_file():
        report = drafter.answers.import_csv(
            answers_csv,
            question_col="question",
            answer_col="answer",
            department_col="department",
            id_col="id",
            keywords_col="keywords",
            author_col="author",
        )
        out["answers_imported"] = len(report.added)
    # Encode what the library lacks now (a fresh import, or entries stored by an older encoder
    # window) so that the served /draft never pays for it.
    drafter.answers.warm()
    return out
