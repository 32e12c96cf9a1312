"""Loaders for the known public formats, the user's own CSV, and the bundled sample corpus.

Every loader returns plain dicts with the project's own field names (title, body, label,
reply, …), so the rest of the code never sees a source's column names.
"""

from datasets.loaders import (
    SAMPLE_DIR,
    load_category_test,
    load_category_train,
    load_gov_qa,
    load_mapped_csv,
    load_msgabench_messages,
    load_replies,
    load_sample,
    load_taidi_raw,
    shared_datasets_dir,
)

__all__ = [
    "SAMPLE_DIR",
    "load_category_test",
    "load_category_train",
    "load_gov_qa",
    "load_mapped_csv",
    "load_msgabench_messages",
    "load_replies",
    "load_sample",
    "load_taidi_raw",
    "shared_datasets_dir",
]
