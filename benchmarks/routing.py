"""Routing figures: request-type macro-F1 (msgabench), co-handling coverage vs precision
(category data), out-of-scope precision/recall (the project's labelled sample).

    python -m benchmarks.routing

Writes the "routing" section of docs/benchmarks.md. Needs ../shared/datasets.
"""

from __future__ import annotations

import csv
import os
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

from datasets import load_category_test, load_category_train, load_msgabench_messages
from training.bench import table, write_section
from triage.classifier import PetitionClassifier
from triage.routing import OutOfScopeDetector
from triage.routing.cohandling import cohandling_curve, fit_min_probability
from triage.text import petition_text

SAMPLE = Path(__file__).resolve().parent.parent / "tests" / "data" / "out_of_scope_sample.csv"
GRID = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4)


def request_type() -> tuple[str, dict]:
    rows = [r for r in load_msgabench_messages() if r["body"].strip() and r["request_type"].strip()]
    texts = [r["body"] for r in rows]
    labels = [r["request_type"] for r in rows]
    x_tr, x_te, y_tr, y_te = train_test_split(texts, labels, test_size=0.2, stratify=labels, random_state=0)
    started = time.perf_counter()
    model = PetitionClassifier().fit(x_tr, y_tr)
    fit_s = time.perf_counter() - started
    pred = model.predict(x_te)
    majority = Counter(y_tr).most_common(1)[0][0]
    f1 = f1_score(y_te, pred, average="macro")
    base = f1_score(y_te, [majority] * len(y_te), average="macro")
    per = f1_score(y_te, pred, average=None, labels=sorted(set(labels)))
    acc = float(np.mean(np.asarray(pred) == np.asarray(y_te)))
    body = (
        f"msgabench `messages_11529.csv`, column 问题类型; stratified 80/20 split (seed 0): "
        f"{len(x_tr)} train, {len(x_te)} held out. `PetitionClassifier` with default parameters "
        f"(fit {fit_s:.0f} s).\n\n"
        + table(
            ["model", "macro-F1", "accuracy"],
            [
                ["request-type classifier", f"{f1:.3f}", f"{acc:.3f}"],
                [
                    f"majority class ({majority})",
                    f"{base:.3f}",
                    f"{float(np.mean(np.asarray(y_te) == majority)):.3f}",
                ],
            ],
        )
        + "\n\nPer type F1: "
        + ", ".join(f"{lab} {v:.3f}" for lab, v in zip(sorted(set(labels)), per, strict=True))
    )
    return body, {"macro_f1": f1, "baseline": base}


def cohandling() -> tuple[str, dict]:
    train = load_category_train()
    texts = [r["text"] for r in train]
    labels = [r["label"] for r in train]
    x_fit, x_hold, y_fit, y_hold = train_test_split(
        texts, labels, test_size=0.2, stratify=labels, random_state=0
    )
    model = PetitionClassifier().fit(x_fit, y_fit)
    classes = [str(c) for c in model.classes_]
    fitted = fit_min_probability(
        model.predict_proba(x_hold), y_hold, classes, target_precision=0.3, thresholds=GRID
    )
    test = load_category_test()
    proba = model.predict_proba([petition_text(r["title"], r["body"]) for r in test])
    y = [r["label"] for r in test]
    curve = cohandling_curve(proba, y, classes, thresholds=GRID)
    rows = [
        [
            f"{c['threshold']:.2f}" + (" (fitted)" if abs(c["threshold"] - fitted) < 1e-9 else ""),
            f"{c['with_assist']:.1%}",
            f"{c['assist_precision']:.1%}",
            f"{c['lead_accuracy']:.1%}",
            f"{c['lead_or_assist']:.1%}",
        ]
        for c in curve
    ]
    body = (
        "Department model trained on `category_train.csv` (80 %, seed 0); the co-handling threshold "
        "(`cohandling.min_probability`, at most 2 assistants) fitted on the other 20 % as the lowest "
        f"threshold whose assistants are the true label ≥ 30 % of the time: **{fitted:.2f}**. "
        f"Measured on the {len(test)} raw messages of `category_test.csv` (7 labels):\n\n"
        + table(
            [
                "min_probability",
                "petitions with assistants",
                "assistant is the true label",
                "lead correct",
                "true label in lead ∪ assist",
            ],
            rows,
        )
    )
    return body, {"fitted": fitted, "curve": curve}


def out_of_scope() -> tuple[str, dict]:
    detector = OutOfScopeDetector.from_file()
    with SAMPLE.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    got = [(d.reason if (d := detector.detect(r["title"] + "。" + r["body"])) else "") for r in rows]
    flagged = sum(1 for g in got if g)
    positives = sum(1 for r in rows if r["expected"])
    tp_reason = sum(1 for g, r in zip(got, rows, strict=True) if g and g == r["expected"])
    tp_any = sum(1 for g, r in zip(got, rows, strict=True) if g and r["expected"])
    test = load_category_test()
    real = Counter(d.reason for r in test if (d := detector.detect(petition_text(r["title"], r["body"]))))
    body = (
        f"Labelled sample `tests/data/out_of_scope_sample.csv`: {len(rows)} petitions written for this "
        f"project, {positives} out of scope (诉讼, 仲裁, 纪检监察, 行政复议, 信访程序, 国家秘密, 他人隐私) and "
        f"{len(rows) - positives} in scope, many of them near misses (asking *whether* to sue or how to apply "
        "for arbitration, a court summons delivered to the wrong door, one's own data). The sample was "
        "written alongside the rules, so these figures are optimistic.\n\n"
        + table(
            ["", "value"],
            [
                ["flagged", flagged],
                ["precision (right reason)", f"{tp_reason / flagged:.3f}" if flagged else "-"],
                ["recall (right reason)", f"{tp_reason / positives:.3f}"],
                ["precision (any reason)", f"{tp_any / flagged:.3f}" if flagged else "-"],
            ],
        )
        + f"\n\nOn real data the rules flag {sum(real.values())} of the {len(test)} messages of "
        f"`category_test.csv` ({sum(real.values()) / len(test):.1%}; "
        + ", ".join(f"{k} {v}" for k, v in real.most_common())
        + "); these have no out-of-scope labels, so only the rate is reported. Read by hand, most "
        "纪检监察 flags are petitions that pair an ordinary complaint (water fees, pollution) with a call "
        "for the discipline commission to investigate: they go to the manual queue for staff to split, "
        "which is the intended handling, but they are not clean out-of-scope cases."
    )
    return body, {"precision": tp_reason / flagged if flagged else 0.0, "recall": tp_reason / positives}


def latency() -> tuple[str, dict]:
    """The engine's own cost per petition (classification excluded): rules, place, deadline."""
    from datasets import load_sample
    from training.bench import percentiles, time_each
    from triage.classifier import Prediction
    from triage.routing import RoutingEngine

    engine = RoutingEngine.from_file(Path(__file__).resolve().parent.parent / "config" / "routing.yaml")
    rows = load_sample()
    top = [{"label": "城管局", "probability": 0.6}, {"label": "生态环境局", "probability": 0.3}]
    prediction = Prediction(label="城管局", confidence=0.6, abstain=False, top_k=top)
    samples: list[float] = []
    for row in rows:
        samples += time_each(lambda row=row: engine.route(row["title"], row["body"], prediction), 5)
    p = percentiles(samples)
    body = (
        f"`RoutingEngine.route` on the {len(rows)} bundled sample petitions, 5 times each, one core "
        "(classification not included):\n\n"
        + table(["p50 ms", "p95 ms", "p99 ms", "max ms"], [[p["p50"], p["p95"], p["p99"], p["max"]]])
    )
    return body, p


def main() -> None:
    parts = []
    for name, fn in (
        ("Request type", request_type),
        ("Co-handling", cohandling),
        ("Out of scope", out_of_scope),
        ("Engine latency", latency),
    ):
        started = time.perf_counter()
        body, figures = fn()
        print(
            f"{name}: {figures if name != 'Co-handling' else figures['fitted']} ({time.perf_counter() - started:.0f} s)"
        )
        parts.append(f"### {name}\n\n{body}")
    parts.append(
        "### Deadlines\n\nWorking-day arithmetic is checked in `tests/test_routing_rules.py` against the "
        "official 2025 and 2026 schedules (Spring Festival and National Day with their adjusted working "
        "weekends, e.g. a 咨询 received on Friday 26 Sep 2025 is due Tue 30 Sep, counting Sunday 28 Sep)."
    )
    write_section("routing", "Routing", "python -m benchmarks.routing", "\n\n".join(parts))
    print("\n\n".join(parts))


if __name__ == "__main__":
    main()
