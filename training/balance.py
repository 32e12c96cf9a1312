"""Rare labels and imbalance in labelled history: what to do about them, and saying so.

A real export has labels with one or two petitions (a model cannot hold one out and
cross-validate it) and often one class holding most rows. Training refuses the first unless the
admin chooses to drop or merge them (`--min-examples N --rare drop|merge`), and warns of the
second, so neither is decided silently.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from training.data import LabelledData

DEFAULT_MERGE_LABEL = "其他"
MAJORITY_SHARE = 0.5  # one class over half the rows
MAX_MIN_RATIO = 20.0  # the largest class 20 times the smallest


@dataclass
class RareReport:
    min_examples: int
    mode: str
    into: str | None = None
    labels: dict[str, int] = field(default_factory=dict)  # label → rows it had

    def to_dict(self) -> dict[str, Any]:
        rows = sum(self.labels.values())
        key = "merged" if self.mode == "merge" else "dropped"
        out: dict[str, Any] = {"min_examples": self.min_examples, key: self.labels, "rows": rows}
        if self.mode == "merge":
            out["into"] = self.into
        return out

    def message(self) -> str:
        if not self.labels:
            return f"no label has fewer than {self.min_examples} examples"
        listed = ", ".join(
            f"{label} ({n})" for label, n in sorted(self.labels.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        rows = sum(self.labels.values())
        if self.mode == "merge":
            return f"merged {len(self.labels)} label(s) with fewer than {self.min_examples} examples into {self.into!r} ({rows} rows): {listed}"
        return f"dropped {len(self.labels)} label(s) with fewer than {self.min_examples} examples ({rows} rows): {listed}"


def handle_rare(
    data: LabelledData,
    min_examples: int,
    mode: Literal["drop", "merge"] = "drop",
    into: str = DEFAULT_MERGE_LABEL,
) -> tuple[LabelledData, RareReport]:
    """Drop the rows of labels with fewer than `min_examples` rows, or relabel them `into`."""
    if min_examples < 1:
        raise ValueError("min_examples must be at least 1")
    counts = Counter(data.labels)
    rare = {label: n for label, n in counts.items() if n < min_examples and label != into}
    report = RareReport(min_examples, mode, into if mode == "merge" else None, rare)
    if not rare:
        return data, report
    texts, labels, rows = [], [], []
    for text, label, row in zip(data.texts, data.labels, data.rows, strict=True):
        if label in rare:
            if mode == "drop":
                continue
            label = into
        texts.append(text)
        labels.append(label)
        rows.append(row)
    return LabelledData(texts=texts, labels=labels, source=data.source, rows=rows), report


def imbalance_warning(labels: list[str]) -> str | None:
    """A warning when one class has over half the rows or the largest dwarfs the smallest."""
    counts = Counter(labels)
    if len(counts) < 2:
        return None
    ranked = counts.most_common()
    (top, n_top), (low, n_low) = ranked[0], ranked[-1]
    total = len(labels)
    if n_top / total > MAJORITY_SHARE:
        return (
            f"{n_top} of {total} rows are {top} ({n_top / total:.0%}): the model will lean towards it, "
            "and accuracy says little; read the per-label recall and macro-F1"
        )
    if n_top / n_low >= MAX_MIN_RATIO:
        return (
            f"{top} has {n_top} rows and {low} only {n_low} ({n_top / n_low:.0f}×): "
            f"expect low recall for {low} and the other small classes"
        )
    return None
