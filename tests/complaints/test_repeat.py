"""A repeat fault (重复维修): when the customer says the fault came back (再次 / 又坏了 / 还是不行
/ the same problem again …), or the unit had another repair completed in the 30 days before
this ticket, the case is classified as a repeat repair by itself, with the reason shown in
its history; the desk may change it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.assets.models import Asset
from portal.complaints import flows
from portal.complaints.models import Complaint
from portal.customers.models import Customer
from portal.database import Database, utcnow
from portal.security import Principal
from portal.tickets import lifecycle
from portal.tickets.models import Ticket
from tests.complaints.support import completed, rate
from tests.portal import factories as f
from tests.portal.test_pages import login, post
from tests.sla.support import make_crew

DESK = Principal(kind="staff", role="agent", name="desk", user_id=None)


def _case(s: Session, ticket: Ticket) -> Complaint:
    return s.scalars(select(Complaint).where(Complaint.ticket_id == ticket.id)).one()


def _unit(s: Session, customer: Customer) -> str:
    return s.scalars(select(Asset.serial_number).where(Asset.customer_id == customer.id)).one()


@pytest.mark.parametrize(
    "comment",
    ["修完三天又坏了", "还是不行，跟上次一样", "滚筒再次不转", "Same problem again after a week"],
)
def test_the_customer_saying_the_fault_came_back_is_a_repeat_repair(
    db: Database, comment: str
) -> None:
    with db.session() as s:
        ticket = completed(s, crew=make_crew(s))
        rate(s, ticket, 1, comment)
        case = _case(s, ticket)
        assert case.reason == "repeat_repair"
        assert [e.action for e in case.events] == ["open", "repeat"]
        assert case.events[-1].note in comment.lower()


def test_a_complaint_not_about_the_fault_keeps_its_own_reason(db: Database) -> None:
    with db.session() as s:
        ticket = completed(s, crew=make_crew(s))
        rate(s, ticket, 2, "师傅迟到了两个小时")
        assert _case(s, ticket).reason == "late"


def test_a_unit_repaired_within_30_days_makes_the_case_a_repeat_repair(db: Database) -> None:
    with db.session() as s:
        crew = make_crew(s)
        customer = f.customer(s)
        serial = _unit(s, customer)
        first = completed(
            s, crew=crew, customer=customer, serial_number=serial, at=utcnow() - timedelta(days=20)
        )
        again = completed(s, crew=crew, customer=customer, serial_number=serial)
        assert again.asset_id is not None and again.asset_id == first.asset_id
        rate(s, again, 1, "师傅迟到了")
        case = _case(s, again)
        assert case.reason == "repeat_repair"
        assert first.number in case.events[-1].note


def test_a_repair_longer_ago_or_on_another_unit_is_no_repeat(db: Database) -> None:
    with db.session() as s:
        crew = make_crew(s)
        customer = f.customer(s)
        serial = _unit(s, customer)
        completed(
            s, crew=crew, customer=customer, serial_number=serial, at=utcnow() - timedelta(days=40)
        )
        other_unit = f.asset(s, customer=customer).serial_number
        completed(
            s,
            crew=crew,
            customer=customer,
            serial_number=other_unit,
            at=utcnow() - timedelta(days=5),
        )
        now = completed(s, crew=crew, customer=customer, serial_number=serial)
        rate(s, now, 1, "态度不好")
        assert _case(s, now).reason == "attitude"


def test_a_case_recorded_by_hand_with_no_reason_of_its_own_is_classified(db: Database) -> None:
    with db.session() as s:
        settings = lifecycle.consequences_of(s).context.settings
        ticket = completed(s, crew=make_crew(s))
        case = flows.open_complaint(
            s,
            ticket=ticket,
            source="phone",
            reason="other",
            description="客户来电：上周修的冰箱又坏了",
            actor="user:1",
            settings=settings,
        )
        assert case.reason == "repeat_repair"
        # A reason the desk chose on purpose stays theirs.
        chosen = flows.open_complaint(
            s,
            ticket=completed(s, crew=make_crew(s)),
            source="phone",
            reason="charges",
            description="又坏了，还多收了钱",
            actor="user:1",
            settings=settings,
        )
        assert chosen.reason == "charges"


def test_the_desk_may_change_the_classification(client: TestClient, db: Database) -> None:
    with db.session() as s:
        ticket = completed(s, crew=make_crew(s))
        rate(s, ticket, 1, "又坏了")
        case_id = _case(s, ticket).id
        agent = f.user(s, role="agent").username
    login(client, agent)
    page = client.get(f"/complaints/{case_id}")
    assert "重复维修" in page.text and "又坏了" in page.text
    post(client, f"/complaints/{case_id}/actions", {"action": "classify", "reason": "product"})
    with db.session() as s:
        assert s.get_one(Complaint, case_id).reason == "product"
    listed = client.get("/complaints?reason=repeat_repair")
    assert listed.status_code == 200 and f'data-id="{case_id}"' not in listed.text
