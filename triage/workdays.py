"""Working days under China's official schedule: public holidays and adjusted working weekends (调休).

Reply deadlines are set in working days, so a consultation received on the Friday before
National Day is not due on the Wednesday inside the holiday. The `chinese-calendar` package
carries the State Council's published schedule; it lags each new year by a few weeks, so admins
can add dates (extra holidays, extra working days) in configuration before the package does.
Outside the years the package knows, plain Monday-Friday is assumed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

import chinese_calendar


class WorkCalendar:
    """Which days are working days, and arithmetic in working days.

    `extra_holidays` / `extra_workdays` override the package (an admin's config for next year's
    schedule, or a local closure).
    """

    def __init__(
        self,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
        day_end: time = time(23, 59, 59),
    ) -> None:
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_workdays = frozenset(extra_workdays)
        self.day_end = day_end
        # chinese-calendar validates each date against its whole table (~60 µs a call); a deadline
        # walks up to a few dozen days, so remembered answers keep routing under a millisecond.
        self._known: dict[date, bool] = {}

    def is_workday(self, day: date) -> bool:
        known = self._known.get(day)
        if known is None:
            known = self._known[day] = self._is_workday(day)
        return known

    def _is_workday(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:  # a year the package does not know yet
            return day.weekday() < 5

    def add_workdays(self, start: datetime | date, days: int) -> datetime:
        """The end of the `days`-th working day after `start` (the day of receipt does not count).

        Zero days means the end of the day of receipt (urgent matters: the same day), or of the
        next working day when received on a day off.
        """
        day = start.date() if isinstance(start, datetime) else start
        if days <= 0:
            while not self.is_workday(day):
                day += timedelta(days=1)
            return datetime.combine(day, self.day_end)
        remaining = days
        while remaining:
            day += timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        return datetime.combine(day, self.day_end)

    def workdays_between(self, start: datetime | date, end: datetime | date) -> int:
        """Working days after `start`'s day up to and including `end`'s day (0 when same day)."""
        first = start.date() if isinstance(start, datetime) else start
        last = end.date() if isinstance(end, datetime) else end
        if last <= first:
            return 0
        count, day = 0, first
        while day < last:
            day += timedelta(days=1)
            count += self.is_workday(day)
        return count


DEFAULT_CALENDAR = WorkCalendar()
