"""Reading CSV exports in whichever encoding they come in, with errors that name row and column.

Hotline exports come from Excel as often as from databases, so the encoding is detected (UTF-8,
UTF-8 with BOM, GB18030/GBK, Big5) instead of assumed, and every problem is reported with the row
number a clerk sees when opening the file in a spreadsheet (the header is row 1).

Why detection scores text instead of trying decoders in turn: GB18030 gives a meaning to almost
every byte pair, so a Big5 file (Traditional Chinese Excel) decodes as GB18030 without an error,
into rare characters. UTF-8 is never ambiguous for Chinese text and is taken when it decodes;
otherwise every legacy candidate that decodes strictly is scored by the share of its Chinese
characters that are common ones (converted to Simplified, then looked up among the most frequent
characters of jieba's dictionary). On the bundled sample CSVs, the right decoding scores ≥ 0.99
and Big5 read as GB18030 at most 0.55.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path

from triage.text import MAX_TEXT_CHARS, petition_text, to_simplified

# Tried when the bytes are not UTF-8, in this order of preference when scores tie. Big5 as
# Windows writes it (cp950) and with the Hong Kong additions decodes files plain Big5 refuses.
LEGACY_ENCODINGS = ("gb18030", "big5", "cp950", "big5hkscs")
ENCODINGS = ("utf-8-sig", *LEGACY_ENCODINGS)
COMMON_CHARACTERS = 3500  # the size of China's list of common characters (现代汉语常用字表)
SCORE_SAMPLE_CHARS = 200_000
GARBLED_BELOW = 0.5  # share of common characters under which no candidate is believed
GARBLED_MIN_CJK = 50  # …when there are at least this many Chinese characters to judge by
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")

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


class UndecodableError(ValueError):
    """No supported encoding fits; `offset` is where the most promising one first failed."""

    def __init__(self, message: str, offset: int | None = None):
        super().__init__(message)
        self.offset = offset


@lru_cache(maxsize=1)
def common_characters() -> frozenset[str]:
    """The most frequent Chinese characters, weighted by jieba's dictionary word frequencies."""
    import jieba

    counts: Counter[str] = Counter()
    with open(Path(jieba.__file__).with_name("dict.txt"), encoding="utf-8") as fh:
        for line in fh:
            parts = line.split(" ")
            if len(parts) >= 2 and parts[1].isdigit():
                for ch in parts[0]:
                    if _CJK.match(ch):
                        counts[ch] += int(parts[1])
    return frozenset(ch for ch, _ in counts.most_common(COMMON_CHARACTERS))


def common_share(text: str) -> tuple[float, int]:
    """(share of common characters among the Chinese ones, how many Chinese characters were judged)."""
    chinese = "".join(_CJK.findall(text[:SCORE_SAMPLE_CHARS]))
    if not chinese:
        return 0.0, 0
    common = common_characters()
    simplified = to_simplified(chinese)
    return sum(ch in common for ch in simplified) / len(simplified), len(simplified)


def decode(raw: bytes) -> tuple[str, str]:
    """(text, encoding) of a file's bytes; UndecodableError when no supported encoding fits."""
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise UndecodableError(
                "starts with a UTF-8 byte-order mark but is not UTF-8", exc.start
            ) from None
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        furthest = exc.start
    scored: list[tuple[float, int, str, str, int]] = []
    for rank, encoding in enumerate(LEGACY_ENCODINGS):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            furthest = max(furthest, exc.start)
            continue
        share, judged = common_share(text)
        scored.append((share, -rank, encoding, text, judged))
        if share == 1.0:
            break
    if not scored:
        raise UndecodableError("not UTF-8 (with or without BOM), GB18030/GBK or Big5", furthest)
    share, _, encoding, text, judged = max(scored)
    if share < GARBLED_BELOW and judged >= GARBLED_MIN_CJK:
        raise UndecodableError(
            f"the text is garbled in every supported encoding (at best {share:.0%} common characters, "
            f"as {encoding}): not UTF-8, GB18030/GBK or Big5"
        )
    return text, encoding


def detect_encoding(raw: bytes) -> str:
    """The encoding `decode` picks: UTF-8 (with or without BOM), else the best-scoring of GB18030 and Big5."""
    return decode(raw)[1]


def read_csv(path: str | Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows of a CSV file in whichever supported encoding it uses."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    raw = path.read_bytes()
    try:
        text, _ = decode(raw)
    except UndecodableError as exc:
        row = None if exc.offset is None else raw.count(b"\n", 0, exc.offset) + 1
        raise DataError(path, f"cannot decode: {exc}", row=row) from None
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


def require_columns(
    path: str | Path, header: Sequence[str], columns: Sequence[str], *, flag: str | None = None
) -> None:
    """Refuse a file without these columns; `flag` is the option that names them (an export
    headed 标题,内容 was refused for lacking 'title', 'body' without a word on how to say so)."""
    missing = [c for c in columns if c not in header]
    if missing:
        how = f" (name the file's own with {flag})" if flag else ""
        raise DataError(
            path,
            f"missing column(s) {', '.join(repr(c) for c in missing)}{how}; "
            f"the file has {', '.join(header) or 'no header'}",
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
