"""Widget notifications, delivered by the portal process that holds the visitors' sockets:
a connected visitor gets a status change live over the real WebSocket; one who is away finds
it in the chat history when the widget reconnects; a repeat after a crash adds nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.testclient import WebSocketTestSession

from channels.base import ChannelMessage
from portal.config import Settings
from portal.conversations.models import Message
from portal.database import Database, utcnow
from portal.main import create_app
from portal.notifications import service
from portal.notifications.delivery import Outbox
from portal.notifications.models import Notification
from portal.notifications.widget import WidgetSender, store_in_conversation
from portal.tickets.models import Ticket
from tests.app_fixtures import FakeRasa
from tests.portal import factories as f

VISITOR = "visitor-widget-0001"
# The creation notice tells the ticket's check code (issue 18).
CREATED = (
    "您的服务工单 {} 已提交，校验码 {}（查询或修改工单时使用，请勿告诉他人），我们会尽快受理。"
)
ACCEPTED = "您的工单 {} 已受理，正在为您安排工程师。"

pytestmark = pytest.mark.timeout(120)  # a frame that never comes fails instead of hanging


@pytest.fixture
def portal(settings: Settings, fake_rasa: FakeRasa) -> Iterator[TestClient]:
    """The whole portal, polling its widget outbox often."""
    fast = settings.model_copy(update={"outbox_poll_s": 0.05, "widget_site_keys": "demo"})
    app = create_app(fast, http_transport=httpx.MockTransport(fake_rasa.handler))
    with TestClient(app) as client:
        yield client


def ticket_from_widget(db: Database, visitor: str = VISITOR) -> tuple[str, str]:
    """A new ticket reported through the widget by `visitor`; (its number, an agent's login)."""
    with db.session() as s:
        conversation = f.conversation(s, sender_id=visitor)
        customer = f.customer(s)
        ticket = f.ticket(s, customer=customer, conversation_id=conversation.public_id)
        agent = f.user(s, role="agent")
        return ticket.number, agent.username


def accept(client: TestClient, number: str, username: str) -> None:
    """The desk accepts the ticket through the API: a status change the customer hears of."""
    token = client.post(
        "/api/v1/auth/token", data={"username": username, "password": f.PASSWORD}
    ).json()["access_token"]
    response = client.post(
        f"/api/v1/tickets/{number}/transitions",
        json={"action": "accept"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text


def widget(client: TestClient, visitor: str = VISITOR) -> WebSocketTestSession:
    """Open the widget's socket as the visitor's browser does."""
    return client.websocket_connect(f"/channels/web/ws?site_key=demo&visitor_id={visitor}")


def next_message(ws: WebSocketTestSession) -> dict[str, Any]:
    """The next chat message frame (skipping typing indicators)."""
    while True:
        frame = ws.receive_json()
        if frame["type"] == "message":
            return frame


def widget_row(db: Database, template: str) -> Notification:
    with db.session() as s:
        return s.scalars(
            select(Notification).where(
                Notification.channel == "widget", Notification.template == template
            )
        ).one()


def wait_until_sent(db: Database, template: str) -> Notification:
    """Poll until the portal's widget loop has delivered the notification."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = widget_row(db, template)
        if row.status == "sent":
            return row
        time.sleep(0.05)
    raise AssertionError(f"widget notification {template} never sent: {row.status}")


def test_a_connected_visitor_gets_the_status_change_live(portal: TestClient, db: Database) -> None:
    number, agent = ticket_from_widget(db)
    wait_until_sent(db, "ticket_created")  # so the next frame can only be the change
    with widget(portal) as ws:
        assert ws.receive_json()["type"] == "history"
        accept(portal, number, agent)
        frame = next_message(ws)
    assert frame["author"] == "system" and frame["direction"] == "out"
    assert frame["text"] == ACCEPTED.format(number)
    row = wait_until_sent(db, "ticket_accepted")  # pushed first, then recorded
    assert row.recipient == VISITOR and row.attempts == 1
    assert row.claimed_by.startswith("portal-widget@")
    # It is part of the chat record now: the message pushed is the one stored.
    with db.session() as s:
        stored = s.get_one(Message, frame["id"])
        assert stored.channel_message_id == row.idempotency_key
    # The customer's other channel (SMS here) got its own row, for the outbox worker.
    with db.session() as s:
        sms = s.scalars(
            select(Notification).where(
                Notification.template == "ticket_accepted", Notification.channel == "sms"
            )
        ).one()
        assert sms.status == "pending" and sms.claimed_by == ""


def test_a_visitor_who_is_away_finds_it_in_the_history_on_return(
    portal: TestClient, db: Database
) -> None:
    number, agent = ticket_from_widget(db)
    accept(portal, number, agent)  # nobody connected
    wait_until_sent(db, "ticket_accepted")
    with widget(portal) as ws:
        history = ws.receive_json()
    assert history["type"] == "history"
    system = [m for m in history["messages"] if m["author"] == "system"]
    with db.session() as s:
        code = s.scalars(select(Ticket.check_code).where(Ticket.number == number)).one()
    assert [m["text"] for m in system] == [
        CREATED.format(number, code),
        ACCEPTED.format(number),
    ]


def _enqueue(db: Database, key: str, visitor: str, *, age: timedelta = timedelta()) -> None:
    with db.session() as s:
        service.enqueue(
            s,
            key=key,
            channel="widget",
            recipient=visitor,
            template="ticket_accepted",
            payload={"number": key},
            at=utcnow() - age,
        )


def test_a_repeat_after_a_crash_stores_nothing_new_and_old_news_is_dropped(
    db: Database,
) -> None:
    with db.session() as s:
        f.conversation(s, sender_id=VISITOR)
    pushed: list[tuple[str, ChannelMessage]] = []

    def push(visitor: str, message: ChannelMessage) -> int:
        pushed.append((visitor, message))
        return 1

    sender = WidgetSender(store=partial(store_in_conversation, db), push=push)
    box = Outbox(db=db, senders={"widget": sender}, worker="portal-widget@a")
    _enqueue(db, "SR-1", VISITOR)
    _enqueue(db, "SR-old", VISITOR, age=timedelta(hours=2))
    _enqueue(db, "SR-nobody", "visitor-without-chat")
    stats = box.deliver_once()
    assert (stats.claimed, stats.sent, stats.failed) == (3, 1, 2)
    with db.session() as s:
        rows = {
            n.idempotency_key: (n.status, n.last_error) for n in s.scalars(select(Notification))
        }
    assert rows == {
        "SR-1": ("sent", ""),
        "SR-old": ("failed", "widget: too old to show"),
        "SR-nobody": ("failed", "widget: the visitor has no conversation"),
    }
    # The pass that stored SR-1 died before recording it: its lease runs out and another
    # pass delivers it again: the same stored message, pushed again (the widget drops it).
    with db.session() as s:
        row = s.scalars(select(Notification).where(Notification.idempotency_key == "SR-1")).one()
        row.status, row.lease_until = "sending", utcnow() - timedelta(seconds=1)
    again = Outbox(db=db, senders={"widget": sender}, worker="portal-widget@b")
    assert again.deliver_once().sent == 1
    with db.session() as s:
        stored = s.scalars(select(Message).where(Message.author == "system")).all()
    assert len(stored) == 1
    assert [(v, m.id) for v, m in pushed] == [(VISITOR, stored[0].id)] * 2
    assert pushed[0][1].text == ACCEPTED.format("SR-1")


def test_a_push_that_fails_is_retried_with_backoff(db: Database) -> None:
    with db.session() as s:
        f.conversation(s, sender_id=VISITOR)

    def broken(_visitor: str, _message: ChannelMessage) -> int:
        raise TimeoutError("event loop busy")

    box = Outbox(
        db=db,
        senders={"widget": WidgetSender(store=partial(store_in_conversation, db), push=broken)},
        worker="portal-widget@a",
        backoff_s=30,
    )
    _enqueue(db, "SR-2", VISITOR)
    stats = box.deliver_once()
    assert (stats.sent, stats.retrying) == (0, 1)
    row = widget_row(db, "ticket_accepted")
    assert row.status == "pending" and row.attempts == 1
    assert row.next_attempt_at >= utcnow() + timedelta(seconds=20)
    assert row.last_error.startswith("TimeoutError")
