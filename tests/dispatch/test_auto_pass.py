"""The scheduler dispatches waiting tickets by itself for networks that switched automatic
dispatch on (the workbench's switch): nobody has to press a button for those networks, and
networks that keep it off are left to their dispatchers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from portal.config import Settings
from portal.database import Database
from portal.dispatch import flows, service
from portal.dispatch.scoring import DispatchSettings
from portal.networks.models import ServiceNetwork
from portal.tickets.models import Ticket
from portal.workers.scheduler import make_dispatch_pass
from tests.dispatch import helpers as h


def _status(db: Database, number: str) -> tuple[str, int | None]:
    with db.session() as s:
        t = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        return t.status, t.engineer_id


def test_the_pass_assigns_only_for_networks_that_dispatch_automatically(db: Database) -> None:
    with db.session() as s:
        manual = h.network(s, auto=False)
        h.engineer(s, manual, at=h.NEAR, name="手动网点师傅")
        number = h.ticket(s, h.customer(s)).number
    # No network dispatches automatically: the ticket waits for a person.
    with db.session() as s:
        assert flows.auto_dispatch_waiting(s, settings=DispatchSettings(), now=h.NOW) == 0
    assert _status(db, number) == ("accepted", None)
    with db.session() as s:
        auto = h.network(s, auto=True)
        chosen = h.engineer(s, auto, at=h.FAR, name="自动网点师傅").id
    with db.session() as s:
        assert flows.auto_dispatch_waiting(s, settings=DispatchSettings(), now=h.NOW) == 1
    assert _status(db, number) == ("dispatched", chosen)
    # Nothing waits any more: the next pass does nothing.
    with db.session() as s:
        assert flows.auto_dispatch_waiting(s, settings=DispatchSettings(), now=h.NOW) == 0


def test_a_ticket_in_another_city_is_not_touched(db: Database) -> None:
    with db.session() as s:
        auto = h.network(s, auto=True, city="北京", coverage=("朝阳区",))
        h.engineer(s, auto, at=h.NEAR)
        number = h.ticket(s, h.customer(s)).number  # in Shanghai
    with db.session() as s:
        assert flows.auto_dispatch_waiting(s, settings=DispatchSettings(), now=h.NOW) == 0
    assert _status(db, number) == ("accepted", None)


def test_the_scheduler_runs_it_once_per_interval(db: Database, settings: Settings) -> None:
    with db.session() as s:
        auto = h.network(s, auto=True)
        h.engineer(s, auto, at=h.NEAR)
        first = h.ticket(s, h.customer(s)).number
    run = make_dispatch_pass(db, replace_interval(settings, 60))
    assert run(h.NOW) == 1
    with db.session() as s:
        second = h.ticket(s, h.customer(s)).number
    assert run(h.NOW + timedelta(seconds=30)) == 0  # not due yet
    assert _status(db, second)[0] == "accepted"
    assert run(h.NOW + timedelta(seconds=61)) == 1
    assert _status(db, first)[0] == _status(db, second)[0] == "dispatched"
    # 0 switches the pass off.
    with db.session() as s:
        third = h.ticket(s, h.customer(s)).number
    assert make_dispatch_pass(db, replace_interval(settings, 0))(h.NOW) == 0
    assert _status(db, third)[0] == "accepted"
    with db.session() as s:
        assert s.scalar(select(ServiceNetwork.auto_dispatch).where(ServiceNetwork.id == auto.id))


def replace_interval(settings: Settings, seconds: float) -> Settings:
    """The settings with another automatic-dispatch interval."""
    return settings.model_copy(update={"auto_dispatch_interval_s": seconds})


def test_the_visit_is_booked_on_the_day_the_customer_asked_for() -> None:
    """A phone tester booked 12月9日 08:00-12:00 and the job sat first on the engineer's list
    for 12月7日: the day the intake stored is the visit day while it is still ahead."""
    settings = DispatchSettings()
    now = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    asked = Ticket(details={"preferred_time": "2026-12-09 08:00-12:00"})
    assert service.visit_day(asked, now, settings) == date(2026, 12, 9)
    gone = Ticket(details={"preferred_time": "2026-12-01 08:00-12:00"})
    assert service.visit_day(gone, now, settings) == service.default_visit_day(now, settings)
    vague = Ticket(details={"preferred_time": "下午"})
    assert service.visit_day(vague, now, settings) == date(2026, 12, 7)
