"""Engineers' attendance (出勤): checking in and out from the field app, with the phone's
position or the reason there is none, and what dispatch and the people board read from it.

Days are local days (China time, the dispatch zone). An engineer is *present* on a day while
a stretch checked in that day is open. In a network with 考勤派单 switched on
(`ServiceNetwork.attendance`), only present engineers take today's work: dispatch lists the
others as "not checked in", the day plan and automatic dispatch pass them by.

Never checked out: a stretch still open after its day is closed at the engineer's end of work
that day (`Engineer.work_end`; at the check-in itself when that came later) and marked
`auto_closed` (未签退), so the hours counted are the scheduled ones and the board shows how
often it happened. The close is written at the engineer's next check-in, and read the same
way before that.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.errors import Conflict, Invalid
from portal.networks.models import Attendance, Engineer

ZONE = "Asia/Shanghai"
POSITIONS = ("ok", "denied", "unavailable")
# A check-in this soon after the day's last check-out carries that stretch on: a tap on the
# wrong button, or out and back in for a minute, leaves no short stretches of nothing behind.
RESUME_WITHIN = timedelta(minutes=5)


def local_day(moment: datetime, zone: str = ZONE) -> date:
    """The local day of a UTC moment."""
    return moment.astimezone(ZoneInfo(zone)).date()


def _end_of_work(stretch: Attendance, engineer: Engineer, zone: str) -> datetime:
    """When a stretch left open past its day counts as ended."""
    end = datetime.combine(stretch.day, engineer.work_end, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    return max(end, stretch.checked_in_at)


def open_stretch(session: Session, *, engineer_id: int) -> Attendance | None:
    """The engineer's stretch that has no check-out yet, if any (the newest)."""
    return session.scalars(
        select(Attendance)
        .where(Attendance.engineer_id == engineer_id, Attendance.checked_out_at.is_(None))
        .order_by(Attendance.checked_in_at.desc(), Attendance.id.desc())
    ).first()


def close_stale(session: Session, *, engineer: Engineer, now: datetime, zone: str = ZONE) -> int:
    """Close the engineer's stretches left open on earlier days (未签退); how many."""
    today = local_day(now, zone)
    stale = session.scalars(
        select(Attendance).where(
            Attendance.engineer_id == engineer.id,
            Attendance.checked_out_at.is_(None),
            Attendance.day < today,
        )
    ).all()
    for stretch in stale:
        stretch.checked_out_at = _end_of_work(stretch, engineer, zone)
        stretch.auto_closed = True
    session.flush()
    return len(stale)


def _position(
    position: str, lat: Decimal | None, lng: Decimal | None
) -> tuple[str, Decimal | None, Decimal | None]:
    """What is stored of the phone's answer: a fix in range, or the reason there is none."""
    if position not in POSITIONS:
        raise Invalid("attendance.bad_position", field="position")
    if position != "ok":
        return position, None, None
    if lat is None or lng is None or not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise Invalid("attendance.bad_position", field="position")
    q = Decimal("0.000001")
    return "ok", lat.quantize(q), lng.quantize(q)


def check_in(
    session: Session,
    *,
    engineer: Engineer,
    now: datetime,
    position: str,
    lat: Decimal | None = None,
    lng: Decimal | None = None,
    zone: str = ZONE,
) -> Attendance:
    """Start a stretch at work now, or carry on today's last one when it ended moments ago
    (`RESUME_WITHIN`); a stretch already open today is a conflict."""
    kind, lat, lng = _position(position, lat, lng)
    close_stale(session, engineer=engineer, now=now, zone=zone)
    if open_stretch(session, engineer_id=engineer.id) is not None:
        raise Conflict("attendance.already_in")
    last = session.scalars(
        select(Attendance)
        .where(
            Attendance.engineer_id == engineer.id,
            Attendance.day == local_day(now, zone),
            Attendance.checked_out_at.is_not(None),
        )
        .order_by(Attendance.checked_out_at.desc(), Attendance.id.desc())
    ).first()
    ended = last.checked_out_at if last is not None and not last.auto_closed else None
    if last is not None and ended is not None and timedelta(0) <= now - ended <= RESUME_WITHIN:
        last.checked_out_at = None
        last.out_position, last.out_lat, last.out_lng = "", None, None
        session.flush()
        return last
    stretch = Attendance(
        engineer_id=engineer.id,
        day=local_day(now, zone),
        checked_in_at=now,
        in_position=kind,
        in_lat=lat,
        in_lng=lng,
        out_position="",
        auto_closed=False,
    )
    session.add(stretch)
    session.flush()
    return stretch


def check_out(
    session: Session,
    *,
    engineer: Engineer,
    now: datetime,
    position: str,
    lat: Decimal | None = None,
    lng: Decimal | None = None,
    zone: str = ZONE,
) -> Attendance:
    """End today's open stretch now; none open today is a conflict."""
    kind, lat, lng = _position(position, lat, lng)
    close_stale(session, engineer=engineer, now=now, zone=zone)
    stretch = open_stretch(session, engineer_id=engineer.id)
    if stretch is None:
        raise Conflict("attendance.not_in")
    stretch.checked_out_at = now
    stretch.out_position, stretch.out_lat, stretch.out_lng = kind, lat, lng
    session.flush()
    return stretch


def present(session: Session, *, engineer_ids: Collection[int], day: date) -> set[int]:
    """Of these engineers, those with a stretch checked in on `day` that is still open."""
    if not engineer_ids:
        return set()
    return set(
        session.scalars(
            select(Attendance.engineer_id).where(
                Attendance.engineer_id.in_(list(engineer_ids)),
                Attendance.day == day,
                Attendance.checked_out_at.is_(None),
            )
        )
    )


def today_of(
    session: Session, *, engineer_id: int, now: datetime, zone: str = ZONE
) -> list[Attendance]:
    """The engineer's stretches checked in today, oldest first."""
    return list(
        session.scalars(
            select(Attendance)
            .where(Attendance.engineer_id == engineer_id, Attendance.day == local_day(now, zone))
            .order_by(Attendance.checked_in_at, Attendance.id)
        )
    )


@dataclass(frozen=True, slots=True)
class Presence:
    """An engineer's attendance over some days."""

    days: int  # days with a check-in
    hours: float  # hours between check-in and check-out (or as closed, see the module)
    unclosed: int  # stretches never checked out (未签退)
    no_position: int  # check-ins without a position (refused or none)


def presence(
    session: Session,
    *,
    engineers: Collection[Engineer],
    start: date,
    end: date,
    now: datetime,
    zone: str = ZONE,
) -> dict[int, Presence]:
    """Attendance of each engineer over the local days `start` ≤ day < `end`. A stretch open
    today counts up to `now`; one left open on an earlier day as if closed at the end of
    work (and counted as unclosed), whether or not that close is written yet."""
    by_id = {e.id: e for e in engineers}
    today = local_day(now, zone)
    days: dict[int, set[date]] = defaultdict(set)
    seconds: dict[int, float] = defaultdict(float)
    unclosed: dict[int, int] = defaultdict(int)
    blind: dict[int, int] = defaultdict(int)
    if by_id:
        rows = session.scalars(
            select(Attendance).where(
                Attendance.engineer_id.in_(list(by_id)),
                Attendance.day >= start,
                Attendance.day < end,
            )
        )
        for a in rows:
            eid = a.engineer_id
            days[eid].add(a.day)
            out = a.checked_out_at
            if out is None:
                if a.day >= today:
                    out = max(now, a.checked_in_at)
                else:
                    out = _end_of_work(a, by_id[eid], zone)
                    unclosed[eid] += 1
            elif a.auto_closed:
                unclosed[eid] += 1
            seconds[eid] += (out - a.checked_in_at) / timedelta(seconds=1)
            blind[eid] += a.in_position != "ok"
    return {
        eid: Presence(
            days=len(days[eid]),
            hours=round(seconds[eid] / 3600, 2),
            unclosed=unclosed[eid],
            no_position=blind[eid],
        )
        for eid in by_id
    }
