"""A small labelled CSV whose labels the routing table does not all route, cut from the sample."""

from __future__ import annotations

import csv
from pathlib import Path

# 住建局 → a category the table routes (label set `category`); the other two are new labels,
# as when a model is trained on a real export's own categories.
RENAMED = {"住建局": "城乡建设", "民政局": "社会救助", "教育局": "学前教育"}


def unrouted_csv(path: Path, per_label: int = 12) -> Path:
    """Write title,body,label rows: `per_label` sample petitions of each department in RENAMED."""
    from datasets import load_sample

    taken: dict[str, int] = {}
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["title", "body", "label"])
        for row in load_sample():
            label = RENAMED.get(row["department"])
            if label and taken.get(label, 0) < per_label:
                taken[label] = taken.get(label, 0) + 1
                writer.writerow([row["title"], row["body"], label])
    return path


def train_unrouted(root: Path) -> Path:
    """A bundle (not live) under `root`/models trained on `unrouted_csv`; returns its folder."""
    from training.bundles import ModelRegistry
    from training.data import load_labelled_csv
    from training.train import train_bundle

    root.mkdir(parents=True, exist_ok=True)
    data = load_labelled_csv(unrouted_csv(root / "train.csv"), "title,body", "label")
    return train_bundle(
        data, ModelRegistry(root / "models"), label_col="label", text_cols=["title", "body"]
    ).path
