"""CSV encodings: the sample CSVs re-encoded as UTF-8, UTF-8-SIG, GB18030 and Big5 read back identically.

Big5 (Traditional Chinese Excel) is the hard case: its bytes usually decode as GB18030 without an
error, into rare characters. `triage.csvio.decode` scores each strict decoding by its share of
common characters and must pick Big5 for Big5 files and GB18030 for GB18030 files, whether the
text is Simplified or Traditional.
"""

from __future__ import annotations

import csv
import io
from functools import cache
from pathlib import Path

import opencc
import pytest

from triage.csvio import DataError, decode, read_csv

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample"
FILES = sorted(p.name for p in SAMPLE.glob("*.csv"))


@cache
def sample_rows(name: str, script: str) -> tuple[list[str], list[dict[str, str]]]:
    """A sample CSV's header and rows, in Simplified (as bundled) or Taiwan Traditional script.

    Traditional rows Big5 cannot encode (a few Cantonese characters, ²) are left out, so the same
    rows can be written in every encoding under test.
    """
    header, rows = read_csv(SAMPLE / name)
    if script == "traditional":
        to_traditional = opencc.OpenCC("s2tw")
        rows = [{k: to_traditional.convert(v) for k, v in row.items()} for row in rows]
        rows = [row for row in rows if all(_encodable(v, "big5") for v in row.values())]
    return header, rows


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def csv_text(header: list[str], rows: list[dict[str, str]]) -> str:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


CASES = [
    ("simplified", "utf-8"),
    ("simplified", "utf-8-sig"),
    ("simplified", "gb18030"),
    ("traditional", "utf-8"),
    ("traditional", "utf-8-sig"),
    ("traditional", "gb18030"),
    ("traditional", "big5"),
]


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("script,encoding", CASES)
def test_sample_csvs_read_back_identically_in_every_encoding(tmp_path, name, script, encoding):
    header, rows = sample_rows(name, script)
    assert len(rows) >= 30, "too few rows left to make the case"
    path = tmp_path / name
    path.write_bytes(csv_text(header, rows).encode(encoding))
    assert read_csv(path) == (header, rows)


@pytest.mark.parametrize("name", FILES)
def test_each_row_alone_is_detected_too(name):
    """Small files give the scorer little to go on: every row of the sample, on its own, as Big5 and GB18030."""
    header, rows = sample_rows(name, "traditional")
    wrong = []
    for row in rows:
        text = csv_text(header, [row])
        for encoding in ("big5", "gb18030"):
            decoded, _ = decode(text.encode(encoding))
            if decoded != text:
                wrong.append((encoding, row[header[0]]))
    assert wrong == []


def test_short_big5_text_is_not_read_as_gb18030(tmp_path):
    path = tmp_path / "big5.csv"
    path.write_bytes(b"title,body,department\n" + "噪音擾民,樓下餐館,環保局\n".encode("big5") * 3)
    _, rows = read_csv(path)
    assert rows[0] == {"title": "噪音擾民", "body": "樓下餐館", "department": "環保局"}
    # the same bytes read as GB18030 would have been accepted as this
    assert path.read_bytes().decode("gb18030") != path.read_bytes().decode("big5")


def test_undecodable_file_names_the_file_and_the_row(tmp_path):
    lines = ["title,body,department"] + [f"噪音扰民{i},楼下餐馆噪音{i},生态环境局" for i in range(8)]
    raw = bytearray("\n".join(lines).encode("utf-8"))
    bad = raw.index("楼下餐馆噪音4".encode())
    raw[bad : bad + 1] = b"\xff"  # row 6 (the header is row 1) gets a byte no encoding accepts
    path = tmp_path / "bad.csv"
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError) as err:
        read_csv(path)
    message = str(err.value)
    assert message.startswith(f"{path}, row 6: cannot decode")
    assert "UTF-8" in message and "GB18030" in message and "Big5" in message


def test_utf16_is_refused_with_the_file_named(tmp_path):
    path = tmp_path / "u16.csv"
    path.write_bytes(("title,body\n" + "噪音扰民,楼下餐馆\n" * 20).encode("utf-16"))
    with pytest.raises(DataError, match="cannot decode") as err:
        read_csv(path)
    assert str(path) in str(err.value)


def test_text_garbled_in_every_supported_encoding_is_refused(tmp_path):
    """Shift-JIS decodes as GB18030 without an error, into mostly rare characters: refused, not imported."""
    path = tmp_path / "sjis.csv"
    text = "件名,本文\n" + "マンションの騒音問題について苦情を申し立てます,管理会社は何もしてくれません\n" * 5
    path.write_bytes(text.encode("shift_jis"))
    with pytest.raises(DataError, match="garbled in every supported encoding") as err:
        read_csv(path)
    assert str(path) in str(err.value)
