"""The service's local time: China Standard Time, wherever the host's clock is set.

Deadlines end at local midnight, a reply is dated the day staff send it and a curated answer is
valid on a local day, so every "now" and "today" of the service is read here rather than from
the host (a server on UTC would date a reply written at 01:00 in Beijing the day before).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """Local wall time, naive, to the second (the case store's convention)."""
    return datetime.now(LOCAL).replace(tzinfo=None, microsecond=0)


def today() -> date:
    """The local calendar day."""
    return datetime.now(LOCAL).date()


def to_local(value: datetime) -> datetime:
    """A naive local datetime; an aware one is converted, a naive one is taken as local."""
    if value.tzinfo is not None:
        value = value.astimezone(LOCAL).replace(tzinfo=None)
    return value
