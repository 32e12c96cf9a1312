"""Times in the store: naive datetimes in the service's local time zone (China Standard Time).

Deadlines are counted in local working days and end at local midnight, so storing local wall
time keeps every comparison ("is it overdue?") a plain comparison on both SQLite, which has no
time zone type, and PostgreSQL. Times that arrive with an offset are converted on the way in;
times that leave carry the +08:00 offset.
"""

from __future__ import annotations

from datetime import datetime

from triage.localtime import LOCAL, now, to_local

__all__ = ["LOCAL", "iso", "now", "parse_time", "to_local"]


def parse_time(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return to_local(value)
    return to_local(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=LOCAL).isoformat()
