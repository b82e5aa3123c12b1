"""Every status change writes its notifications into the outbox in the same transaction:
the customer's (WeChat or SMS, and the widget they reported through) and staff in-portal rows,
which staff read and mark read through the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.accounts.models import User
from portal.config import Settings
from portal.database import Database, utcnow
from portal.notifications.models import Notification
from tests.portal import factories as f
from tests.sla.support import act, make_crew, open_ticket


def notes(session: Any, **where: Any) -> list[Notification]:
    stmt = select(Notification).order_by(Notification.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(Notification, key) == value)
    return list(session.scalars(stmt).all())


def test_a_rolled_back_change_leaves_no_notification(db: Database) -> None:
    with pytest.raises(RuntimeError), db.session() as s:
        open_ticket(s)
        assert notes(s, template="ticket_created")  # written with the ticket …
        raise RuntimeError("the request failed after all")
    with db.session() as s:
        assert notes(s) == []  # … and gone with it


def test_the_customer_hears_of_each_step_by_sms_without_wechat(db: Database) -> None:
    with db.session() as s:
        crew = make_crew(s)
        customer = f.customer(s)
        ticket = open_ticket(s, customer=customer)
        act(s, ticket, "accept")
        act(s, ticket, "dispatch", engineer_id=crew.engineer_id)
        for action in ("engineer_accept", "depart", "arrive", "complete"):
            act(s, ticket, action)
        sent = [(n.channel, n.recipient, n.template) for n in notes(s) if n.channel != "portal"]
        assert sent == [
            ("sms", customer.phone, "ticket_created"),
            ("sms", customer.phone, "ticket_accepted"),
            ("sms", customer.phone, "engineer_assigned"),
            ("sms", customer.phone, "engineer_accepted"),
            ("sms", customer.phone, "engineer_on_the_way"),
            ("sms", customer.phone, "completed"),
            ("sms", customer.phone, "revisit_invite_sms"),  # the automatic revisit
        ]
        for n in notes(s, channel="sms"):
            assert n.status == "pending" and n.ticket_id == ticket.id and n.attempts == 0
            assert n.idempotency_key.startswith(f"ticket:{ticket.id}:event:")
            assert n.payload["number"] == ticket.number
        done = notes(s, template="completed")[0]
        assert done.payload["status_label"] == "已完工"
        invite = notes(s, template="revisit_invite_sms")[0]
        assert "1-5" in invite.payload["remark"] and invite.payload["link"].endswith(ticket.number)


def test_wechat_when_bound_and_the_widget_when_reported_through_it(db: Database) -> None:
    with db.session() as s:
        customer = f.customer(s, wechat_openid="oCustomer-openid-1")
        chat = f.conversation(s, channel="web", sender_id="visitor-42")
        open_ticket(s, customer=customer, conversation_id=chat.public_id)
        got = {(n.channel, n.recipient) for n in notes(s, template="ticket_created")}
        assert got == {("wechat", "oCustomer-openid-1"), ("widget", "visitor-42")}


def test_the_engineer_on_the_way_message_has_the_eta_when_dispatch_knows_it(
    db: Database,
) -> None:
    with db.session() as s:
        crew = make_crew(s)
        ticket = open_ticket(s)
        act(s, ticket, "accept")
        act(s, ticket, "dispatch", engineer_id=crew.engineer_id)
        act(s, ticket, "engineer_accept")
        eta = utcnow().replace(microsecond=0) + timedelta(minutes=40)
        f.route_eta(s, ticket, engineer_id=crew.engineer_id, eta=eta)
        act(s, ticket, "depart")
        (note,) = notes(s, template="engineer_on_the_way_eta")
        shown = eta.astimezone(ZoneInfo("Asia/Shanghai"))
        assert note.payload["eta"] == shown.strftime("%H:%M")
        assert note.payload["engineer"].startswith("工程师")


def test_staff_get_in_portal_rows(db: Database) -> None:
    with db.session() as s:
        crew = make_crew(s)
        ticket = open_ticket(s)
        act(s, ticket, "accept")
        act(s, ticket, "dispatch", engineer_id=crew.engineer_id)
        act(s, ticket, "engineer_reject", reason="不在服务范围")
        assigned = notes(s, template="job_assigned")
        assert [(n.channel, n.recipient, n.status) for n in assigned] == [
            ("portal", f"user:{crew.engineer_user}", "sent")
        ]
        rejected = {n.recipient for n in notes(s, template="engineer_rejected")}
        assert rejected == {f"user:{crew.manager}", f"user:{crew.dispatcher}"}


def test_backdated_history_is_not_news(db: Database) -> None:
    with db.session() as s:
        open_ticket(s, at=utcnow() - timedelta(days=3))
        assert notes(s) == []


def test_staff_list_and_mark_their_notifications(
    client: TestClient, db: Database, settings: Settings
) -> None:
    with db.session() as s:
        crew = make_crew(s)
        for _ in range(3):
            ticket = open_ticket(s)
            act(s, ticket, "accept")
            act(s, ticket, "dispatch", engineer_id=crew.engineer_id)
        engineer = f.bearer(settings, s.get_one(User, crew.engineer_user))
        dispatcher = f.bearer(settings, s.get_one(User, crew.dispatcher))
        customer = f.bearer(settings, f.customer(s))
    mine = client.get("/api/v1/notifications/mine", headers=engineer)
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert (body["total"], body["unread"]) == (3, 3)
    first = body["items"][0]
    assert first["template"] == "job_assigned" and first["text"].startswith("新工单 SR")
    assert first["text_en"].startswith("New job SR") and first["read_at"] is None
    assert first["ticket_number"] in first["text"]
    read = client.post(f"/api/v1/notifications/{first['id']}/read", headers=engineer)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    unread = client.get("/api/v1/notifications/mine?unread=true", headers=engineer).json()
    assert (unread["total"], unread["unread"]) == (2, 2)
    # Someone else's notification does not exist for you.
    other = client.post(f"/api/v1/notifications/{first['id']}/read", headers=dispatcher)
    assert other.status_code == 404
    assert client.get("/api/v1/notifications/mine", headers=dispatcher).json()["total"] == 0
    everything = client.post("/api/v1/notifications/read-all", headers=engineer)
    assert everything.json() == {"updated": 2}
    assert client.get("/api/v1/notifications/mine", headers=engineer).json()["unread"] == 0
    # Customers have no in-portal notifications.
    assert client.get("/api/v1/notifications/mine", headers=customer).status_code == 403
    assert client.get("/api/v1/notifications/mine").status_code == 401
