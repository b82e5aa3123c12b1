"""Business-hours arithmetic: deadlines skip nights, weekends, lunch breaks and holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.sla.hours import AroundTheClock, WorkCalendar, parse_hours, parse_weekdays

SH = ZoneInfo("Asia/Shanghai")
HOUR = 3600.0
WEEKDAYS_9_TO_6 = {d: "09:00-18:00" for d in range(1, 6)}


def sh(*args: int) -> datetime:
    """A Shanghai wall-clock time."""
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


def office(**kw: object) -> WorkCalendar:
    return WorkCalendar.build(zone="Asia/Shanghai", weekly=WEEKDAYS_9_TO_6, **kw)  # type: ignore[arg-type]


def test_friday_evening_plus_four_hours_is_monday_half_past_twelve() -> None:
    # 10 minutes on Friday, the other 3h50 on Monday morning.
    due = office().add(sh(2026, 3, 6, 17, 50), 4 * HOUR)
    assert due == sh(2026, 3, 9, 12, 50)
    assert due.tzinfo is UTC  # stored and compared in UTC


def test_a_monday_holiday_moves_it_to_tuesday() -> None:
    cal = office(holidays=[date(2026, 3, 9)])
    assert cal.add(sh(2026, 3, 6, 17, 50), 4 * HOUR) == sh(2026, 3, 10, 12, 50)


def test_a_week_of_national_holidays_is_skipped_and_a_makeup_saturday_is_worked() -> None:
    # 国庆: Thu 1 Oct … Wed 7 Oct 2026 off, Sat 10 Oct worked (调休).
    holidays = [date(2026, 10, d) for d in range(1, 8)]
    cal = office(holidays=holidays, workdays=[date(2026, 10, 10)])
    # Reported on Wednesday 30 Sep at 17:00: one hour that day, the rest on Thursday 8 Oct.
    assert cal.add(sh(2026, 9, 30, 17, 0), 4 * HOUR) == sh(2026, 10, 8, 12, 0)
    # 24 working hours from Friday 9 Oct 09:00: Fri 9h, Sat (make-up) 9h, Mon 6h.
    assert cal.add(sh(2026, 10, 9, 9, 0), 24 * HOUR) == sh(2026, 10, 12, 15, 0)


def test_before_opening_the_clock_starts_at_opening() -> None:
    assert office().add(sh(2026, 3, 9, 7, 0), 600) == sh(2026, 3, 9, 9, 10)
    # Saturday night -> Monday morning.
    assert office().add(sh(2026, 3, 7, 23, 0), 600) == sh(2026, 3, 9, 9, 10)


def test_a_deadline_exactly_at_closing_stays_on_that_day() -> None:
    assert office().add(sh(2026, 3, 6, 17, 0), HOUR) == sh(2026, 3, 6, 18, 0)


def test_lunch_breaks_do_not_count() -> None:
    cal = WorkCalendar.build(
        zone="Asia/Shanghai", weekly={d: "09:00-12:00,13:00-18:00" for d in range(1, 8)}
    )
    assert cal.add(sh(2026, 3, 9, 11, 30), HOUR) == sh(2026, 3, 9, 13, 30)
    assert cal.between(sh(2026, 3, 9, 11, 30), sh(2026, 3, 9, 13, 30)) == HOUR


def test_between_counts_only_working_time() -> None:
    cal = office()
    assert cal.between(sh(2026, 3, 6, 17, 50), sh(2026, 3, 9, 12, 50)) == 4 * HOUR
    assert cal.between(sh(2026, 3, 9, 12, 0), sh(2026, 3, 9, 11, 0)) == 0


@pytest.mark.parametrize("start_hour", range(0, 24, 3))
@pytest.mark.parametrize("seconds", [0, 60, 599, 3600 * 4, 3600 * 24, 3600 * 100])
def test_add_and_between_agree(start_hour: int, seconds: int) -> None:
    cal = office(holidays=[date(2026, 3, 11)])
    start = sh(2026, 3, 10, start_hour, 17)
    assert cal.between(start, cal.add(start, seconds)) == pytest.approx(seconds)


def test_around_the_clock_counts_every_second() -> None:
    start = sh(2026, 3, 6, 17, 50)
    assert AroundTheClock().add(start, 4 * HOUR) == start + timedelta(hours=4)


def test_hours_and_weekdays_parse_and_reject_nonsense() -> None:
    assert parse_hours("09:00-12:00, 13:00-18:00") == ((540, 720), (780, 1080))
    assert parse_hours("") == ()
    assert parse_hours("00:00-24:00") == ((0, 1440),)
    for bad in ("9-18", "18:00-09:00", "09:00-12:00,11:00-13:00", "25:00-26:00", "09:60-10:00"):
        with pytest.raises(ValueError):
            parse_hours(bad)
    assert parse_weekdays("1-5") == frozenset({1, 2, 3, 4, 5})
    assert parse_weekdays("6,7") == frozenset({6, 7})
    with pytest.raises(ValueError):
        parse_weekdays("0-8")


def test_a_calendar_without_working_hours_refuses_instead_of_looping() -> None:
    closed = WorkCalendar.build(zone="Asia/Shanghai", weekly={})
    with pytest.raises(ValueError):
        closed.add(sh(2026, 3, 9, 9, 0), 60)
