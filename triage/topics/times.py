"""Petition times as naive local datetimes (China Standard Time), the case store's convention.

Exports write times in whatever shape their spreadsheet chose ("2019/2/28 11:25:05",
"2019-08-28 09:30:20", ISO with an offset), so parsing accepts all of them; aware times are
converted to local wall time so that daily counts fall on the day a clerk would see.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

from triage.localtime import to_local

_SLASHED = re.compile(
    r"^(\d{4})[/.年-](\d{1,2})[/.月-](\d{1,2})日?(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\.\d+)?)?$"
)


def parse_time(value: str | datetime | date | None) -> datetime | None:
    """None for an empty value; ValueError naming the value when it is not a time."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return to_local(value)
    if isinstance(value, date):
        return datetime.combine(value, time())
    text = str(value).strip()
    if not text:
        return None
    match = _SLASHED.match(text)
    if match:
        y, mo, d, h, mi, s = (int(g) if g else 0 for g in match.groups())
        try:
            return datetime(y, mo, d, h, mi, s)
        except ValueError:
            raise ValueError(f"not a valid date/time: {text!r}") from None
    try:
        return to_local(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise ValueError(
            f"not a date/time (expected e.g. 2019-02-28 11:25 or 2019/2/28 11:25:05): {text!r}"
        ) from None
