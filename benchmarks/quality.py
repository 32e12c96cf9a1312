"""Reply quality check on the public taidi2020c replies: agreement with two teams' labels, flags,
false alarms on long replies, and speed.

    python -m benchmarks.quality

Reads ../shared/datasets/taidi2020c (replies_2816.csv, reply_labels_interpretability_2816.csv,
reply_labels_completeness_interpretability_100.csv) and writes the "quality" section of
docs/benchmarks.md. Nothing is fitted on the labels: the rules come from the rules file, and the
near-duplicate reference set is the 2,816 replies themselves (no labels used). The rules were
written while reading replies from the whole file, so the file is split by message id parity into
a "dev" half and a "held-out" half only to show the figure does not hinge on one half; the
independent check is the 100-row file labelled by another team.
"""

from __future__ import annotations

import csv
import os
import re
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from datasets import load_sample, shared_datasets_dir
from training.bench import peak_rss_mb, percentiles, table, time_each, write_section
from triage.csvio import read_csv
from triage.quality import FLAG_CODES, QualityChecker, QualityResult
from triage.quality.duplicates import skeleton
from triage.quality.reading import read_reply
from triage.quality.substance import weigh
from triage.text import normalize, tokenize

HAND_WRITTEN = Path(__file__).resolve().parent / "data"
BASELINE_CHARS = 60
LONG_CHARS = 300
_SPACE = re.compile(r"\s")

# Read by hand: long replies (> 300 characters) marked `revise`, with the reviewer's judgement
# (True = deserves it). The figures count only ids still flagged; new ones show as "not read".
REVIEWED_LONG: dict[str, tuple[bool, str]] = {}

MANUAL_REVIEW = """Read by hand while the rules were written (all long replies marked `revise` by earlier versions,
then samples of the minor flags on long replies): earlier versions marked 30–70 long replies `revise`, almost all
for a vague referral or a stock phrase inside an otherwise concrete answer ("如有疑问请直接与我们联系",
"将进一步加强管理" after a list of measures); none deserved it, which is why buck_passing and generic_promise now
only count when the rest of the reply is thin. Of the minor flags on long replies, `off_topic` caught one
genuinely wrong reply (4507: a complaint about school tutoring answered with a construction-site report) and
one synonym miss (9795: 驾校 vs 驾培机构); `no_basis` and `unanswered_question` were wrong about half the time
on long replies (quoted refusals, rhetorical questions), so `no_basis` now needs a reply with no cited rule and
no reason anywhere, and `unanswered_question` skips replies with over 200 characters of substance or a result."""


def prf(pred: Sequence[bool], gold: Sequence[bool]) -> dict[str, float]:
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def kappa(pred: Sequence[bool], gold: Sequence[bool]) -> float:
    n = len(pred)
    observed = sum(p == g for p, g in zip(pred, gold, strict=True)) / n
    p1, g1 = sum(pred) / n, sum(gold) / n
    expected = p1 * g1 + (1 - p1) * (1 - g1)
    return (observed - expected) / (1 - expected) if expected < 1 else 1.0


def auc(scores: Sequence[float], positive: Sequence[bool]) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    pos = [s for s, p in zip(scores, positive, strict=True) if p]
    neg = [s for s, p in zip(scores, positive, strict=True) if not p]
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def baseline(reply: str) -> bool:
    """The issue's reference rule: fewer than 60 characters (whitespace not counted) → vague."""
    return len(_SPACE.sub("", reply)) < BASELINE_CHARS


def load() -> tuple[list[dict[str, str]], dict[str, bool], dict[str, dict[str, bool]]]:
    root = shared_datasets_dir()
    if root is None:
        raise SystemExit("../shared/datasets is absent: this benchmark needs taidi2020c beside the checkout")
    folder = root / "taidi2020c"
    _, rows = read_csv(folder / "replies_2816.csv")
    _, labels = read_csv(folder / "reply_labels_interpretability_2816.csv")
    _, hundred = read_csv(folder / "reply_labels_completeness_interpretability_100.csv")
    vague = {r["留言编号"]: r["可解释性"].strip() == "0" for r in labels}
    other = {
        r["留言编号"]: {
            "interpretability": float(r["可解释性指标"]) == 0.0,
            "completeness": float(r["完整性指标"]) == 0.0,
        }
        for r in hundred
    }
    return rows, vague, other


def check_all(checker: QualityChecker, rows: list[dict[str, str]]) -> list[QualityResult]:
    return checker.check_many(
        {
            "petition": {"title": r["留言主题"], "body": r["留言详情"]},
            "reply": r["答复意见"],
            "received_at": r["留言时间"],
            "replied_at": r["答复时间"],
        }
        for r in rows
    )


def fmt(m: dict[str, float]) -> list[str]:
    return [
        f"{m['precision']:.3f}",
        f"{m['recall']:.3f}",
        f"**{m['f1']:.3f}**",
        str(m["tp"]),
        str(m["fp"]),
        str(m["fn"]),
    ]


def snippet(text: str, n: int = 70) -> str:
    text = _SPACE.sub(" ", text).strip().replace("|", "/")
    return text if len(text) <= n else text[: n - 1] + "…"


def main() -> None:
    rows, vague, other = load()
    checker = QualityChecker().fit_reply_corpus(r["答复意见"] for r in rows)
    tokenize("预热")  # jieba loads its dictionary on first use (about a second): not a per-check cost
    load_before = os.getloadavg()[0]
    start, cpu_start = time.perf_counter(), time.process_time()
    results = check_all(checker, rows)
    batch_rate = len(rows) / (time.perf_counter() - start)
    batch_cpu_rate = len(rows) / (time.process_time() - cpu_start)

    ids = [r["留言编号"] for r in rows]
    revise = [r.verdict == "revise" for r in results]
    gold = [vague[i] for i in ids]
    base = [baseline(r["答复意见"]) for r in rows]
    dev = [int(i) % 2 == 0 for i in ids]

    def subset(values, mask):
        return [v for v, m in zip(values, mask, strict=True) if m]

    held = [not d for d in dev]
    quality_rows = []
    for name, mask in (
        ("all 2,816", [True] * len(ids)),
        ("dev half (even id)", dev),
        ("held-out half (odd id)", held),
    ):
        quality_rows.append([f"checker, {name}", *fmt(prf(subset(revise, mask), subset(gold, mask)))])
        quality_rows.append(
            [f"< {BASELINE_CHARS} chars baseline, {name}", *fmt(prf(subset(base, mask), subset(gold, mask)))]
        )

    # the 100-row file labelled by another team
    in_hundred = [i in other for i in ids]
    agreement_rows = []
    for label in ("interpretability", "completeness"):
        g = [other[i][label] for i in ids if i in other]
        for name, pred in (("checker", subset(revise, in_hundred)), ("baseline", subset(base, in_hundred))):
            m = prf(pred, g)
            accuracy = sum(p == q for p, q in zip(pred, g, strict=True)) / len(g)
            agreement_rows.append(
                [
                    label,
                    name,
                    f"{accuracy:.2f}",
                    f"{kappa(pred, g):.2f}",
                    f"{m['precision']:.2f}",
                    f"{m['recall']:.2f}",
                    f"{m['f1']:.2f}",
                    f"{sum(g)} / {len(g)}",
                ]
            )
        hundred_scores = [100 - r.score for r, inside in zip(results, in_hundred, strict=True) if inside]
        agreement_rows.append(
            [
                label,
                "checker score (AUC of 100 − score)",
                "",
                "",
                "",
                "",
                f"AUC {auc(hundred_scores, g):.2f}",
                "",
            ]
        )
    hundred_rows = [r for r in rows if r["留言编号"] in other]
    hundred_min = min(len(_SPACE.sub("", r["答复意见"])) for r in hundred_rows)
    hundred_zero = [i for i in other if other[i]["interpretability"]]
    hundred_revise = sum(subset(revise, in_hundred))
    hundred_revise_zero = sum(
        rv and other[i]["interpretability"] for i, rv in zip(ids, revise, strict=True) if i in other
    )
    hundred_zero_fine = sum(not vague[i] for i in hundred_zero)
    auc_all = auc([100 - r.score for r in results], gold)

    # the labels' own consistency: identical replies (ids, dates, digits aside) labelled both ways
    by_skeleton: dict[str, list[bool]] = {}
    for r, g in zip(rows, gold, strict=True):
        by_skeleton.setdefault(skeleton(r["答复意见"]), []).append(g)
    mixed = {k: v for k, v in by_skeleton.items() if len(set(v)) > 1}
    mixed_rows = sum(len(v) for v in mixed.values())
    mixed_example = max(
        mixed.items(), key=lambda kv: min(kv[1].count(True), kv[1].count(False)), default=None
    )
    lengths = [-len(_SPACE.sub("", r["答复意见"])) for r in rows]
    auc_length = auc(lengths, gold)

    # flags
    counts = Counter(c for r in results for c in r.codes)
    flag_rows = [
        [
            c,
            counts[c],
            f"{counts[c] / len(results):.1%}",
            sum(1 for r, g in zip(results, gold, strict=True) if c in r.codes and g),
        ]
        for c in FLAG_CODES
    ]

    # long replies
    long_idx = [k for k, r in enumerate(rows) if len(_SPACE.sub("", r["答复意见"])) > LONG_CHARS]
    long_revise = [k for k in long_idx if revise[k]]
    reviewed = [k for k in long_revise if ids[k] in REVIEWED_LONG]
    wrong = [k for k in reviewed if not REVIEWED_LONG[ids[k]][0]]
    long_flags = Counter(c for k in long_idx for c in results[k].codes)

    # disagreements: the checker most sure of revise where labels say fine, and the reverse
    fps = sorted((k for k in range(len(rows)) if revise[k] and not gold[k]), key=lambda k: results[k].score)
    fns = sorted((k for k in range(len(rows)) if gold[k] and not revise[k]), key=lambda k: -results[k].score)
    fp_kinds = Counter(
        next((c for c in results[k].codes if checker.rules.flags[c].weight >= 40), "minor flags") for k in fps
    )
    fn_kinds = Counter(_fn_kind(rows[k]["答复意见"], results[k]) for k in fns)

    def example(k: int) -> list[str]:
        return [
            ids[k],
            snippet(rows[k]["留言主题"], 24),
            snippet(rows[k]["答复意见"]),
            str(results[k].score),
            ", ".join(results[k].codes) or "-",
        ]

    # speed: one at a time (as the API answers) and the batch figure above
    cycle = iter(range(10**9))

    def one() -> None:
        r = rows[next(cycle) % len(rows)]
        checker.check(
            {"title": r["留言主题"], "body": r["留言详情"]},
            r["答复意见"],
            replied_at=r["答复时间"],
            received_at=r["留言时间"],
        )

    single = percentiles(time_each(one, repeat=2000))
    cpu_samples = []
    for _ in range(2000):
        begin = time.process_time()
        one()
        cpu_samples.append((time.process_time() - begin) * 1000)
    single_cpu = percentiles(cpu_samples)
    load_after = os.getloadavg()[0]
    sample = load_sample()
    sample_checker = QualityChecker().fit_reply_corpus(r["reply"] for r in sample)
    sample_pred = [
        sample_checker.check(
            {"title": r["title"], "body": r["body"]}, r["reply"], replied_at=r["replied_at"],
            received_at=r["received_at"], request_type=r["request_type"],
        ).verdict == "revise"
        for r in sample
    ]  # fmt: skip
    sample_m = prf(sample_pred, [r["reply_quality"] == "vague" for r in sample])

    body = f"""
Labels: `reply_labels_interpretability_2816.csv` (one team's 0/1 可解释性; 294 zeros = vague). `revise` is
compared with label 0. The baseline is the issue's rule, a reply under {BASELINE_CHARS} characters (whitespace not
counted) is vague. Inputs as an API caller sends them: title, body, reply, received and reply times (no request
type: it is inferred from the title for the `late` deadline). Near-duplicate reference set: the 2,816 replies
themselves (no labels). Nothing is fitted on the labels.

| run | precision | recall | F1 | TP | FP | FN |
|---|---|---|---|---|---|---|
{chr(10).join("| " + " | ".join(r) + " |" for r in quality_rows)}

Ranking quality on the same labels (AUC of `100 − score`): **{auc_all:.3f}**; reply length alone: {auc_length:.3f}.

Target F1 ≥ 0.90: **not reached** (see "Where checker and labels disagree"). The dev/held-out split is by id
parity; the rules were written while reading replies from the whole file, so the held-out half is a
consistency check, not an untouched test. The other team's 100-row file is the independent check:

All 100 replies are at least {hundred_min} characters long, so the length rule marks none of them and the checker
{hundred_revise} ({hundred_revise_zero} of them labelled 0 for 可解释性 by that team; since issue 16 a reply without a finding, result or reasoned decision
is `no_decision`): that team's 0s ({len(hundred_zero)} for 可解释性) mostly judge how well a substantive reply
reasons, and {hundred_zero_fine} of those {len(hundred_zero)} are labelled fine (1) in the 2,816-row file. The
checker's score hardly ranks them (AUC below); it measures boilerplate, not the quality of an argument.

| label (0 = vague/incomplete) | rule | accuracy | Cohen's κ | precision | recall | F1 | vague / rows |
|---|---|---|---|---|---|---|---|
{chr(10).join("| " + " | ".join(r) + " |" for r in agreement_rows)}

The project's own sample (`datasets/sample`, {len(sample)} replies, `reply_quality` = vague):
precision {sample_m["precision"]:.3f}, recall {sample_m["recall"]:.3f}, F1 {sample_m["f1"]:.3f}.

### Flags over all {len(results):,} replies

`revise`: {sum(revise)} ({sum(revise) / len(revise):.1%}). Column "on label 0" counts the flag on replies the labels call vague.

{table(["flag", "replies", "share", "on label 0"], flag_rows)}

### False alarms: replies longer than {LONG_CHARS} characters

{len(long_idx)} replies are longer than {LONG_CHARS} characters (whitespace not counted); **{len(long_revise)}
({len(long_revise) / len(long_idx):.1%})** are marked `revise` (target ≤ 5 % wrongly flagged);
{len(reviewed)} of them were read by hand, {len(wrong)} judged not to deserve it, {len(long_revise) - len(reviewed)} not read. Flags they carry (minor
flags, which alone do not make `revise`): {", ".join(f"{c} {n}" for c, n in long_flags.most_common()) or "none"}.

{MANUAL_REVIEW}

### Where checker and labels disagree

False alarms against the labels ({len(fps)}) by the flag that decided: {", ".join(f"{c} {n}" for c, n in fp_kinds.most_common())}.
Missed vague replies ({len(fns)}) by kind: {", ".join(f"{c} {n}" for c, n in fn_kinds.most_common())}.

Why. The labels are one team's, and they accept a forwarding notice in some replies and not in others: of the
{counts["forwarded_only"]} `forwarded_only` replies the labels call {sum(1 for r, g in zip(results, gold, strict=True) if "forwarded_only" in r.codes and not g)} fine, and {mixed_rows} replies sit in
{len(mixed)} groups of identical text (ids and dates aside) labelled both ways{_mixed_note(mixed_example)}. The
checker follows the issue's definition (a transfer with no result, no next step and no number is
`forwarded_only`), so those count as false alarms here. Most missed vague replies ask the citizen for details
("因您未提供联系方式…") or send them to a named office with a phone number: the first is sometimes the only honest
answer and the second names who and how, so neither is flagged by design; the rest are short answers of the
office's own ("M市尚未出台相关文件") that the labels find too thin but that do answer.

Most confident `revise` where the label says fine (lowest score first):

{table(["id", "title", "reply", "score", "flags"], [example(k) for k in fps[:8]])}

Most confident `ok` where the label says vague (highest score first):

{table(["id", "title", "reply", "score", "flags"], [example(k) for k in fns[:8]])}

### Speed (one process, in memory)

Load on the machine's 2 cores during this run (load average {load_before:.1f} before, {load_after:.1f}
after), wall-clock figures include any waiting for a core, CPU time is what one check costs this process.

| figure | wall clock | CPU time | target |
|---|---|---|---|
| batch (`check_many`, all 2,816 with dates and near-duplicates) | **{batch_rate:.0f} checks/s** | {batch_cpu_rate:.0f} checks/s | ≥ 500 |
| single check p50 / p95 / p99 | {single["p50"]:.2f} / {single["p95"]:.2f} / **{single["p99"]:.2f}** ms | {single_cpu["p50"]:.2f} / {single_cpu["p95"]:.2f} / {single_cpu["p99"]:.2f} ms | p99 ≤ 20 ms |
| peak memory | {peak_rss_mb()} MB | | |
"""
    body += _gate_section(rows, results, gold, checker)
    write_section("quality", "Reply quality check (issue 4)", "python -m benchmarks.quality", body)
    print(body)


def hand_written(checker: QualityChecker) -> dict[str, dict[str, list[str]]]:
    """The ids of the hand-written replies the gate gets wrong, per set and half.

    benchmarks/data holds short substantive and boilerplate replies written for issue 16 (different
    wording from the issue's examples). The `_short` sets: rules tuned on the odd ids only, the even
    ids held out. The `_fresh` sets were written after all tuning, as an untouched check.
    """
    out: dict[str, dict[str, list[str]]] = {}
    for name, want in (("substantive", "ok"), ("boilerplate", "revise")):
        halves: dict[str, list[str]] = {"tuned": [], "held-out": [], "fresh": [], "wrong": []}
        for part in ("short", "fresh"):
            with open(HAND_WRITTEN / f"quality_{name}_{part}.csv", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
            for r in rows:
                half = "fresh" if part == "fresh" else "tuned" if int(r["id"][1:]) % 2 else "held-out"
                halves[half].append(r["id"])
                result = checker.check(
                    {"title": r["title"], "body": r["body"]},
                    r["reply"],
                    request_type=r["request_type"] or None,
                )
                if result.verdict != want:
                    halves["wrong"].append(r["id"])
        out[name] = halves
    return out


def _share(wrong: list[str], ids: list[str]) -> str:
    n = sum(i in wrong for i in ids)
    return f"{n} / {len(ids)} ({n / len(ids):.0%})"


def _gate_section(rows, results, gold, checker: QualityChecker) -> str:
    """Issue 16's figures: no_decision on the public file, the hand-written sets, how tuning was kept honest."""
    nd = [k for k, r in enumerate(results) if "no_decision" in r.codes]
    only_nd = [k for k in nd if results[k].score + checker.rules.flags["no_decision"].weight >= 60]
    kinds: Counter = Counter()
    for k in only_nd:
        row = rows[k]
        petition = normalize(f"{row['留言主题']}。{row['留言详情'][:800]}")
        title_type = next(
            (t for t, words in checker.rules.type_from_title if any(w in row["留言主题"] for w in words)),
            None,
        )
        problem = weigh(
            read_reply(normalize(row["答复意见"]), checker.rules, petition), checker.rules, title_type
        )
        kinds[(problem.problem, gold[k])] += 1
    names = {"nothing": "no finding/result/action/decision", "deferral": "bare deferral",
             "info_request": "info request, no next step", "referral": "bare referral"}  # fmt: skip
    kind_rows = [
        [names.get(p, str(p)), kinds[(p, True)], kinds[(p, False)]]
        for p in ("nothing", "deferral", "info_request", "referral")
    ]
    zero = sum(gold)
    caught = sum(r.verdict == "revise" for r, g in zip(results, gold, strict=True) if g)
    long_idx = [k for k, r in enumerate(rows) if len(_SPACE.sub("", r["答复意见"])) > LONG_CHARS]
    long_nd = sum("no_decision" in results[k].codes for k in long_idx)
    hand = hand_written(checker)
    sub, boil = hand["substantive"], hand["boilerplate"]
    hand_rows = [
        [label, *(_share(h["wrong"], h[part]) for part in ("tuned", "held-out", "fresh"))]
        for label, h in (
            ("substantive (must pass): flagged", sub),
            ("boilerplate (must be flagged): missed", boil),
        )
    ]
    return f"""
### Content gate (issue 16): restating and stock phrases are not content, `no_decision`

A reply to a 投诉, a 求助 or a petition of unknown type must carry a finding (经核实 + a fact), a result,
an action with who or when, a decision with its reason, a referral naming a body and how to reach it
(not for 投诉), or at least {checker.rules.substance.own_words_enough} characters of its own; what restates the petition
(runs of {checker.rules.substance.echo_chars} characters copied from it) and stock phrases (认真研究, 妥善处理, 专人跟进 …) are
blanked first. Bare deferrals, requests for more without a next step and referrals naming nobody are
`no_decision` for every type. The issue's five replies (“…高度重视，将进一步加强管理”, “将会同相关部门认真研究，
妥善处理，争取早日解决”, “已安排专人跟进…请耐心等待”, “您的建议已收集，将认真考虑”, “待下一轮调整时一并考虑”)
are all `revise` with `no_decision` (tests/test_quality_substance.py).

**Public file.** `no_decision` on {len(nd)} replies, {long_nd}
of them over {LONG_CHARS} characters; long replies marked `revise`: see the false-alarm section above (target ≤ 5 %).
The label-0 boilerplate caught (`revise`): **{caught} / {zero} ({caught / zero:.1%})**, 0.895 before the content gate.
Replies where `no_decision` alone made the verdict, by kind and by label (label 0 = the team calls it vague):

{table(["kind", "label 0 (vague)", "label 1 (fine)"], kind_rows)}

The label-1 rows are most of the precision lost against these labels: the team accepted many replies
that the issue defines as boilerplate (“待下一轮公交线网优化调整时，将认真予以考虑”, “建议您直接和物业公司进行
沟通”, “已将此问题按程序转交…”), so they are not false alarms on substantive replies; the substantive
measures are the long replies above and the hand-written short replies below.

**Hand-written short replies** (`benchmarks/data/quality_{{substantive,boilerplate}}_short.csv`, 36 + 36
replies to 36 petitions of every type, and `…_fresh.csv`, 12 + 12 more; all written for this benchmark in
wording different from the issue's examples):

{table(["set", "tuned half (short, odd ids)", "held-out half (short, even ids)", "fresh (written after tuning)"], hand_rows)}

How tuning was kept off one corpus: the short sets were written before the gate was run on them; the
first run (rules tuned only on the public file's replies) flagged 0 / 36 substantive replies and missed
11 / 36 boilerplate ones. The rules were then tuned on the odd ids only; the even (held-out) half then
missed 6 / 18. Five of those misses showed general gaps that were then fixed (“已经了解” read as the
finding marker 经了解, “查处” read as a body named …处, “已通知相关责任单位” read as a result, an
“无法核实” request read as a decision, “正在研究中” and “请您详细说明” not recognised), so the held-out
figure in the table is after looking at it. The fresh sets were then written and run once: 0 / 12
substantive flagged, 2 / 12 boilerplate missed (a 咨询 answered “具体以公交公司规定为准”, and “涉及多方面
因素…条件成熟时推进”, where 因素 was read as the reason word 因; that one bug was fixed afterwards).
Misses left ({", ".join(boil["wrong"]) or "none"}) are 咨询 replies that point at “the rules” without
answering: a 咨询 is not required to carry substance, only not to defer or refer. No substantive reply was
flagged at any step, so the ≤ 5 % false-alarm target holds on both corpora: long public replies and
short written ones.
"""


def _mixed_note(example: tuple[str, list[bool]] | None) -> str:
    if example is None:
        return ""
    text, labels = example
    return f" (e.g. “{snippet(text, 40)}”: {labels.count(True)} × vague, {labels.count(False)} × fine)"


_ASKS_DETAILS = re.compile(r"未提供|没有填写|未留下|不具体|不详|笼统|信息不足|表述|请提供|说详细|联系方式")


def _fn_kind(reply: str, result: QualityResult) -> str:
    """Why a reply the labels call vague passed: the patterns seen while reading them."""
    if _ASKS_DETAILS.search(reply):
        return "asks the citizen for details"
    if re.search(r"咨询|联系|致电|拨打", reply) and re.search(r"\d{3,}", reply):
        return "refers to a named office with a number"
    if len(_SPACE.sub("", reply)) > LONG_CHARS:
        return "long reply"
    return "short answer of its own"


if __name__ == "__main__":
    main()
