"""Generate a large synthetic history for the scale test of drafting (BM25 side).

Petitions of the bundled sample are cut into sentences and recombined within a department, with
synthetic place names (区, 路, 小区) so that the vocabulary grows with the corpus as real
history does. Sentences are tokenised once and the tokens carried along, so a million cases are
generated in minutes rather than spending ~40 minutes in jieba.

    python -m benchmarks.gen_history --rows 1000000 --output /tmp/history-1m.csv
"""

from __future__ import annotations

import argparse
import csv
import random
import re
from collections.abc import Iterator
from datetime import date, timedelta

from triage.retrieval.history import HistoryItem

_SPLIT = re.compile(r"[^。！？!?]+[。！？!?]?")
SYLLABLES = "安宝北滨昌晨城川春翠大德东福富港光广桂海和河红宏华欢江金锦景康蓝乐丽林柳龙绿梅明南宁平浦前青庆瑞山胜盛时顺泰天通万西祥新兴阳逸银永玉园月云长正中洲紫"
SUFFIX = ["区", "路", "街", "小区", "花园", "社区", "村", "大道"]


def _place(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(2)) + rng.choice(SUFFIX)


def generate(rows: int, seed: int = 0) -> Iterator[HistoryItem]:
    from datasets import load_sample
    from triage.retrieval import retrieval_tokens

    rng = random.Random(seed)
    by_dept: dict[str, list[tuple[str, list[str]]]] = {}
    replies: dict[str, list[str]] = {}
    for r in load_sample():
        sentences = [s for s in _SPLIT.findall(f"{r['title']}。{r['body']}") if s.strip()]
        by_dept.setdefault(r["department"], []).extend((s, retrieval_tokens(s)) for s in sentences)
        replies.setdefault(r["department"], []).append(r["reply"][:160])
    departments = sorted(by_dept)
    place_pool = [(p, retrieval_tokens(p)) for p in {_place(rng) for _ in range(20000)}]
    start = date(2015, 1, 1)
    for n in range(rows):
        dept = departments[n % len(departments)]
        pool = by_dept[dept]
        parts = [rng.choice(place_pool)] + [rng.choice(pool) for _ in range(rng.randint(2, 4))]
        text = "".join(p for p, _ in parts)
        tokens = [t for _, toks in parts for t in toks]
        yield HistoryItem(
            id=f"g{n:07d}",
            text=text,
            reply=rng.choice(replies[dept]),
            department=dept,
            date=(start + timedelta(days=n % 4000)).isoformat(),
            tokens=tokens,
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--output", required=True, help="CSV with id,department,created_at,text,reply")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with open(args.output, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "department", "created_at", "text", "reply"])
        for item in generate(args.rows, args.seed):
            w.writerow([item.id, item.department, item.date, item.text, item.reply])
    print(f"wrote {args.rows} rows → {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
