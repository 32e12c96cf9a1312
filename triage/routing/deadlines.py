"""Received time + request type → due time, and how much time is left.

Times without a zone are read in the table's zone (China Standard Time by default) because
hotline exports record local wall-clock time; every due time is returned zone-aware so that the
platform, the staff page and a server in another zone all agree on "overdue".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

from triage.workdays import WorkCalendar

# A platform's clock may run a little ahead of ours; a petition "received" a few minutes in the
# future is clock skew, not bad input.
FUTURE_TOLERANCE = timedelta(minutes=5)

_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
)


class ReceivedAtError(ValueError):
    """A received time that cannot be used: unparseable or in the future."""


def parse_received_at(value: str | datetime, zone: tzinfo) -> datetime:
    """ISO 8601 or the usual export formats (2025-01-06 08:47, 2025/1/6 8:47:00) → aware datetime."""
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        if not text:
            raise ReceivedAtError("received_at is empty")
        parsed = None
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            for fmt in _FORMATS:
                try:
                    parsed = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
        if parsed is None:
            raise ReceivedAtError(
                f"received_at {text!r} is not a date and time (use ISO 8601, e.g. 2025-09-26T10:00:00+08:00)"
            )
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def check_not_future(received_at: datetime, now: datetime) -> None:
    if received_at - now > FUTURE_TOLERANCE:
        raise ReceivedAtError(
            f"received_at {received_at.isoformat()} is in the future (now is {now.isoformat(timespec='seconds')})"
        )


def due_at(received_at: datetime, days: int, calendar: WorkCalendar) -> datetime:
    """The end of the `days`-th working day after receipt, in the received time's zone."""
    local = received_at
    end = calendar.add_workdays(local, days)
    return end.replace(tzinfo=local.tzinfo)


def due_within_hours(received_at: datetime, hours: float) -> datetime:
    """An emergency's due time: wall-clock hours from receipt, nights and holidays included."""
    return received_at + timedelta(hours=hours)


def time_left(due: datetime | str, now: datetime | None = None) -> timedelta:
    """Wall-clock time until `due` (negative once overdue). Naive datetimes are taken as UTC."""
    due_dt = datetime.fromisoformat(due) if isinstance(due, str) else due
    now = now or datetime.now(due_dt.tzinfo)
    return _aware(due_dt) - _aware(now)


def is_overdue(due: datetime | str, now: datetime | None = None) -> bool:
    return time_left(due, now) < timedelta(0)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
