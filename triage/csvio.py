"""Reading CSV exports in whichever encoding they come in, with errors that name row and column.

Hotline exports come from Excel as often as from databases, so the encoding is detected (UTF-8,
UTF-8 with BOM, GB18030) instead of assumed, and every problem is reported with the row number a
clerk sees when opening the file in a spreadsheet (the header is row 1).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path

from triage.text import MAX_TEXT_CHARS, petition_text

ENCODINGS = ("utf-8-sig", "gb18030")

csv.field_size_limit(10 * 1024 * 1024)


class DataError(ValueError):
    """A problem in an input file, located precisely enough to fix it in a spreadsheet."""

    def __init__(
        self,
        path: str | Path,
        message: str,
        row: int | None = None,
        column: str | None = None,
    ):
        self.path, self.row, self.column = str(path), row, column
        where = [self.path]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}")


def detect_encoding(raw: bytes) -> str:
    """UTF-8 (with or without BOM) first; GB18030 is a superset of GBK/GB2312 used by Excel in China."""
    for encoding in ENCODINGS:
        try:
            raw.decode(encoding)
            return encoding
        except UnicodeDecodeError:
            continue
    raise UnicodeDecodeError("utf-8/gb18030", raw[:1], 0, 1, "neither UTF-8 nor GB18030")


def read_csv(path: str | Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows of a CSV file in whichever supported encoding it uses."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    raw = path.read_bytes()
    try:
        encoding = detect_encoding(raw)
    except UnicodeDecodeError:
        raise DataError(path, "cannot decode: not UTF-8, UTF-8 with BOM or GB18030") from None
    text = raw.decode(encoding)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        rows = [dict(row) for row in reader]
    except csv.Error as exc:
        raise DataError(path, f"malformed CSV: {exc}", row=reader.line_num) from None
    header = [h.strip() for h in (reader.fieldnames or [])]
    rows = [{(k or "").strip(): (v or "") for k, v in row.items()} for row in rows]
    return header, rows


def parse_columns(spec: str | Sequence[str]) -> list[str]:
    """`"title,body"` → `["title", "body"]`; lists pass through."""
    if isinstance(spec, str):
        return [c.strip() for c in spec.split(",") if c.strip()]
    return [c.strip() for c in spec]


def require_columns(path: str | Path, header: Sequence[str], columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataError(
            path,
            f"missing column(s) {', '.join(repr(c) for c in missing)}; the file has {', '.join(header) or 'no header'}",
        )


def numbered(rows: list[dict[str, str]]) -> Iterator[tuple[int, dict[str, str]]]:
    """Spreadsheet row numbers: the header is row 1, so data starts at row 2."""
    return ((i + 2, row) for i, row in enumerate(rows))


def join_text(row: dict[str, str], text_cols: Sequence[str]) -> str:
    """Title and body (or any text columns) joined the way the classifier was trained."""
    values = [row.get(c, "") or "" for c in text_cols]
    if len(values) == 2:
        return petition_text(values[0], values[1])
    return "。".join(v.strip() for v in values if v.strip())


def petition_text_of(row: dict[str, str]) -> str:
    """The petition text of a record with `title` and `body` fields."""
    return petition_text(row.get("title"), row.get("body"))


def checked_text(path: str | Path, row: dict[str, str], number: int, text_cols: Sequence[str]) -> str:
    """The row's petition text, or a DataError naming the row when it is empty or too long."""
    text = join_text(row, text_cols)
    if not text.strip():
        raise DataError(path, "empty text", row=number, column=",".join(text_cols))
    if len(text) > MAX_TEXT_CHARS:
        raise DataError(
            path, f"text over {MAX_TEXT_CHARS} characters", row=number, column=",".join(text_cols)
        )
    return text
