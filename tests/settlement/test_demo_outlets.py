"""The demo's 伞下店 and attendance (issue 23): the outlet under 上海浦东, its store fed from
the parent's warehouse, its past jobs on the parent's statement, a month of check-ins with
today's, and automatic dispatch still at work on the day the demo is loaded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from portal.customers.models import Customer, CustomerAddress
from portal.database import Database
from portal.demo import outlets
from portal.demo.seed import seed
from portal.dispatch import flows as dispatch_flows
from portal.dispatch.scoring import DispatchSettings
from portal.networks import attendance
from portal.networks.models import Attendance, Engineer, ServiceNetwork
from portal.parts import service as parts
from portal.parts.models import StockMovement
from portal.settlement import service as settlement
from portal.tickets import lifecycle
from portal.tickets import service as tickets
from portal.tickets.models import Ticket
from portal.tickets.schemas import TicketCreate

NOW = datetime(2026, 3, 2, 3, 15, tzinfo=UTC)  # 11:15 in Shanghai, a Monday


def test_the_demo_has_an_outlet_and_attendance(db: Database) -> None:
    with db.session() as s:
        seed(s, tickets=250, now=NOW, progress=False)
    with db.session() as s:
        outlet = s.scalars(select(ServiceNetwork).where(ServiceNetwork.code == outlets.CODE)).one()
        parent = s.get_one(ServiceNetwork, outlet.parent_id)
        assert (outlet.kind, parent.code, outlet.attendance, parent.attendance) == (
            "sub",
            "SH-PD",
            True,
            True,
        )
        # Its store was fed from the parent's warehouse, by transfers.
        store = parts.network_location(s, network=outlet)
        fed = s.scalars(
            select(StockMovement).where(
                StockMovement.location_id == store.id, StockMovement.on_hand_delta > 0
            )
        ).all()
        assert fed and {m.counter_location_id for m in fed if m.kind == "transfer"} == {
            parts.network_location(s, network=parent).id
        }
        # Its jobs: done by its own engineers, settled on the parent's statements, marked.
        engineers = s.scalars(select(Engineer).where(Engineer.network_id == outlet.id)).all()
        assert len(engineers) == 2
        jobs = s.scalars(select(Ticket).where(Ticket.network_id == outlet.id)).all()
        assert len(jobs) >= 3 and {t.engineer_id for t in jobs} <= {e.id for e in engineers}
        assert not settlement.list_statements(s, network_id=outlet.id, party="network")
        marked = {
            ln.ticket_id
            for st in settlement.list_statements(s, network_id=parent.id, party="network")
            for ln in st.lines
            if ln.memo.startswith(f"伞下店 {outlet.name}")
        }
        assert marked and marked <= {t.id for t in jobs}
        # Attendance: a month behind every engineer on duty, and today's check-in.
        on_duty = s.scalars(select(Engineer.id).where(Engineer.on_duty.is_(True))).all()
        today = attendance.local_day(NOW)
        assert attendance.present(s, engineer_ids=on_duty, day=today) == set(on_duty)
        past = s.scalars(select(Attendance).where(Attendance.day < today)).all()
        assert len(past) > 20 * len(on_duty)
        assert any(a.auto_closed for a in past) and any(a.in_position != "ok" for a in past)
        assert all(a.checked_in_at <= NOW for a in past)
    # Automatic dispatch still finds engineers on the day the demo was loaded: a new ticket in
    # 浦东 (whose network dispatches by attendance) goes to someone checked in today.
    with db.session() as s:
        home = s.scalars(
            select(CustomerAddress)
            .where(CustomerAddress.district == "浦东新区")
            .order_by(CustomerAddress.id)
        ).first()
        assert home is not None
        customer = s.get_one(Customer, home.customer_id)
        data = TicketCreate(
            product="洗衣机",
            model_code="WM-200",
            fault_description="不排水",
            phone=customer.phone,
            address=home.full,
            city="上海市",
            district=home.district,
        )
        row, _ = tickets.create_ticket(s, data=data, actor="service:test", customer=customer)
        lifecycle.apply(s, ticket=row, action="accept", actor="user:desk", role="agent")
        number = row.number
    with db.session() as s:
        assigned = dispatch_flows.auto_dispatch_waiting(
            s, settings=DispatchSettings(), now=NOW + timedelta(minutes=1)
        )
        assert assigned >= 1
        t = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert t.status == "dispatched" and t.engineer_id is not None
        assert attendance.present(s, engineer_ids=[t.engineer_id], day=today) == {t.engineer_id}
