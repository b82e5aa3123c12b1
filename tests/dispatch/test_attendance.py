"""考勤派单 (issue 23): in a network that dispatches by attendance, an engineer who has not
checked in today is never auto-dispatched, never planned and not offered, and is again once
checked in; checking out ends it. Other networks and other days are not affected."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from portal.database import Database
from portal.dispatch import flows, service
from portal.networks import attendance
from portal.networks.models import Engineer
from portal.tickets.models import Ticket
from tests.dispatch import helpers as h


def _status(db: Database, number: str) -> tuple[str, int | None]:
    with db.session() as s:
        t = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        return t.status, t.engineer_id


def _check(db: Database, engineer_id: int, *, out: bool = False, minutes: int = 0) -> None:
    with db.session() as s:
        e = s.get(Engineer, engineer_id)
        assert e is not None
        act = attendance.check_out if out else attendance.check_in
        act(
            s,
            engineer=e,
            now=h.NOW + timedelta(minutes=minutes),
            position="ok",
            lat=Decimal("31.245"),
            lng=Decimal("121.505"),
        )


def test_an_engineer_not_checked_in_is_never_auto_dispatched_until_they_check_in(
    db: Database,
) -> None:
    with db.session() as s:
        net = h.network(s, auto=True)
        net.attendance = True
        absent = h.engineer(s, net, at=h.NEAR, name="未签到师傅").id
        number = h.ticket(s, h.customer(s)).number
    # Yesterday's check-in (left open) does not count for today.
    with db.session() as s:
        e = s.get(Engineer, absent)
        assert e is not None
        attendance.check_in(s, engineer=e, now=h.NOW - timedelta(days=1), position="denied")
    for _ in range(2):  # the pass runs again and again: still nobody
        with db.session() as s:
            assert flows.auto_dispatch_waiting(s, settings=h.SETTINGS, now=h.NOW) == 0
        assert _status(db, number) == ("accepted", None)
    with db.session() as s:
        t = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        _, ranked, excluded = service.candidates(
            s, ticket=t, day=h.DAY, now=h.NOW, settings=h.SETTINGS
        )
        assert ranked == [] and [(w.id, why) for w, why in excluded] == [(absent, "absent")]
    _check(db, absent, minutes=5)
    with db.session() as s:
        assert (
            flows.auto_dispatch_waiting(s, settings=h.SETTINGS, now=h.NOW + timedelta(minutes=6))
            == 1
        )
    assert _status(db, number) == ("dispatched", absent)
    # The stale stretch of yesterday was closed at the end of that working day, marked.
    with db.session() as s:
        rows = s.scalars(
            select(attendance.Attendance)
            .where(attendance.Attendance.engineer_id == absent)
            .order_by(attendance.Attendance.id)
        ).all()
        assert [(r.auto_closed, r.in_position) for r in rows] == [(True, "denied"), (False, "ok")]
        assert rows[0].checked_out_at is not None
        assert rows[0].checked_out_at.hour == 10  # 18:00 in Shanghai


def test_the_day_plan_skips_engineers_off_duty_and_takes_them_after_check_in(
    db: Database,
) -> None:
    with db.session() as s:
        net = h.network(s)
        net.attendance = True
        near = h.engineer(s, net, at=h.NEAR, name="近处师傅").id
        far = h.engineer(s, net, at=h.FAR, name="远处师傅").id
        # No day asked for: the plans of today and of tomorrow may both take them.
        h.ticket(s, h.customer(s), preferred_time="")
        h.ticket(s, h.customer(s, at=h.MID), preferred_time="")
    _check(db, far)
    with db.session() as s:
        plan = flows.plan_day(s, day=h.DAY, principal=h.DISPATCHER, settings=h.SETTINGS, now=h.NOW)
        assert {p.worker_id for p in plan.plan.picks} == {far}
        assert len(plan.plan.picks) == 2
    _check(db, near, minutes=1)
    with db.session() as s:
        plan = flows.plan_day(s, day=h.DAY, principal=h.DISPATCHER, settings=h.SETTINGS, now=h.NOW)
        assert near in {p.worker_id for p in plan.plan.picks}
    # Checked out: off duty again. A plan for tomorrow does not ask about attendance.
    _check(db, near, out=True, minutes=2)
    _check(db, far, out=True, minutes=2)
    with db.session() as s:
        plan = flows.plan_day(s, day=h.DAY, principal=h.DISPATCHER, settings=h.SETTINGS, now=h.NOW)
        assert plan.plan.picks == []
        tomorrow = flows.plan_day(
            s,
            day=h.DAY + timedelta(days=1),
            principal=h.DISPATCHER,
            settings=h.SETTINGS,
            now=h.NOW,
        )
        assert len(tomorrow.plan.picks) == 2  # both served, by whoever is best placed


def test_a_network_that_does_not_dispatch_by_attendance_is_not_affected(db: Database) -> None:
    with db.session() as s:
        net = h.network(s, auto=True)
        chosen = h.engineer(s, net, at=h.NEAR).id
        number = h.ticket(s, h.customer(s)).number
    with db.session() as s:
        assert flows.auto_dispatch_waiting(s, settings=h.SETTINGS, now=h.NOW) == 1
    assert _status(db, number) == ("dispatched", chosen)
