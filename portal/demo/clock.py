"""Working hours in China time, for putting demo events at believable moments."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")

DESK_HOURS = (time(8, 0), time(22, 0))  # call centre
DISPATCH_HOURS = (time(8, 30), time(20, 0))
FINANCE_HOURS = (time(9, 0), time(17, 30))
PHONE_HOURS = (time(7, 30), time(22, 30))  # when an engineer still picks up a job
SURVEY_HOURS = (time(9, 0), time(21, 0))  # when satisfaction surveys go out
AWAKE_HOURS = (time(7, 30), time(23, 0))  # when customers answer


def minutes(rng: random.Random, low: float, high: float) -> timedelta:
    """A random span between `low` and `high` minutes, whole seconds."""
    return timedelta(seconds=round(rng.uniform(low, high) * 60))


def within(
    rng: random.Random,
    at: datetime,
    hours: tuple[time, time],
    *,
    weekdays_only: bool = False,
) -> datetime:
    """`at`, or when the hours next open (plus a few minutes of getting started)."""
    start, end = hours
    local = at.astimezone(LOCAL)
    day = local.date()
    if local.time() < start:
        pass
    elif local.time() >= end:
        day += timedelta(days=1)
    elif not weekdays_only or local.weekday() < 5:
        return at
    while weekdays_only and day.weekday() >= 5:
        day += timedelta(days=1)
    opening = datetime.combine(day, start, tzinfo=LOCAL)
    return (opening + minutes(rng, 1, 40)).astimezone(at.tzinfo)
