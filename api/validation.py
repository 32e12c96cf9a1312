"""Checks on petition text shared by every endpoint that accepts one.

Pydantic checks types; these check meaning, with the status codes the platform expects: an
empty petition is unprocessable (422), an oversized one is too large (413).
"""

from __future__ import annotations

from fastapi import HTTPException, status

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
