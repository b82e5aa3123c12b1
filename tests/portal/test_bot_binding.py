"""Binding a chat to a customer with a one-time code the bot asks for (the SMS is read from
the outbox, where the portal puts it)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.config import Settings
from portal.customers.models import ChannelIdentity, Customer, OneTimeCode
from portal.database import Database
from portal.notifications.models import Notification
from tests.portal import factories as f

PHONE = "13912345678"


@pytest.fixture
def world(db: Database, settings: Settings) -> dict[str, Any]:
    """A customer with an open ticket; an unbound widget chat and an unbound WeChat chat."""
    with db.session() as s:
        owner = f.customer(s, phone_=PHONE, name="李先生")
        ticket = f.ticket(s, customer=owner)
        web = f.conversation(s, channel="web", sender_id="v-visitor-1")
        wechat = f.conversation(s, channel="wechat", sender_id="openid-9")
        return {
            "bot": f.headers_for(s, settings, "bot"),
            "agent": f.headers_for(s, settings, "agent"),
            "owner": owner.id,
            "ticket": ticket.number,
            "web": web.public_id,
            "wechat": wechat.public_id,
        }


def _send(client: TestClient, world: dict[str, Any], chat: str, phone: str = PHONE):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/bot/conversations/{chat}/code", json={"phone": phone}, headers=world["bot"]
    )


def _sent_code(db: Database, phone: str = PHONE) -> str:
    """The code in the newest SMS to the phone waiting in the outbox."""
    with db.session() as s:
        note = s.scalars(
            select(Notification)
            .where(Notification.recipient == phone, Notification.template == "one_time_code")
            .order_by(Notification.id.desc())
        ).first()
        assert note is not None and note.channel == "sms"
        return str(note.payload["code"])


def _verify(client: TestClient, world: dict[str, Any], chat: str, code: str, phone: str = PHONE):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/bot/conversations/{chat}/verify",
        json={"phone": phone, "code": code},
        headers=world["bot"],
    )


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_the_code_binds_the_chat_and_then_its_tickets_are_listed(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    chat = world["web"]
    tickets_url = f"/api/v1/bot/conversations/{chat}/tickets"
    assert client.get(tickets_url, headers=world["bot"]).status_code == 404
    sent = _send(client, world, chat, phone="139 1234 5678")
    assert sent.status_code == 202, sent.text
    assert sent.json() == {"sent": True, "expires_in": 300}
    bound = _verify(client, world, chat, _sent_code(db))
    assert bound.status_code == 200, bound.text
    body = bound.json()
    assert (body["customer_id"], body["name"], body["phone"]) == (world["owner"], "李先生", PHONE)
    assert len(body["addresses"]) == 1 and len(body["assets"]) == 1
    listed = client.get(tickets_url, headers=world["bot"])
    assert [t["number"] for t in listed.json()["items"]] == [world["ticket"]]
    with db.session() as s:
        identity = s.scalars(select(ChannelIdentity)).one()
        assert (identity.channel, identity.external_id) == ("web", "v-visitor-1")
        assert identity.customer_id == world["owner"]


def test_a_wrong_code_binds_nothing_and_five_misses_burn_it(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    chat = world["web"]
    assert _send(client, world, chat).status_code == 202
    code = _sent_code(db)
    for _ in range(5):
        miss = _verify(client, world, chat, _wrong(code))
        assert miss.status_code == 422, miss.text
        assert miss.json()["message_zh"] == "验证码错误或已过期"
        assert miss.json()["errors"][0]["field"] == "code"
    assert _verify(client, world, chat, code).status_code == 422
    with db.session() as s:
        assert s.scalars(select(OneTimeCode)).one().attempts == 5
        assert s.scalars(select(ChannelIdentity)).all() == []
    assert (
        client.get(f"/api/v1/bot/conversations/{chat}/customer", headers=world["bot"]).status_code
        == 404
    )


def test_codes_of_other_purposes_do_not_bind_a_chat(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    signed_in = client.post("/api/v1/customer-auth/code", json={"phone": PHONE})
    assert signed_in.status_code == 202
    assert _verify(client, world, world["web"], _sent_code(db)).status_code == 422


def test_one_code_a_minute_and_bad_input_is_explained(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    chat = world["web"]
    assert _send(client, world, chat).status_code == 202
    again = _send(client, world, chat)
    assert again.status_code == 429 and "1分钟" in again.json()["message_zh"]
    bad_phone = _send(client, world, chat, phone="12345")
    assert bad_phone.status_code == 422
    assert bad_phone.json()["errors"][0]["field"] == "phone"
    short = _verify(client, world, chat, "12ab")
    assert short.status_code == 422 and short.json()["errors"][0]["field"] == "code"
    nobody = _send(client, world, "no-such-chat", phone="13912345670")
    assert nobody.status_code == 404
    with db.session() as s:
        codes = select(Notification).where(Notification.template == "one_time_code")
        assert len(s.scalars(codes).all()) == 1


def test_only_the_bot_may_send_or_check_codes(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    url = f"/api/v1/bot/conversations/{world['web']}/code"
    assert client.post(url, json={"phone": PHONE}).status_code == 401
    assert client.post(url, json={"phone": PHONE}, headers=world["agent"]).status_code == 403
    with db.session() as s:
        codes = select(Notification).where(Notification.template == "one_time_code")
        assert s.scalars(codes).all() == []


def test_a_new_phone_becomes_a_customer_bound_to_the_chat(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    chat, phone = world["web"], "13700001234"
    assert _send(client, world, chat, phone=phone).status_code == 202
    bound = _verify(client, world, chat, _sent_code(db, phone), phone=phone)
    assert bound.status_code == 200, bound.text
    assert bound.json()["phone"] == phone and bound.json()["addresses"] == []
    listed = client.get(f"/api/v1/bot/conversations/{chat}/tickets", headers=world["bot"])
    assert listed.json() == {"items": []}


def test_a_wechat_chat_moves_the_openid_to_the_customer_who_proved_the_phone(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    with db.session() as s:
        earlier = f.customer(s, wechat_openid="openid-9")
        s.add(ChannelIdentity(channel="wechat", external_id="openid-9", customer_id=earlier.id))
        earlier_id = earlier.id
    chat = world["wechat"]
    assert _send(client, world, chat).status_code == 202
    assert _verify(client, world, chat, _sent_code(db)).status_code == 200
    with db.session() as s:
        assert s.get_one(Customer, earlier_id).wechat_openid is None
        assert s.get_one(Customer, world["owner"]).wechat_openid == "openid-9"
        identity = s.scalars(select(ChannelIdentity)).one()
        assert identity.customer_id == world["owner"]
