"""When agents are on duty: weekly hours like "1-5 09:00-18:00; 6-7 10:00-16:00".

Groups are separated by ';', each is ISO weekdays (1 Monday … 7 Sunday) and spans of hours
in the format the SLA calendars use. An empty schedule means agents are always on duty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from portal.i18n import Lang, t
from portal.sla.hours import WorkCalendar, format_hours, parse_hours, parse_weekdays


@dataclass(frozen=True, slots=True)
class DutySchedule:
    """Agents' duty hours; `calendar` is None when they are always on duty."""

    calendar: WorkCalendar | None
    groups: tuple[tuple[tuple[int, ...], str], ...] = ()

    @classmethod
    def parse(cls, text: str, *, zone: str) -> DutySchedule:
        """Read the setting; raises ValueError naming what is malformed."""
        if not text.strip():
            return cls(calendar=None)
        weekly: dict[int, str] = {}
        groups: list[tuple[tuple[int, ...], str]] = []
        for part in (p.strip() for p in text.split(";") if p.strip()):
            days_text, _, hours_text = part.partition(" ")
            days = parse_weekdays(days_text)
            hours = format_hours(parse_hours(hours_text))
            if not days or not hours:
                raise ValueError(f"not a duty group: {part!r}")
            for day in days:
                if day in weekly:
                    raise ValueError(f"weekday {day} appears twice: {text!r}")
                weekly[day] = hours
            groups.append((tuple(sorted(days)), hours))
        return cls(calendar=WorkCalendar.build(zone=zone, weekly=weekly), groups=tuple(groups))

    def on_duty(self, moment: datetime) -> bool:
        """Whether agents are on duty at this moment."""
        if self.calendar is None:
            return True
        local = moment.astimezone(self.calendar.zone)
        minute = local.hour * 60 + local.minute
        return any(a <= minute < b for a, b in self.calendar.hours_on(local.date()))

    def describe(self, lang: Lang = "zh") -> str:
        """The hours as customers read them, e.g. 周一至周五 09:00-18:00."""
        if self.calendar is None:
            return t("handoff.hours.always", lang)
        parts = []
        for days, hours in self.groups:
            runs: list[list[int]] = []
            for day in days:
                if runs and runs[-1][-1] == day - 1:
                    runs[-1].append(day)
                else:
                    runs.append([day])
            names = [
                t(f"handoff.weekday.{r[0]}", lang)
                if len(r) == 1
                else t(
                    "handoff.weekdays",
                    lang,
                    first=t(f"handoff.weekday.{r[0]}", lang),
                    last=t(f"handoff.weekday.{r[-1]}", lang),
                )
                for r in runs
            ]
            parts.append(f"{t('handoff.list_sep', lang).join(names)} {hours.replace(',', ', ')}")
        return t("handoff.group_sep", lang).join(parts)
