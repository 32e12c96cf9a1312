"""`triage classify`: one text to JSON, or a CSV file to a CSV file with the routing added."""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

from cli.common import print_json, progress, registry, write_csv
from triage.csvio import checked_text, numbered, parse_columns, read_csv, require_columns
from triage.text import MAX_TEXT_CHARS

if TYPE_CHECKING:
    pass

# abstain_reason last: it came after the others, and scripts may read the columns by position
OUTPUT_COLUMNS = ["label", "confidence", "abstain", "top_k", "abstain_reason"]
KEPT_PREFIX = "input_"  # a labelled file keeps its own labels beside the prediction: input_label
CHUNK = 1024  # petitions per model call: large enough that per-call costs vanish
PARALLEL_FROM = 4 * CHUNK  # smaller files are done before extra processes would have started


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("classify", help="classify a text or a CSV file of petitions")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="one petition text; prints JSON")
    source.add_argument("--input", help="CSV of petitions")
    p.add_argument("--text-col", default="title,body", help="text column(s) of --input, comma-separated")
    p.add_argument("--output", help="CSV to write (required with --input)")
    p.add_argument("--k", type=int, default=3, help="labels in top_k")
    p.add_argument("--version", help="bundle to use (default: the live one)")
    p.add_argument(
        "--jobs",
        type=int,
        default=0,
        help="processes for --input (default: one per core; 1 = this process only)",
    )
    p.set_defaults(func=run)


def load_model(version: str | None, served: bool = False) -> tuple[str, Any]:
    """The bundle's whole model (reasons and all), or with `served` its served form when it has
    one (triage/served.py: the same labels and probabilities, without scikit-learn's import)."""
    from cli import CommandError
    from training.bundles import BundleError

    reg = registry()
    version = version or reg.live_version()
    if version is None:
        raise CommandError("no model is live: train one with `triage train --data FILE.csv --promote`")
    try:
        path = reg.model_path(version)
    except BundleError as exc:  # unknown, or a file that does not match the registry's sha256
        raise CommandError(str(exc)) from None
    if served:
        from triage.served import load_served

        return version, load_served(path)
    from triage.classifier import PetitionClassifier

    return version, PetitionClassifier.load(path)


def run(args: argparse.Namespace) -> int:
    from cli import CommandError

    if args.text is not None:
        if not args.text.strip():
            raise CommandError("--text is empty: nothing to classify")
        if len(args.text) > MAX_TEXT_CHARS:
            raise CommandError(f"--text has {len(args.text)} characters; the limit is {MAX_TEXT_CHARS}")
        version, model = load_model(args.version)
        prediction = model.predict_top_k([args.text], k=args.k)[0]
        print_json({**prediction.to_dict(), "model_version": version})
        return 0
    if not args.output:
        raise CommandError("--output is required with --input")
    columns = parse_columns(args.text_col)
    header, rows = read_csv(args.input)
    require_columns(args.input, header, columns, flag="--text-col")
    texts = [checked_text(args.input, row, number, columns) for number, row in numbered(rows)]
    version, model = load_model(args.version, served=True)

    batches = [texts[start : start + CHUNK] for start in range(0, len(texts), CHUNK)]
    jobs = args.jobs if args.jobs > 0 else (os.cpu_count() or 1)
    if args.jobs < 0:
        raise CommandError("--jobs must be 1 or more (0: one per core)")

    kept = [c for c in OUTPUT_COLUMNS if c in header]  # the input's own columns the output fills
    for column in kept:
        print(
            f"note: the input has a column {column!r}; the output's {column!r} is the prediction and "
            f"the input's values are kept in {KEPT_PREFIX + column!r}",
            file=sys.stderr,
        )

    def annotated():
        predicted = _predict_chunks(model, batches, args.k, jobs if len(texts) >= PARALLEL_FROM else 1)
        for row, fields in zip(rows, (f for chunk in predicted for f in chunk), strict=True):
            yield {**row, **{KEPT_PREFIX + c: row[c] for c in kept}, **fields}

    out_header = header + [KEPT_PREFIX + c for c in kept] + [c for c in OUTPUT_COLUMNS if c not in header]
    write_csv(args.output, out_header, progress(annotated(), total=len(rows), desc="classify"))
    print(f"classified {len(rows)} rows with model {version} → {args.output}")
    return 0


_worker_model: Any = None  # the served form or the whole model, shared with forked workers


def _output_fields(model: Any, texts: list[str], k: int) -> list[dict[str, Any]]:
    """The output columns of each text, formatted where it was predicted (in a worker when there
    are several), so the process writing the file only writes."""
    return [
        {
            "label": p.label,
            "confidence": round(p.confidence, 4),
            "abstain": p.abstain,
            "top_k": json.dumps(p.top_k, ensure_ascii=False),
            "abstain_reason": p.abstain_reason or "",
        }
        for p in model.predict_top_k(texts, k=k, n_reasons=0)
    ]


def _predict_in_worker(texts: list[str], k: int) -> list[dict[str, Any]]:
    assert _worker_model is not None
    return _output_fields(_worker_model, texts, k)


def _predict_chunks(model: Any, chunks: list[list[str]], k: int, jobs: int) -> Iterator[list[dict[str, Any]]]:
    """Output columns chunk by chunk, in order. With several jobs, forked processes share the
    loaded model (nothing is pickled but the texts and the formatted columns), and each chunk's
    predictions are exactly those of one process: a petition's scores never depend on the
    others in its chunk."""
    if jobs <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            yield _output_fields(model, chunk, k)
        return
    global _worker_model
    _worker_model = model
    model.predict_top_k(chunks[0][:1], k=k, n_reasons=0)  # the segmenter's dictionary, loaded once
    # the model's objects move to a generation the collector never scans again: a forked
    # worker's collections then do not write to (and so copy) the pages it shares with us
    gc.freeze()
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=min(jobs, len(chunks)), mp_context=context) as pool:
        yield from pool.map(_predict_in_worker, chunks, [k] * len(chunks))
