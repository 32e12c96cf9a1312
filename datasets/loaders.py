"""Readers for each known CSV shape, mapping source columns onto the project's field names."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from triage.csvio import DataError, read_csv, require_columns

SAMPLE_DIR = Path(__file__).parent / "sample"
REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_datasets_dir() -> Path | None:
    """`TRIAGE_SHARED_DATASETS`, else `../shared/datasets` beside the checkout; None when absent."""
    configured = os.environ.get("TRIAGE_SHARED_DATASETS")
    path = Path(configured) if configured else REPO_ROOT.parent / "shared" / "datasets"
    return path if path.is_dir() else None


def _shared(relative: str, path: str | Path | None) -> Path:
    if path is not None:
        return Path(path)
    root = shared_datasets_dir()
    if root is None:
        raise FileNotFoundError("../shared/datasets is not present (set TRIAGE_SHARED_DATASETS)")
    return root / relative


def load_mapped_csv(path: str | Path, mapping: Mapping[str, str]) -> list[dict[str, str]]:
    """A user's own CSV: `mapping` names, for each project field, the column that holds it."""
    header, rows = read_csv(path)
    require_columns(path, header, list(mapping.values()))
    return [{field: (row.get(column) or "").strip() for field, column in mapping.items()} for row in rows]


def load_category_train(path: str | Path | None = None) -> list[dict[str, str]]:
    """benchmarks/category_train.csv: jieba-segmented text (stop words removed) and label."""
    return load_mapped_csv(
        _shared("benchmarks/category_train.csv", path), {"row": "row", "text": "text", "label": "label"}
    )


def load_category_test(path: str | Path | None = None) -> list[dict[str, str]]:
    """benchmarks/category_test.csv: raw held-out messages with gold labels."""
    return load_mapped_csv(
        _shared("benchmarks/category_test.csv", path),
        {"id": "message_id", "title": "title", "body": "body", "created_at": "created_at", "label": "label"},
    )


def load_replies(name: str = "reply_history", path: str | Path | None = None) -> list[dict[str, str]]:
    """benchmarks/reply_history.csv or reply_queries.csv: messages with the official reply."""
    return load_mapped_csv(
        _shared(f"benchmarks/{name}.csv", path),
        {
            "id": "message_id",
            "title": "title",
            "body": "body",
            "created_at": "created_at",
            "reply": "reply",
            "replied_at": "replied_at",
        },
    )


_TAIDI_LABEL_COLUMNS = ("一级分类", "一级标签")


def load_taidi_raw(file: str, path: str | Path | None = None) -> list[dict[str, str]]:
    """A raw taidi2020c message file (留言编号, 留言主题, 留言详情, …) with its label where it has one."""
    source = _shared(f"taidi2020c/{file}", path)
    header, rows = read_csv(source)
    require_columns(source, header, ["留言编号", "留言主题", "留言详情"])
    label_col = next((c for c in _TAIDI_LABEL_COLUMNS if c in header), None)
    optional = {
        "created_at": "留言时间",
        "reply": "答复意见",
        "replied_at": "答复时间",
        "likes": "点赞数",
        "dislikes": "反对数",
    }
    out = []
    for row in rows:
        item = {
            "id": row["留言编号"].strip(),
            "title": row["留言主题"].strip(),
            "body": row["留言详情"].strip(),
        }
        for field, column in optional.items():
            if column in header:
                item[field] = (row.get(column) or "").strip()
        if label_col:
            item["label"] = (row.get(label_col) or "").strip()
        out.append(item)
    return out


def load_msgabench_messages(path: str | Path | None = None) -> list[dict[str, str]]:
    """msgabench/messages_11529.csv: text with request type (问题类型), domain and sentiment."""
    return load_mapped_csv(
        _shared("msgabench/messages_11529.csv", path),
        {"body": "留言", "sentiment": "情感类别", "request_type": "问题类型", "domain": "问题领域"},
    )


def load_gov_qa(path: str | Path | None = None) -> list[dict[str, str]]:
    """msgabench/gov_qa_2081.csv: curated question, official answer and handling department."""
    return load_mapped_csv(
        _shared("msgabench/gov_qa_2081.csv", path),
        {"question": "用户问题", "answer": "正文内容", "department": "处理单位"},
    )


SAMPLE_FIELDS = (
    "id",
    "title",
    "body",
    "department",
    "request_type",
    "received_at",
    "reply",
    "replied_at",
    "reply_quality",
)


def load_sample(directory: str | Path = SAMPLE_DIR) -> list[dict[str, str]]:
    """The project's own sample petitions (every petitions_*.csv), in a stable order."""
    files = sorted(Path(directory).glob("petitions_*.csv"))
    if not files:
        raise DataError(directory, "no petitions_*.csv sample files")
    rows: list[dict[str, str]] = []
    for file in files:
        rows.extend(load_mapped_csv(file, {f: f for f in SAMPLE_FIELDS}))
    return rows
