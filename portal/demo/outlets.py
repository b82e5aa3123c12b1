"""The demo's 伞下店 and attendance (issue 23).

川沙伞下店 is an outlet under 上海浦东服务中心: its own manager and two engineers (who take part
of the parent's district's jobs in the history), its own store fed from the parent's
warehouse, and its jobs settled on the parent's statement.

Attendance: every demo engineer on duty has a month of check-ins and check-outs behind them,
a few days never checked out (closed at the end of work, 未签退) and a few check-ins without
a position; and today's check-in, so dispatch works as before. The parent network and its
outlet dispatch by attendance (考勤派单); the other networks do not, so a demo loaded days ago
still auto-dispatches there while those two wait for their engineers to check in.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.demo import catalog, places
from portal.demo.names import mobile_numbers, person_name
from portal.demo.staff import ENGINEER_PASSWORD, MANAGER_PASSWORD, password_hash
from portal.demo.world import Staffer, World
from portal.networks.models import Attendance, Engineer, EngineerSkill, ServiceNetwork
from portal.networks.service import OUTLET
from portal.security import Role

LOCAL = ZoneInfo("Asia/Shanghai")
SEED = 20261207
PARENT = "SH-PD"
CODE = "SH-PD-CS"
NAME = "川沙伞下店"
DISTRICT = "浦东新区"
ATTENDANCE_DAYS = 30


def build_outlet(session: Session, world: World, *, phones: set[str] | None = None) -> None:
    """The outlet under the parent, its manager and two engineers, added to the world so the
    history plans some of the parent's district's jobs for them."""
    rng = random.Random(SEED)
    parent = next(n for n in world.networks if n.code == PARENT)
    assert parent.lat is not None and parent.lng is not None
    lat, lng = places.jitter(rng, float(parent.lat), float(parent.lng), 1.5)
    outlet = ServiceNetwork(
        code=CODE,
        name=NAME,
        city=parent.city,
        coverage=[DISTRICT],
        stock_location=f"{parent.stock_location}-CS",
        kind=OUTLET,
        parent_id=parent.id,
        province=parent.province,
        capacity=12,
        contact_name=person_name(rng),
        contact_phone="13916600023",
        auto_dispatch=False,
        attendance=True,
        lat=lat,
        lng=lng,
    )
    parent.attendance = True
    session.add(outlet)
    session.flush()
    manager = User(
        username="manager_outlet",
        display_name=f"{NAME}店长{outlet.contact_name}",
        password_hash=password_hash(MANAGER_PASSWORD),
        role=Role.NETWORK_MANAGER.value,
        network_id=outlet.id,
    )
    session.add(manager)
    world.networks.append(outlet)
    world.managers[CODE] = manager
    taken = phones if phones is not None else {c.phone for c in world.customers}
    taken |= {s.row.phone for s in world.engineers}
    engineer_hash = password_hash(ENGINEER_PASSWORD)
    added: list[Staffer] = []
    for i in range(2):
        name = person_name(rng)
        user = User(
            username=f"eng_outlet_{i + 1:02d}",
            display_name=name,  # as on their jobs and the dispatch board
            password_hash=engineer_hash,
            role=Role.ENGINEER.value,
            network_id=outlet.id,
        )
        session.add(user)
        home = places.jitter(rng, float(lat), float(lng), 2.0)
        row = Engineer(
            network_id=outlet.id,
            name=name,
            phone=mobile_numbers(rng, 1, taken)[0],
            home_lat=home[0],
            home_lng=home[1],
            work_start=time(8, 30),
            work_end=time(18, 0),
            daily_capacity=6,
            on_duty=True,
        )
        # The outlet repairs and maintains every category (installations stay with the parent).
        skills = {(cat, kind) for cat in catalog.CATEGORIES for kind in ("repair", "maintenance")}
        row.skills = [
            EngineerSkill(product_category=cat, service_type=kind, level=2)
            for cat, kind in sorted(skills)
        ]
        added.append(Staffer(row, user, outlet, skills, (home[0], home[1])))
    session.add_all(s.row for s in added)
    session.flush()
    for s in added:
        s.row.user_id = s.user.id
    world.engineers.extend(added)


def seed_attendance(session: Session, *, now: datetime) -> int:
    """A month of check-ins for every engineer on duty, and today's; how many stretches."""
    rng = random.Random(SEED + 2)
    today = now.astimezone(LOCAL).date()
    rows: list[Attendance] = []
    engineers = session.scalars(
        select(Engineer)
        .where(Engineer.on_duty.is_(True), Engineer.active.is_(True))
        .order_by(Engineer.id)
    ).all()
    for e in engineers:
        base = (e.home_lat, e.home_lng)
        for back in range(ATTENDANCE_DAYS, 0, -1):
            day = today - timedelta(days=back)
            if day.weekday() >= 5 and rng.random() < 0.6:  # most weekends off
                continue
            if rng.random() < 0.05:  # a day off
                continue
            start = datetime.combine(day, e.work_start, tzinfo=LOCAL) + timedelta(
                minutes=rng.randint(-20, 15)
            )
            end = datetime.combine(day, e.work_end, tzinfo=LOCAL) + timedelta(
                minutes=rng.randint(-30, 60)
            )
            unclosed = rng.random() < 0.04
            rows.append(
                _stretch(
                    rng, e.id, day, start, None if unclosed else end, base, rng.random() < 0.06
                )
            )
            if unclosed:  # closed as the next check-in would: at the end of work, marked
                rows[-1].checked_out_at = datetime.combine(
                    day, e.work_end, tzinfo=LOCAL
                ).astimezone(UTC)
                rows[-1].auto_closed = True
        # Today: checked in at the start of work (or just now, before it).
        start = datetime.combine(today, e.work_start, tzinfo=LOCAL) + timedelta(
            minutes=rng.randint(-15, 5)
        )
        rows.append(_stretch(rng, e.id, today, min(start, now - timedelta(minutes=1)), None, base))
    session.add_all(rows)
    session.flush()
    return len(rows)


def _stretch(
    rng: random.Random,
    engineer_id: int,
    day: object,
    start: datetime,
    end: datetime | None,
    base: tuple[Decimal | None, Decimal | None],
    blind: bool = False,
) -> Attendance:
    lat, lng = base
    ok = not blind and lat is not None and lng is not None
    spot = places.jitter(rng, float(lat), float(lng), 3.0) if ok else (None, None)  # type: ignore[arg-type]
    return Attendance(
        engineer_id=engineer_id,
        day=day,
        checked_in_at=start.astimezone(UTC),
        in_position="ok" if ok else rng.choice(("denied", "unavailable")),
        in_lat=spot[0],
        in_lng=spot[1],
        checked_out_at=end.astimezone(UTC) if end else None,
        out_position="ok" if end else "",
        out_lat=spot[0] if end else None,
        out_lng=spot[1] if end else None,
        auto_closed=False,
    )
