"""Out-of-scope cues for 行政复议 and 信访 复查/复核 (issue 16): labelled samples and real messages.

    python -m benchmarks.out_of_scope_cues

Scores the bundled rules on the project's two hand-written samples (the original
`tests/data/out_of_scope_sample.csv` and `tests/data/out_of_scope_cues.csv`, written for these
cues: requests and near misses such as questions, medical check-ups, exam scores, price reviews)
and counts what they flag in two public message sets, listing every 行政复议 / 信访程序 match
with its evidence so the reader can judge the false alarms. Writes the "out_of_scope_cues"
section of docs/benchmarks.md. The real-data part needs ../shared/datasets.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from datasets import load_category_test, load_taidi_raw
from training.bench import table, write_section
from triage.routing import OutOfScopeDetector
from triage.text import petition_text

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SAMPLES = ("out_of_scope_sample.csv", "out_of_scope_cues.csv")
NEW_REASONS = ("行政复议", "信访程序")


def _scores(detector: OutOfScopeDetector, name: str) -> list[object]:
    with (DATA / name).open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    got = [(d.reason if (d := detector.detect(r["title"] + "。" + r["body"])) else "") for r in rows]
    positives = sum(1 for r in rows if r["expected"])
    flagged = sum(1 for g in got if g)
    right = sum(1 for g, r in zip(got, rows, strict=True) if g and g == r["expected"])
    false_alarms = sum(1 for g, r in zip(got, rows, strict=True) if g and not r["expected"])
    return [
        f"`{name}`",
        len(rows),
        positives,
        flagged,
        f"{right / flagged:.3f}" if flagged else "-",
        f"{right / positives:.3f}" if positives else "-",
        false_alarms,
    ]


def main() -> None:
    detector = OutOfScopeDetector.from_file()
    parts = [
        "Hand-written samples (written alongside the rules, so optimistic):\n\n"
        + table(
            ["sample", "rows", "out of scope", "flagged", "precision", "recall", "false alarms"],
            [_scores(detector, name) for name in SAMPLES],
        )
    ]
    real = {
        "`category_test.csv`": load_category_test(),
        "`hot_messages_4326.csv`": load_taidi_raw("hot_messages_4326.csv"),
    }
    rows, evidence = [], []
    for name, messages in real.items():
        found = [detector.detect(petition_text(m["title"], m["body"])) for m in messages]
        counts = Counter(d.reason for d in found if d)
        mentions = sum(
            1 for m in messages if any(w in m["title"] + m["body"] for w in ("信访", "复议", "复查", "复核"))
        )
        rows.append(
            [name, len(messages), mentions, *(counts.get(r, 0) for r in NEW_REASONS), sum(counts.values())]
        )
        evidence += [f"- {name} {d.reason}: “{d.evidence}”" for d in found if d and d.reason in NEW_REASONS]
    parts.append(
        "Public messages (no out-of-scope labels): how many mention 信访/复议/复查/复核 at all and how many "
        "the rules set aside:\n\n"
        + table(["messages", "rows", "mention the words", *NEW_REASONS, "all reasons"], rows)
        + "\n\nEvery 行政复议 / 信访程序 match, with the clause that triggered it:\n\n"
        + "\n".join(evidence)
    )
    parts.append(
        "Read by hand: the 行政复议 match is a real application (an owners' committee applying for "
        "reconsideration); the 信访程序 matches quote a 信访 reply or say the 信访 matter was reviewed or "
        "closed, which is the 信访 procedure the hotline should not re-open (one asks to 申请复查 under a "
        "reply's own instructions). Before these cues (commit 1dca9b2) the same rules flagged 信访程序 in "
        "1 + 11 of these messages, 6 of them 复核 of a valuation or a construction-cost figure "
        "(房屋征收评估, 工程造价: procedures of their own, now excluded) and one a complaint in that cost "
        "dispute (别老是让什么申请复核); quotations of the right to apply (告知…享有申请行政复议的权利) are "
        "excluded too."
    )
    body = "\n\n".join(parts)
    write_section(
        "out_of_scope_cues",
        "Out-of-scope cues: 行政复议 and 信访 复查/复核 (issue 16)",
        "python -m benchmarks.out_of_scope_cues",
        body,
    )
    print(body)


if __name__ == "__main__":
    main()
