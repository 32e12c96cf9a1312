"""Labelled history for training: texts and labels from a CSV export, validated before fitting."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from triage.csvio import (
    DataError,
    checked_text,
    numbered,
    parse_columns,
    read_csv,
    require_columns,
)

MIN_EXAMPLES_PER_LABEL = 3


@dataclass
class LabelledData:
    texts: list[str]
    labels: list[str]
    source: str
    rows: list[int]

    def __len__(self) -> int:
        return len(self.texts)

    def label_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(self.labels).items(), key=lambda kv: (-kv[1], kv[0])))

    def data_hash(self) -> str:
        digest = hashlib.sha256()
        for text, label in zip(self.texts, self.labels, strict=True):
            digest.update(text.encode("utf-8"))
            digest.update(b"\x1f")
            digest.update(label.encode("utf-8"))
            digest.update(b"\x1e")
        return digest.hexdigest()

    def validate(self, min_per_label: int = MIN_EXAMPLES_PER_LABEL) -> None:
        """Refuse data that cannot be held out and cross-validated, naming the labels."""
        counts = Counter(self.labels)
        if len(counts) < 2:
            raise DataError(self.source, f"needs at least two different labels, found {len(counts)}")
        rare = {label: n for label, n in counts.items() if n < min_per_label}
        if rare:
            listed = ", ".join(f"{label!r} ({n})" for label, n in sorted(rare.items()))
            raise DataError(
                self.source,
                f"each label needs at least {min_per_label} examples to train and evaluate; too few for {listed} "
                f"(triage train --min-examples {min_per_label} --rare drop|merge drops or merges them)",
            )


def load_labelled_csv(path: str | Path, text_cols: str | Sequence[str], label_col: str) -> LabelledData:
    """Rows with text and label; an empty label or an empty/oversized text is an error, not a skip.

    Silently dropping rows would let a broken export train a model on a fraction of the history.
    """
    columns = parse_columns(text_cols)
    header, rows = read_csv(path)
    require_columns(path, header, [*columns, label_col])
    texts, labels, numbers = [], [], []
    for number, row in numbered(rows):
        label = (row.get(label_col) or "").strip()
        if not label:
            raise DataError(path, "empty label", row=number, column=label_col)
        texts.append(checked_text(path, row, number, columns))
        labels.append(label)
        numbers.append(number)
    if not texts:
        raise DataError(path, "no data rows")
    return LabelledData(texts=texts, labels=labels, source=str(path), rows=numbers)
