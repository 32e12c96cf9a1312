"""Reading the received / replied times that hotline exports write in many shapes.

Excel exports from Chinese systems write "2019/4/25 9:32:09"; APIs send ISO 8601. Both are
accepted; anything else is refused with the field's name, because a silently dropped date would
silently switch off the `late` check.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from triage.localtime import to_local

_SLASHED = re.compile(
    r"^(\d{4})[/.年-](\d{1,2})[/.月-](\d{1,2})日?(?:[ T]+(\d{1,2})[:时](\d{1,2})(?:[:分](\d{1,2})(?:\.\d+)?)?秒?)?$"
)


class QualityInputError(ValueError):
    """Input the checker cannot use; `field` names what to fix."""

    def __init__(self, field: str, message: str):
        self.field, self.detail = field, message
        super().__init__(f"{field}: {message}")

    def at(self, prefix: str) -> QualityInputError:
        """The same error located inside a batch (`items[3].replied_at`)."""
        return type(self)(f"{prefix}.{self.field}", self.detail)


def parse_when(value: object, field: str) -> datetime | None:
    """A naive datetime from a datetime, a date, an ISO string or a "2019/4/25 9:32:09" string.

    Times with an offset are first converted to the hotline's local time (China Standard Time),
    then the zone is dropped: working days are counted on the local calendar, and two readings of
    the same moment in different offsets must compare equal.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return to_local(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if not isinstance(value, str):
        raise QualityInputError(field, f"expected a date/time string, got {type(value).__name__}")
    text = value.strip()
    if not text:
        return None
    try:
        return to_local(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        pass
    match = _SLASHED.match(text)
    if match:
        year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
        try:
            return datetime(year, month, day, hour, minute, second)
        except ValueError as exc:
            raise QualityInputError(field, f"{value!r} is not a real date/time ({exc})") from None
    raise QualityInputError(
        field,
        f"cannot read {value!r} as a date/time; use ISO 8601 (2019-04-25T09:32:09) or 2019/4/25 9:32:09",
    )
