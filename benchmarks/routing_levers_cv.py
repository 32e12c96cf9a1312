"""Choosing `triage train`'s defaults without looking at the test file (issue 19, items 1 and 3).

    python -m benchmarks.routing_levers_cv [--only NAME ...] [--folds 2]

The public training rows are segmented with stop words removed, while the petitions a deployment
classifies are raw, so cross-validation on the segmented rows alone cannot judge the levers that
exist for that mismatch. `segmented_to_raw_matches.csv` links training rows to their raw messages
in files that are *not* the test file (热点留言, 留言与答复意见, 赛后测试数据): those rows, in
their raw form, are the development set. Each configuration is fitted on every other training row
(segmented) and scores the development rows (raw title + body) in `--folds` folds; with item 3's
lever the other folds' development rows are trained on in their raw form instead of segmented.
The test file is not read here: `benchmarks.admin_routing` scores the chosen defaults on it once.
Writes the "routing-levers-cv" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable

from sklearn.metrics import accuracy_score, f1_score

from benchmarks.classify import taxonomy_keywords
from datasets import load_category_train
from datasets.loaders import load_taidi_raw, shared_datasets_dir
from training.bench import table, write_section
from triage.classifier import PetitionClassifier
from triage.csvio import read_csv
from triage.text import petition_text

# 匹配文件 → the raw file it names; the test file's two sources (留出921, 示例数据_495) are left out
RAW_FILES = {
    "附件3_热点留言_4326": "hot_messages_4326.csv",
    "附件4_留言与答复意见_2816": "replies_2816.csv",
    "附件2_赛后测试数据_2801": "messages_unlabelled_2801.csv",
}
TEST_SOURCES = ("附件2_留出921", "附件2_示例数据_495")
# share of the segmented row's 4-grams found in the raw message (checked by eye: 0.3 is the same message)
MIN_MATCH = 0.3


def development_rows() -> list[dict[str, str]]:
    """Training rows with a raw form outside the test file: {row, text (raw), segmented, label}."""
    root = shared_datasets_dir()
    if root is None:
        raise FileNotFoundError("../shared/datasets is not present (set TRIAGE_SHARED_DATASETS)")
    _, matches = read_csv(root / "taidi2020c" / "segmented_to_raw_matches.csv")
    best: dict[str, tuple[float, str, str]] = {}
    near_test: set[str] = set()
    for m in matches:
        row, source, score = m["分词行号"], m["匹配文件"], float(m["匹配得分_4gram覆盖率"])
        if source in TEST_SOURCES:
            near_test.add(row)
        elif source in RAW_FILES and score >= MIN_MATCH and score > best.get(row, (0.0, "", ""))[0]:
            best[row] = (score, source, m["留言编号"])
    raw: dict[tuple[str, str], str] = {}
    for source, file in RAW_FILES.items():
        for item in load_taidi_raw(file):
            raw[(source, item["id"])] = petition_text(item["title"], item["body"])
    out = []
    for train_row in load_category_train():
        key = train_row["row"]
        if key in best and key not in near_test:
            _, source, message_id = best[key]
            if (source, message_id) in raw:
                out.append(
                    {
                        "row": key,
                        "text": raw[(source, message_id)],
                        "segmented": train_row["text"],
                        "label": train_row["label"],
                    }
                )
    return out


Config = Callable[[], PetitionClassifier]


def configurations() -> dict[str, tuple[str, Config, bool]]:
    """name → (what it changes, model factory, train on the raw form of linked rows)."""
    keywords = taxonomy_keywords()
    return {
        "defaults before": ("char(1,3) + words, multinomial calibration", PetitionClassifier, False),
        "function words": (
            "function words dropped from raw text",
            lambda: PetitionClassifier(drop_function_words=True),
            False,
        ),
        "temperature": (
            "temperature calibration",
            lambda: PetitionClassifier(calibration="temperature"),
            False,
        ),
        "keywords": (
            "taxonomy keyword features",
            lambda: PetitionClassifier(keywords=keywords),
            False,
        ),
        "raw text": ("linked rows trained on raw text (item 3)", PetitionClassifier, True),
        "all three": (
            "function words + temperature + keywords",
            lambda: PetitionClassifier(
                drop_function_words=True, calibration="temperature", keywords=keywords
            ),
            False,
        ),
        "all three + raw": (
            "function words + temperature + keywords, raw text",
            lambda: PetitionClassifier(
                drop_function_words=True, calibration="temperature", keywords=keywords
            ),
            True,
        ),
        "fw + keywords": (
            "function words + keywords",
            lambda: PetitionClassifier(drop_function_words=True, keywords=keywords),
            False,
        ),
    }


def evaluate_configuration(
    factory: Config, use_raw: bool, train: list[dict[str, str]], dev: list[dict[str, str]], folds: int
) -> tuple[float, float, float]:
    """Mean macro-F1 and accuracy over the folds, and the mean fit seconds."""
    dev_rows = {r["row"] for r in dev}
    others = [r for r in train if r["row"] not in dev_rows]
    f1s, accs, fits = [], [], []
    for k in range(folds):
        held = [r for i, r in enumerate(dev) if i % folds == k]
        rest = [r for i, r in enumerate(dev) if i % folds != k]
        texts = [r["text"] for r in others] + [r["text"] if use_raw else r["segmented"] for r in rest]
        labels = [r["label"] for r in others] + [r["label"] for r in rest]
        start = time.perf_counter()
        model = factory().fit(texts, labels)
        fits.append(time.perf_counter() - start)
        predicted = [
            str(model.classes_[i]) for i in model.predict_proba([r["text"] for r in held]).argmax(axis=1)
        ]
        gold = [r["label"] for r in held]
        f1s.append(f1_score(gold, predicted, average="macro"))
        accs.append(accuracy_score(gold, predicted))
    return sum(f1s) / folds, sum(accs) / folds, sum(fits) / folds


def reading(rows: list[tuple[str, ...]]) -> str:
    """What the table says about the defaults, in words (from the figures of this run)."""
    scores = {name: float(f1) for name, _, f1, _, _ in rows}
    base = scores.get("defaults before")
    if base is None:
        return ""
    better = [f"{name} (+{scores[name] - base:.4f})" for name in scores if scores[name] > base + 0.005]
    worse = [f"{name} ({scores[name] - base:+.4f})" for name in scores if name != "defaults before"]
    return (
        "Reading: a difference under about 0.01 is noise here (one development petition is 0.27 % of "
        "accuracy; the smallest label has 14). "
        + (
            f"Levers that beat the defaults by more than 0.005: {', '.join(better)}."
            if better
            else "No lever beats the defaults on the raw development rows, so `triage train` keeps them "
            "(char 1-3-grams and words, multinomial calibration, no function-word removal); keyword "
            "features stay a per-deployment input (the routing table, `--keywords`) rather than a default."
        )
        + f" Against the defaults: {', '.join(worse)}."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", help="configuration names to run (default: all)")
    parser.add_argument("--folds", type=int, default=2)
    args = parser.parse_args()

    train = load_category_train()
    dev = development_rows()
    by_label: dict[str, int] = defaultdict(int)
    for r in dev:
        by_label[r["label"]] += 1
    print(f"development rows: {len(dev)} {dict(sorted(by_label.items()))}", flush=True)
    rows = []
    for name, (lever, factory, use_raw) in configurations().items():
        if args.only and name not in args.only:
            continue
        f1, acc, fit = evaluate_configuration(factory, use_raw, train, dev, args.folds)
        rows.append((name, lever, f"{f1:.4f}", f"{acc:.4f}", f"{fit:.0f} s"))
        print(" | ".join(rows[-1]), flush=True)
    body = (
        f"Development set: the {len(dev)} training rows whose raw message is in a file other than the test "
        f"file (4-gram coverage ≥ {MIN_MATCH}; labels {dict(sorted(by_label.items()))}), scored raw "
        f"(title + body) in {args.folds} folds; each fold's model is fitted on the other "
        f"{len(train) - len(dev)} training rows and the other folds' development rows. The test file is not "
        "read: it is scored once per chosen configuration by `python -m benchmarks.admin_routing`.\n\n"
        + table(["configuration", "lever", "macro-F1 (dev, raw)", "accuracy", "fit"], rows)
        + "\n\n"
        + reading(rows)
    )
    write_section(
        "routing-levers-cv",
        "Routing levers chosen on raw development rows (issue 19)",
        "python -m benchmarks.routing_levers_cv",
        body,
    )


if __name__ == "__main__":
    main()
