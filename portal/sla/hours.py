"""Business-hours arithmetic: working time added to a moment, or counted between two.

A calendar is weekly opening hours (per ISO weekday, in the calendar's own time zone) plus
dated exceptions: holidays, and make-up working days (调休补班) that are worked with the
hours of a regular weekday. Pure functions, no database: the service layer builds the
calendar from its rows (or the settings) and hands it here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Minutes after local midnight: (start, end), end may be 1440 (24:00).
Interval = tuple[int, int]
DayHours = tuple[Interval, ...]

# A calendar with no working time at all would loop forever; two years is plenty.
MAX_DAYS = 2 * 366

_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_hours(text: str) -> DayHours:
    """ "09:00-12:00,13:00-18:00" -> ((540, 720), (780, 1080)); "" -> closed.

    Raises ValueError on a malformed, empty, reversed or overlapping span.
    """
    spans: list[Interval] = []
    for part in (p for p in text.split(",") if p.strip()):
        match = _SPAN.match(part)
        if match is None:
            raise ValueError(f"not a span of hours: {part!r}")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if m1 > 59 or m2 > 59 or h1 > 23 or end > 24 * 60 or start >= end:
            raise ValueError(f"not a span of hours: {part!r}")
        spans.append((start, end))
    spans.sort()
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        if start < end:
            raise ValueError(f"overlapping hours: {text!r}")
    return tuple(spans)


def format_hours(hours: DayHours) -> str:
    """The inverse of `parse_hours`."""
    return ",".join(f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in hours)


def parse_weekdays(text: str) -> frozenset[int]:
    """ "1-5" or "1,2,3,4,5,6" -> ISO weekdays (1 Monday … 7 Sunday)."""
    days: set[int] = set()
    for part in (p.strip() for p in text.split(",") if p.strip()):
        first, _, last = part.partition("-")
        lo, hi = int(first), int(last or first)
        if not 1 <= lo <= hi <= 7:
            raise ValueError(f"not ISO weekdays: {text!r}")
        days.update(range(lo, hi + 1))
    return frozenset(days)


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """Weekly hours (index 0 = Monday) in `zone`, with holidays and make-up working days."""

    zone: ZoneInfo
    weekly: tuple[DayHours, DayHours, DayHours, DayHours, DayHours, DayHours, DayHours]
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def build(
        cls,
        *,
        zone: str,
        weekly: Mapping[int, str],
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
    ) -> WorkCalendar:
        """From ISO weekday -> "HH:MM-HH:MM[,…]" (missing days closed) and dated exceptions."""
        days = tuple(parse_hours(weekly.get(d, "")) for d in range(1, 8))
        return cls(
            zone=ZoneInfo(zone),
            weekly=days,  # type: ignore[arg-type]
            holidays=frozenset(holidays),
            workdays=frozenset(workdays),
        )

    @property
    def makeup_hours(self) -> DayHours:
        """The hours of a make-up working day: those of the first open weekday."""
        return next((h for h in self.weekly if h), ())

    def hours_on(self, day: date) -> DayHours:
        """The working intervals of one local calendar day."""
        if day in self.holidays:
            return ()
        if day in self.workdays:
            return self.weekly[day.weekday()] or self.makeup_hours
        return self.weekly[day.weekday()]

    def _spans(self, start: datetime) -> Iterable[tuple[datetime, datetime]]:
        """Working spans (local, aware) from `start` on, clipped to begin no earlier."""
        local = start.astimezone(self.zone)
        day = local.date()
        for _ in range(MAX_DAYS):
            midnight = datetime.combine(day, time(0), tzinfo=self.zone)
            for a, b in self.hours_on(day):
                begin, end = midnight + timedelta(minutes=a), midnight + timedelta(minutes=b)
                if end <= local:
                    continue
                yield max(begin, local), end
            day += timedelta(days=1)
        raise ValueError("the calendar has no working hours in the next two years")

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment `seconds` of working time after `start` (UTC)."""
        remaining = max(0.0, seconds)
        for begin, end in self._spans(start):
            span = (end - begin).total_seconds()
            if remaining <= span:
                return (begin + timedelta(seconds=remaining)).astimezone(UTC)
            remaining -= span
        raise AssertionError("unreachable")  # _spans raises first

    def between(self, start: datetime, end: datetime) -> float:
        """Working seconds from `start` to `end` (0 when `end` is not later)."""
        if end <= start:
            return 0.0
        total = 0.0
        for begin, stop in self._spans(start):
            if begin >= end:
                break
            total += (min(stop, end) - begin).total_seconds()
        return total


class AroundTheClock:
    """A calendar in which every second counts (policies without business hours)."""

    def add(self, start: datetime, seconds: float) -> datetime:
        """`start` plus `seconds`."""
        return (start + timedelta(seconds=max(0.0, seconds))).astimezone(UTC)

    def between(self, start: datetime, end: datetime) -> float:
        """Seconds from `start` to `end` (0 when `end` is not later)."""
        return max(0.0, (end - start).total_seconds())


Clock = WorkCalendar | AroundTheClock
