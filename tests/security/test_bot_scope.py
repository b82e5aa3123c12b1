"""The bot acts only as the customer its chat proves to be (issue 18, finding 1).

Its service token used to open every desk route (every customer's phone and address, every
ticket, any transcript, any transition). Now the bot has its own routes, one chat at a time
(`/api/v1/bot/conversations/{id}/...`): the portal works out which customer the chat is
bound to (a channel identity proven by a one-time code), and the bot can never name one.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.config import ROOT, Settings
from portal.conversations import service as conversations
from portal.conversations.models import Conversation
from portal.customers.models import ChannelIdentity, Customer
from portal.database import Database
from portal.tickets.models import Ticket, TicketEvent
from tests.portal import factories as f

VICTIM_PHONE = "13812345678"


@pytest.fixture
def world(db: Database, settings: Settings) -> dict[str, Any]:
    """A victim with an address and a ticket on the way; an attacker's anonymous web chat;
    a chat bound (by identity) to the victim."""
    with db.session() as s:
        net = f.network(s)
        eng = f.engineer(s, network=net, name="王师傅", phone="13600001111")
        victim = f.customer(s, name="李女士", phone_=VICTIM_PHONE)
        ticket = f.ticket(
            s, customer=victim, engineer=eng, actions=("accept", "dispatch", "engineer_accept")
        )
        done = f.ticket(
            s,
            customer=victim,
            engineer=eng,
            actions=("accept", "dispatch", "engineer_accept", "depart", "arrive", "complete"),
        )
        attacker_chat = f.conversation(s, channel="web", sender_id="attacker-visitor")
        victim_chat = f.conversation(s, channel="wechat", sender_id="oVictim")
        s.add(ChannelIdentity(channel="wechat", external_id="oVictim", customer_id=victim.id))
        return {
            "bot": f.headers_for(s, settings, "bot"),
            "victim_id": victim.id,
            "ticket": ticket.number,
            "ticket_id": ticket.id,
            "check_code": ticket.check_code,
            "done": done.number,
            "done_code": done.check_code,
            "attacker": attacker_chat.public_id,
            "victim_chat": victim_chat.public_id,
        }


def _events(db: Database, number: str) -> list[str]:
    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        return [
            e.action
            for e in s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
        ]


def _bot(chat: str, path: str) -> str:
    return f"/api/v1/bot/conversations/{chat}{path}"


# ---------------------------------------------------------------- the desk is closed to it


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/customers?q=138", None),
        ("GET", "/api/v1/customers/{victim_id}", None),
        ("GET", "/api/v1/tickets", None),
        ("GET", "/api/v1/tickets/{ticket}", None),
        ("POST", "/api/v1/tickets/{ticket}/transitions", {"action": "cancel", "reason": "x"}),
        ("POST", "/api/v1/tickets/{ticket}/transitions", {"action": "escalate", "reason": "x"}),
        ("GET", "/api/v1/conversations/{victim_chat}", None),
        ("GET", "/api/v1/assets", None),
    ],
)
def test_the_service_token_opens_no_desk_route(
    client: TestClient, world: dict[str, Any], db: Database, method: str, path: str, body: Any
) -> None:
    response = client.request(method, path.format(**world), json=body, headers=world["bot"])
    assert response.status_code == 403, response.text
    assert VICTIM_PHONE not in response.text
    assert _events(db, world["ticket"]) == ["create", "accept", "dispatch", "engineer_accept"]


# ---------------------------------------------------------------- only the chat's customer


def test_a_ticket_filed_with_someone_elses_phone_does_not_make_the_chat_theirs(
    client: TestClient, world: dict[str, Any], db: Database
) -> None:
    # The attacker files a ticket in their chat with the victim's phone (anyone may report a
    # fault for any phone), and the hub then remembers the ticket's customer on the chat.
    filed = client.post(
        _bot(world["attacker"], "/tickets"),
        json={"product": "洗衣机", "fault_description": "不转了", "phone": VICTIM_PHONE},
        headers={**world["bot"], "Idempotency-Key": "k1"},
    )
    assert filed.status_code == 201, filed.text
    with db.session() as s:
        chat = s.scalars(
            select(Conversation).where(Conversation.public_id == world["attacker"])
        ).one()
        conversations.resolve_customer(s, conversation=chat)
        assert chat.customer_id == world["victim_id"]
    # Still nobody the bot may speak for: no profile, no ticket list, no ticket by number.
    assert client.get(_bot(world["attacker"], "/customer"), headers=world["bot"]).status_code == 404
    assert client.get(_bot(world["attacker"], "/tickets"), headers=world["bot"]).status_code == 404
    lookup = client.post(
        _bot(world["attacker"], "/tickets/lookup"),
        json={"number": world["ticket"]},
        headers=world["bot"],
    )
    assert lookup.status_code == 403 and "status" not in lookup.json()  # the code is asked
    cancel = client.post(
        _bot(world["attacker"], f"/tickets/{world['ticket']}/actions"),
        json={"action": "cancel"},
        headers=world["bot"],
    )
    assert cancel.status_code == 403
    assert "cancel" not in _events(db, world["ticket"])


def test_the_bot_cannot_name_a_customer_channel_or_chat_when_filing(
    client: TestClient, world: dict[str, Any], db: Database
) -> None:
    for extra in (
        {"customer_id": world["victim_id"]},
        {"conversation_id": world["victim_chat"]},
        {"channel": "wechat"},
    ):
        response = client.post(
            _bot(world["attacker"], "/tickets"),
            json={"product": "洗衣机", "phone": "13900000000", **extra},
            headers={**world["bot"], "Idempotency-Key": f"k-{next(iter(extra))}"},
        )
        assert response.status_code == 422, response.text
    filed = client.post(
        _bot(world["attacker"], "/tickets"),
        json={"product": "洗衣机", "fault_description": "漏水", "phone": "13900000000"},
        headers={**world["bot"], "Idempotency-Key": "k-ok"},
    )
    assert filed.status_code == 201
    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == filed.json()["number"])).one()
        assert (ticket.channel, ticket.conversation_id) == ("web", world["attacker"])
        assert filed.json()["check_code"] == ticket.check_code


def test_filing_needs_an_idempotency_key_and_a_replay_returns_the_same_ticket(
    client: TestClient, world: dict[str, Any]
) -> None:
    body = {"product": "冰箱", "fault_description": "不制冷", "phone": "13900000001"}
    url = _bot(world["attacker"], "/tickets")
    assert client.post(url, json=body, headers=world["bot"]).status_code == 422
    first = client.post(url, json=body, headers={**world["bot"], "Idempotency-Key": "same"})
    again = client.post(url, json=body, headers={**world["bot"], "Idempotency-Key": "same"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    # The same key from another chat is another request.
    other = client.post(
        _bot(world["victim_chat"], "/tickets"),
        json=body,
        headers={**world["bot"], "Idempotency-Key": "same"},
    )
    assert other.status_code == 201 and other.json()["number"] != first.json()["number"]


@pytest.mark.parametrize("action", ["cancel", "reschedule", "evaluate"])
def test_number_and_phone_alone_cannot_cancel_reschedule_or_rate(
    client: TestClient, world: dict[str, Any], db: Database, action: str
) -> None:
    number = world["done"] if action == "evaluate" else world["ticket"]
    before = _events(db, number)
    body = {"action": action, "phone": VICTIM_PHONE, "score": 1, "preferred_time": "明天上午"}
    if action != "evaluate":
        body.pop("score")
    if action != "reschedule":
        body.pop("preferred_time")
    response = client.post(
        _bot(world["attacker"], f"/tickets/{number}/actions"), json=body, headers=world["bot"]
    )
    assert response.status_code == 403, response.text
    assert "校验码" in response.json()["message_zh"]
    assert "check code" in response.json()["message_en"]
    assert _events(db, number) == before


def test_the_bound_chat_acts_for_its_customer(
    client: TestClient, world: dict[str, Any], db: Database
) -> None:
    mine = client.get(_bot(world["victim_chat"], "/tickets"), headers=world["bot"])
    assert {t["number"] for t in mine.json()["items"]} == {world["ticket"], world["done"]}
    rated = client.post(
        _bot(world["victim_chat"], f"/tickets/{world['done']}/actions"),
        json={"action": "evaluate", "score": 5},
        headers=world["bot"],
    )
    assert rated.status_code == 200 and rated.json()["status"] == "evaluated"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/customer", None),
        ("GET", "/tickets", None),
        ("POST", "/tickets/lookup", {"number": "SR20261207-0001"}),
        ("GET", "/kb/search?q=洗衣机", None),
        ("POST", "/intake/parse", {"text": "明天上午"}),
        ("GET", "/sla/promise", None),
    ],
)
def test_the_bot_routes_answer_only_for_a_chat_that_exists(
    client: TestClient, world: dict[str, Any], method: str, path: str, body: Any
) -> None:
    response = client.request(method, _bot("no-such-chat", path), json=body, headers=world["bot"])
    assert response.status_code == 404


def test_staff_and_customers_cannot_use_the_bot_routes(
    client: TestClient, world: dict[str, Any], db: Database, settings: Settings
) -> None:
    with db.session() as s:
        admin = f.headers_for(s, settings, "admin")
        victim = f.bearer(settings, s.get_one(Customer, world["victim_id"]))
    for headers in (admin, victim, {}):
        response = client.get(_bot(world["victim_chat"], "/customer"), headers=headers)
        assert response.status_code in (401, 403)


# ---------------------------------------------------------------- the action server


def test_rasa_sends_the_action_server_its_secret_in_a_header() -> None:
    endpoints = yaml.safe_load((ROOT / "bot" / "endpoints.yml").read_text(encoding="utf-8"))
    action = endpoints["action_endpoint"]
    assert action["headers"] == {"X-Action-Secret": "${ACTION_SERVER_SECRET}"}
    assert "token" not in action and "?" not in action["url"]
