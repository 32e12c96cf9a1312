from datetime import date, datetime

from triage.workdays import WorkCalendar

cal = WorkCalendar()


def test_national_day_2025_is_skipped_and_adjusted_saturday_counts():
    # Friday 2025-09-26; Sunday 28 Sep is an adjusted working day; 1-8 Oct off; Saturday 11 Oct works
    assert cal.add_workdays(datetime(2025, 9, 26, 10, 0), 3).date() == date(2025, 9, 30)
    # received on the last day before the holiday: 9, 10 and (adjusted Saturday) 11 October
    assert cal.add_workdays(datetime(2025, 9, 30, 16, 0), 3).date() == date(2025, 10, 11)


def test_friday_before_national_day_2026():
    # 2026: 1-7 Oct off, Sunday 20 Sep and Saturday 10 Oct are working days
    assert cal.add_workdays(datetime(2026, 9, 30, 9, 0), 1).date() == date(2026, 10, 8)
    assert cal.add_workdays(datetime(2026, 9, 25, 9, 0), 3).date() == date(2026, 9, 30)


def test_same_day_deadline_moves_off_a_holiday():
    assert cal.add_workdays(datetime(2025, 10, 3, 9), 0).date() == date(2025, 10, 9)
    assert cal.add_workdays(datetime(2025, 10, 13, 9), 0).date() == date(2025, 10, 13)


def test_workdays_between_counts_only_working_days():
    assert cal.workdays_between(datetime(2025, 9, 30), datetime(2025, 10, 9)) == 1
    assert cal.workdays_between(date(2025, 3, 3), date(2025, 3, 3)) == 0


def test_admin_overrides_beat_the_package():
    custom = WorkCalendar(extra_holidays=[date(2025, 3, 4)], extra_workdays=[date(2025, 3, 8)])
    assert not custom.is_workday(date(2025, 3, 4))
    assert custom.is_workday(date(2025, 3, 8))


def test_unknown_future_year_falls_back_to_weekdays():
    assert cal.is_workday(date(2031, 3, 3)) is True
    assert cal.is_workday(date(2031, 3, 2)) is False
