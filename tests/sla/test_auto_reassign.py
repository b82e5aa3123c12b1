"""SLA auto-reassignment (改派): a missed arrival deadline gives the ticket to the best other
candidate through dispatch's ranking, as an event with its reason, telling the engineer it
was taken from, the dispatchers, the new engineer and the customer; once, however many
schedulers race; and with nobody else free the escalation simply carries on."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from portal import wiring
from portal.config import Settings
from portal.database import Database
from portal.dispatch import flows as dispatch
from portal.dispatch.scoring import DispatchSettings
from portal.networks.models import Engineer
from portal.notifications.models import Notification
from portal.parts import service as parts
from portal.parts.flows import StockPlanner
from portal.sla import service as sla
from portal.sla.flows import Scheduler
from portal.sla.service import SlaDefaults
from portal.tickets.models import Ticket, TicketEvent
from tests.parts.world import catalogue
from tests.portal import factories as f
from tests.sla.support import (
    ADMIN,
    Crew,
    act,
    dispatch_to,
    escalations,
    make_crew,
    network,
    open_ticket,
    race,
    sh,
    staff_notes,
)

MONDAY_9 = sh(2026, 3, 9, 9, 0)
ARRIVAL_DUE = sh(2026, 3, 9, 13, 0)  # four working hours later


def user(uid: int) -> str:
    return f"user:{uid}"


def crew_with_a_colleague(db: Database, **colleague: object) -> tuple[Crew, int, int, int]:
    """The crew, a second engineer of its network, and a ticket dispatched to the crew's
    engineer at Monday 09:00: (crew, ticket id, colleague's engineer id, their user id)."""
    with db.session() as s:
        crew = make_crew(s)
        other = f.engineer(s, network=network(s, crew.network_id), **colleague)
        ticket = open_ticket(s, at=MONDAY_9)
        dispatch_to(s, ticket, crew, MONDAY_9)
        assert other.user_id is not None
        return crew, ticket.id, other.id, other.user_id


def reassign_events(db: Database, ticket_id: int) -> list[TicketEvent]:
    with db.session() as s:
        return list(
            s.scalars(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket_id, TicketEvent.action == "reassign")
                .order_by(TicketEvent.id)
            ).all()
        )


def test_a_missed_arrival_goes_to_the_next_candidate(db: Database) -> None:
    crew, ticket_id, other_id, other_user = crew_with_a_colleague(db)
    scheduler = Scheduler(db=db, defaults=SlaDefaults(auto_reassign=True), worker="w1")
    assert scheduler.run_once(ARRIVAL_DUE)["escalated"] == 1
    with db.session() as s:
        ticket = s.get_one(Ticket, ticket_id)
        assert ticket.engineer_id == other_id and ticket.status == "dispatched"
        (payload,) = escalations(s, ticket_id)
        assert payload["timer"] == "arrival" and payload["level"] == 1
        assert payload["reassign"] == "done"
        assert payload["reassigned_from"] == crew.engineer_id
        assert payload["reassigned_to"] == other_id
        # Told: the engineer it was taken from and the dispatchers, with both names …
        assert staff_notes(s, "sla_reassigned") == [
            (user(crew.engineer_user), ticket_id),
            (user(crew.dispatcher), ticket_id),
        ]
        note = s.scalars(
            select(Notification).where(Notification.template == "sla_reassigned")
        ).first()
        assert note is not None
        old = s.get_one(Engineer, crew.engineer_id).name
        new = s.get_one(Engineer, other_id).name
        assert note.payload["previous"] == old and note.payload["engineer"] == new
        # … the new engineer gets the job, the customer hears of the change.
        assert (user(other_user), ticket_id) in staff_notes(s, "job_assigned")
        customer = s.scalars(
            select(Notification).where(Notification.template == "reassigned")
        ).one()
        assert customer.channel == "sms"
        # Nobody asks a person to do what was done.
        assert staff_notes(s, "sla_reassign_requested") == []
    (event,) = reassign_events(db, ticket_id)
    assert event.actor == "service:dispatch"
    assert event.payload["reason"] == "上门时限已超，系统自动改派"
    assert event.payload["engineer_id"] == other_id


def test_an_engineer_who_cannot_take_it_is_not_picked(db: Database) -> None:
    # The only colleague is off duty: nobody else can go, so a person is asked instead.
    crew, ticket_id, _, _ = crew_with_a_colleague(db, on_duty=False)
    scheduler = Scheduler(db=db, defaults=SlaDefaults(auto_reassign=True), worker="w1")
    assert scheduler.run_once(ARRIVAL_DUE)["escalated"] == 1
    with db.session() as s:
        assert s.get_one(Ticket, ticket_id).engineer_id == crew.engineer_id
        (payload,) = escalations(s, ticket_id)
        assert payload["reassign"] == "requested" and payload["level"] == 1
        assert staff_notes(s, "sla_reassign_requested") == [(user(crew.dispatcher), ticket_id)]
        assert staff_notes(s, "sla_reassigned") == []
    assert reassign_events(db, ticket_id) == []
    # The escalation carries on up the ladder as before.
    scheduler.run_once(sh(2026, 3, 9, 13, 30))
    with db.session() as s:
        assert [p["level"] for p in escalations(s, ticket_id)] == [1, 2]


def test_two_racing_schedulers_reassign_once(db: Database) -> None:
    crew, ticket_id, _, _ = crew_with_a_colleague(db)
    with db.session() as s:  # a third engineer: a second reassignment would have somewhere to go
        f.engineer(s, network=network(s, crew.network_id))
    for _ in range(3):
        total = race(db, ARRIVAL_DUE, workers=2, auto_reassign=True)
        assert total["error"] == 0
    events = reassign_events(db, ticket_id)
    assert len(events) == 1
    with db.session() as s:
        (payload,) = escalations(s, ticket_id)
        assert payload["reassign"] == "done"
        assert s.get_one(Ticket, ticket_id).engineer_id == payload["reassigned_to"]
        assert Counter(n for n, _ in staff_notes(s, "sla_reassigned"))[user(crew.dispatcher)] == 1


def test_without_the_setting_nobody_is_reassigned(db: Database) -> None:
    crew, ticket_id, _, _ = crew_with_a_colleague(db)
    Scheduler(db=db, defaults=SlaDefaults(), worker="w1").run_once(ARRIVAL_DUE)
    with db.session() as s:
        assert s.get_one(Ticket, ticket_id).engineer_id == crew.engineer_id
        assert "reassign" not in escalations(s, ticket_id)[0]
    assert reassign_events(db, ticket_id) == []


def test_the_ticket_s_policy_decides_before_the_setting(db: Database) -> None:
    crew, wanted, other_id, _ = crew_with_a_colleague(db, name="王师傅")
    with db.session() as s:
        sla.create_policy(
            s,
            data={
                "name": "VIP 自动改派",
                "customer_tier": "vip",
                "response_minutes": 10,
                "arrival_minutes": 240,
                "resolution_minutes": 1440,
                "auto_reassign": True,
            },
        )
        sla.create_policy(
            s,
            data={
                "name": "普通不改派",
                "customer_tier": "normal",
                "response_minutes": 10,
                "arrival_minutes": 240,
                "resolution_minutes": 1440,
                "auto_reassign": False,
            },
        )
        s.get_one(Ticket, wanted).customer.tier = "vip"
        normal = open_ticket(s, at=MONDAY_9)
        dispatch_to(s, normal, crew, MONDAY_9)
        normal_id = normal.id
    # The setting is off, the VIP policy on; the normal policy off though the setting is on.
    Scheduler(db=db, defaults=SlaDefaults(), worker="w1").run_once(ARRIVAL_DUE)
    with db.session() as s:
        assert s.get_one(Ticket, wanted).engineer_id == other_id
    with db.session() as s:
        again = open_ticket(s, at=MONDAY_9)
        dispatch_to(s, again, crew, MONDAY_9)
        again_id = again.id
    Scheduler(db=db, defaults=SlaDefaults(auto_reassign=True), worker="w1").run_once(ARRIVAL_DUE)
    with db.session() as s:
        assert s.get_one(Ticket, normal_id).engineer_id == crew.engineer_id
        assert s.get_one(Ticket, again_id).engineer_id == crew.engineer_id
        assert "reassign" not in escalations(s, again_id)[0]


def test_a_reassignment_by_the_ladder_holds_the_parts_at_the_new_engineer_s_network(
    db: Database,
) -> None:
    # "滚筒不转了" points the stock planner at the motor; both networks' stores have one.
    with db.session() as s:
        crew = make_crew(s)
        motor = catalogue(s)["WM-MTR-01"]
        elsewhere = f.network(s)
        other = f.engineer(s, network=elsewhere)
        stores = [
            parts.network_location(s, network=network(s, crew.network_id)),
            parts.network_location(s, network=elsewhere),
        ]
        for store in stores:
            parts.receive(s, location=store, part=motor, quantity=1, actor="test")
        # the customer asked for a visit on the day it is due
        ticket = open_ticket(
            s, at=MONDAY_9, preferred_time=f"{ARRIVAL_DUE.date().isoformat()} 08:00-20:00"
        )
        ticket_id, other_id, motor_id = ticket.id, other.id, motor.id
    with db.session() as s:
        ticket = s.get_one(Ticket, ticket_id)
        act(s, ticket, "accept")
        dispatch.assign(
            s,
            ticket=ticket,
            principal=ADMIN,
            engineer_id=crew.engineer_id,
            day=ARRIVAL_DUE.date(),
            now=MONDAY_9,
            settings=DispatchSettings(),
            planner=StockPlanner(),
        )
    # The scheduler's database is wired as the worker wires it: with the stock's planner.
    worker_db = wiring.wire(Database(db.url), Settings())
    Scheduler(db=worker_db, defaults=SlaDefaults(auto_reassign=True), worker="w1").run_once(
        ARRIVAL_DUE
    )
    worker_db.dispose()
    with db.session() as s:
        assert s.get_one(Ticket, ticket_id).engineer_id == other_id
        held = [
            (r.location_id, r.part_id, r.quantity, r.status)
            for r in parts.held_for(s, ticket_id=ticket_id)
        ]
        # Held at the new engineer's store; the old store has its motor free again.
        assert held == [(stores[1].id, motor_id, 1, "held")]
        assert parts.available(s, location_id=stores[0].id, part_id=motor_id) == 1
        assert parts.available(s, location_id=stores[1].id, part_id=motor_id) == 0
