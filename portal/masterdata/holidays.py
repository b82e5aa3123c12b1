"""China's statutory holidays and 调休 make-up working days, from the maintained
`chinesecalendar` package, written into the business calendars the SLA clocks count on.

Loading a year adds the days a calendar does not have yet: a day the network already lists
(a local exception: a closed office, an extra Saturday) is kept as it is, so loading again
changes nothing and local edits survive the national list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.errors import Invalid
from portal.networks.models import ServiceNetwork
from portal.sla.hours import parse_weekdays
from portal.sla.models import BusinessCalendar, CalendarDay
from portal.sla.service import SlaDefaults

# The package's English holiday names, in Chinese.
_NAMES = {h.value: h.chinese for h in chinese_calendar.Holiday}


def statutory_days(year: int) -> list[tuple[date, bool, str]]:
    """The year's exceptions to the week: (day, working, name): every day of a statutory
    holiday (not working) and the weekend days worked in exchange (调休, working)."""
    day, out = date(year, 1, 1), []
    try:
        while day.year == year:
            on_holiday, name = chinese_calendar.get_holiday_detail(day)
            weekend = day.weekday() >= 5
            # Named holidays on a weekend count too: a network open on Saturdays closes then.
            if on_holiday and name:
                out.append((day, False, _NAMES.get(name, name)))
            elif weekend and not on_holiday:
                out.append((day, True, f"{_NAMES.get(name, name) if name else ''}调休补班"))
            day += timedelta(days=1)
    except NotImplementedError:
        raise Invalid("masterdata.year_unsupported", field="year", year=year) from None
    return out


@dataclass
class Loaded:
    """What loading a year did to one calendar."""

    calendar_id: int
    network_id: int | None
    added: int
    kept: int


def load_statutory(
    session: Session, *, network_name: str, year: int, defaults: SlaDefaults
) -> Loaded:
    """Add a year's statutory days to a network's calendar (no name: the default calendar),
    made from the default hours when the network has none yet."""
    network_id = None
    if network_name:
        network = session.scalars(
            select(ServiceNetwork).where(ServiceNetwork.name == network_name)
        ).first()
        if network is None:
            raise Invalid("masterdata.unknown_network", field="network", name=network_name)
        network_id = network.id
    days = statutory_days(year)
    stmt = select(BusinessCalendar).where(
        BusinessCalendar.network_id == network_id
        if network_id is not None
        else BusinessCalendar.network_id.is_(None)
    )
    row = session.scalars(stmt.order_by(BusinessCalendar.id)).first()
    if row is None:
        weekly = {str(d): defaults.work_hours for d in parse_weekdays(defaults.work_days)}
        row = BusinessCalendar(
            network_id=network_id, name="", timezone=defaults.timezone, weekly_hours=weekly
        )
        session.add(row)
        session.flush()
    have = {d.day for d in row.days}
    added = 0
    for day, working, name in days:
        if day not in have:
            row.days.append(CalendarDay(day=day, working=working, name=name[:64]))
            added += 1
    session.flush()
    return Loaded(row.id, network_id, added, len(days) - added)
