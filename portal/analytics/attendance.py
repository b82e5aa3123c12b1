"""Engineers' attendance on the people board: days and hours present (from the field app's
check-ins, `portal.networks.attendance`), and utilisation against the hours present.

Utilisation against attendance = (travel + on-site seconds of the period's visits) ÷ seconds
checked in. A stretch never checked out counts until the engineer's end of work that day and
is shown as unclosed (未签退); today's open stretch counts until now. An engineer with visits
but no check-in has no attended utilisation (—): their network does not use attendance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from portal.analytics.filters import Filters
from portal.analytics.measures import Rate
from portal.analytics.people import EngineerRow
from portal.networks import attendance
from portal.networks.models import Attendance, Engineer, ServiceNetwork


@dataclass(frozen=True, slots=True)
class AttendanceRow:
    """One engineer's presence in the period, and what they did with it."""

    engineer_id: int
    name: str
    network: str
    days: int
    hours: float
    unclosed: int
    no_position: int
    visits: int
    busy_s: float  # travel + on site

    @property
    def utilisation(self) -> float | None:
        """Busy time over time checked in (None without a check-in)."""
        return self.busy_s / (self.hours * 3600) if self.hours else None


def attendance_rows(
    session: Session, f: Filters, rows: Sequence[EngineerRow], *, now: datetime
) -> list[AttendanceRow]:
    """Per engineer of the filtered networks who checked in or visited in the period: days
    and hours present, unclosed stretches, and utilisation against the hours present."""
    end = f.end + timedelta(days=1)
    present_ids = select(Attendance.engineer_id).where(
        Attendance.day >= f.start, Attendance.day < end
    )
    by_row = {r.engineer_id: r for r in rows}
    stmt = (
        select(Engineer, ServiceNetwork.name)
        .join(ServiceNetwork, ServiceNetwork.id == Engineer.network_id)
        .where(or_(Engineer.id.in_(present_ids), Engineer.id.in_(list(by_row))))
        .order_by(Engineer.id)
    )
    if f.network_id is not None:
        stmt = stmt.where(Engineer.network_id == f.network_id)
    if f.city:
        stmt = stmt.where(ServiceNetwork.city == f.city)
    found = session.execute(stmt).all()
    engineers = [e for e, _ in found]
    network = {e.id: name for e, name in found}
    presence = attendance.presence(session, engineers=engineers, start=f.start, end=end, now=now)
    out = []
    for e in engineers:
        p = presence[e.id]
        r = by_row.get(e.id)
        out.append(
            AttendanceRow(
                engineer_id=e.id,
                name=e.name,
                network=network[e.id],
                days=p.days,
                hours=p.hours,
                unclosed=p.unclosed,
                no_position=p.no_position,
                visits=r.visits if r else 0,
                busy_s=(r.travel_s + r.onsite_s) if r else 0.0,
            )
        )
    return sorted(out, key=lambda a: (-a.hours, a.name))


def attended_utilisation(rows: Sequence[AttendanceRow]) -> Rate:
    """Busy seconds over seconds checked in, engineers with a check-in together."""
    present = [r for r in rows if r.hours]
    return Rate(round(sum(r.busy_s for r in present)), round(sum(r.hours * 3600 for r in present)))
