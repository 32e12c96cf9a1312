"""Checks on petition text shared by every endpoint that accepts one.

Pydantic checks types; these check meaning, with the status codes the platform expects: an
empty petition is unprocessable (422), an oversized one is too large (413).
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import HTTPException, Path, status
from pydantic import AfterValidator

from triage.text import MAX_TEXT_CHARS, petition_text


def petition_or_error(title: str | None, body: str | None, *, where: str = "") -> str:
    """The joined petition text, or an HTTP error that names the field and the limit."""
    prefix = f"{where}: " if where else ""
    for name, value in (("title", title), ("body", body)):
        if value is not None and len(value) > MAX_TEXT_CHARS:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                f"{prefix}{name} has {len(value)} characters; the limit is {MAX_TEXT_CHARS}",
            )
    text = petition_text(title, body)
    if not text.strip():
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"{prefix}title and body are both empty: nothing to classify",
        )
    return text


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: str | None) -> str | None:
    """Text a database can store: lone surrogates (valid in JSON, not in UTF-8) and NUL characters
    (refused by PostgreSQL) are dropped; they carry no meaning in a petition."""
    return _UNSTORABLE.sub("", value) if value else value


StoredText = Annotated[str, AfterValidator(storable)]
# Row ids are 64-bit in every database; a larger number is a 422, not an overflow deep inside.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the case's id")]
