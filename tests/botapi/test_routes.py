"""The bot's routes: who the chat is, and tickets only with proof of ownership."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.config import Settings
from portal.customers.models import ChannelIdentity
from portal.database import Database
from portal.tickets.models import Ticket, TicketComment, TicketEvent
from tests.portal import factories as f


@pytest.fixture
def world(db: Database, settings: Settings) -> dict[str, Any]:
    """A customer bound to one conversation, with tickets at several stages; a stranger."""
    with db.session() as s:
        net = f.network(s)
        eng = f.engineer(s, network=net, name="王师傅", phone="13600001111")
        owner = f.customer(s, name="张女士")
        other = f.customer(s)
        bound = f.conversation(s, channel="web", sender_id="visitor-bound")
        s.add(ChannelIdentity(channel="web", external_id="visitor-bound", customer_id=owner.id))
        by_identity = f.conversation(s, channel="wechat", sender_id="openid-1")
        s.add(ChannelIdentity(channel="wechat", external_id="openid-1", customer_id=owner.id))
        anonymous = f.conversation(s)
        new = f.ticket(s, customer=owner)
        on_way = f.ticket(
            s,
            customer=owner,
            engineer=eng,
            actions=("accept", "dispatch", "engineer_accept", "depart"),
        )
        on_site = f.ticket(
            s,
            customer=owner,
            engineer=eng,
            actions=("accept", "dispatch", "engineer_accept", "depart", "arrive"),
        )
        done = f.ticket(
            s,
            customer=owner,
            engineer=eng,
            actions=("accept", "dispatch", "engineer_accept", "depart", "arrive", "complete"),
        )
        cancelled = f.ticket(s, customer=owner, actions=("cancel",))
        foreign = f.ticket(s, customer=other)
        return {
            "bot": f.headers_for(s, settings, "bot"),
            "agent": f.headers_for(s, settings, "agent"),
            "owner_phone": owner.phone,
            "other_phone": other.phone,
            "bound": bound.public_id,
            "by_identity": by_identity.public_id,
            "anonymous": anonymous.public_id,
            "new": new.number,
            "on_way": on_way.number,
            "on_site": on_site.number,
            "done": done.number,
            "cancelled": cancelled.number,
            "foreign": foreign.number,
            "codes": {t.number: t.check_code for t in (new, on_way, on_site, done, foreign)},
        }


def _events(db: Database, number: str) -> list[str]:
    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        return [
            e.action
            for e in s.scalars(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket.id)
                .order_by(TicketEvent.id)
            )
        ]


# ---------------------------------------------------------------- who is talking


@pytest.mark.parametrize("conversation", ["bound", "by_identity"])
def test_bound_customer_comes_with_addresses_and_units(
    client: TestClient, world: dict[str, Any], conversation: str
) -> None:
    response = client.get(
        f"/api/v1/bot/conversations/{world[conversation]}/customer", headers=world["bot"]
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["name"] == "张女士" and data["phone"] == world["owner_phone"]
    [home] = data["addresses"]
    assert home["text"].startswith("上海浦东新区世纪大道") and home["is_default"]
    [unit] = data["assets"]
    assert unit["serial_number"].startswith("SN") and unit["product"] == "洗衣机"
    assert unit["address_id"] == home["id"]


def test_anonymous_or_unknown_conversation_is_404(
    client: TestClient, world: dict[str, Any]
) -> None:
    for public_id in (world["anonymous"], "no-such-conversation"):
        response = client.get(
            f"/api/v1/bot/conversations/{public_id}/customer", headers=world["bot"]
        )
        assert response.status_code == 404
        response = client.get(
            f"/api/v1/bot/conversations/{public_id}/tickets", headers=world["bot"]
        )
        assert response.status_code == 404


def test_only_the_bot_may_call(client: TestClient, world: dict[str, Any]) -> None:
    response = client.get(
        f"/api/v1/bot/conversations/{world['bound']}/customer", headers=world["agent"]
    )
    assert response.status_code == 403
    url = f"/api/v1/bot/conversations/{world['anonymous']}/tickets/lookup"
    assert client.post(url, json={"number": world["new"]}).status_code == 401


def test_bound_customer_lists_open_tickets_and_those_to_rate(
    client: TestClient, world: dict[str, Any]
) -> None:
    url = f"/api/v1/bot/conversations/{world['bound']}/tickets"
    open_ = client.get(url, headers=world["bot"]).json()["items"]
    assert {t["number"] for t in open_} == {
        world["new"],
        world["on_way"],
        world["on_site"],
        world["done"],
    }
    to_rate = client.get(url, params={"scope": "to_rate"}, headers=world["bot"]).json()["items"]
    assert [t["number"] for t in to_rate] == [world["done"]]
    assert to_rate[0]["can_evaluate"] and not to_rate[0]["can_cancel"]


# ---------------------------------------------------------------- proving ownership


def _lookup(client: TestClient, world: dict[str, Any], chat: str = "anonymous", **body: Any) -> Any:
    return client.post(
        f"/api/v1/bot/conversations/{world[chat]}/tickets/lookup", json=body, headers=world["bot"]
    )


def test_number_phone_and_check_code_reveal_status_engineer_eta_and_next_step(
    client: TestClient, world: dict[str, Any]
) -> None:
    number = world["on_way"]
    response = _lookup(
        client, world, number=number, phone=world["owner_phone"], check_code=world["codes"][number]
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["status_label"] == "已出发" and data["proven_by"] == "check_code"
    assert data["engineer_name"] == "王师傅" and data["engineer_phone"] == "13600001111"
    # No route published: no ETA (never the SLA's arrival deadline); the visit as /my says it.
    assert data["eta"] is None and data["eta_text"] == ""
    assert "08:00–20:00" in data["visit_text"] and data["visit_text"].endswith("待安排")
    assert "在路上" in data["next_step"]
    assert data["can_urge"] and data["can_cancel"] and data["can_reschedule"]


def test_the_eta_is_said_in_the_chat_s_language(
    client: TestClient, world: dict[str, Any], db: Database
) -> None:
    number = world["on_way"]
    eta = datetime(2026, 12, 8, 6, 30, tzinfo=UTC)  # 14:30 in China
    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert ticket.engineer_id is not None
        f.route_eta(s, ticket, engineer_id=ticket.engineer_id, eta=eta)
    data = _lookup(
        client, world, number=number, phone=world["owner_phone"], check_code=world["codes"][number]
    ).json()
    assert data["eta_text"] == "12月8日 14:30"
    assert data["eta_text_en"] == "8 Dec 14:30"  # the English chat no longer gets Chinese


def test_number_and_phone_alone_reveal_nothing_and_ask_for_the_check_code(
    client: TestClient, world: dict[str, Any], db: Database
) -> None:
    """Issue 19: the chat promises that following a ticket up needs its check code; number +
    phone answered the progress anyway. Without the code every number and phone get the same
    answer, which says what is missing and nothing about any ticket."""
    number = world["on_way"]
    plain = _lookup(client, world, number=number, phone=world["owner_phone"])
    wrong_phone = _lookup(client, world, number=number, phone=world["other_phone"])
    missing = _lookup(client, world, number="SR20000101-9999", phone=world["owner_phone"])
    no_phone = _lookup(client, world, number=number)
    urged = client.post(
        f"/api/v1/bot/conversations/{world['anonymous']}/tickets/{number}/actions",
        json={"action": "urge", "phone": world["owner_phone"]},
        headers=world["bot"],
    )
    assert plain.status_code == 403, plain.text
    assert "校验码" in plain.json()["message_zh"] and "已出发" not in plain.text
    for other in (wrong_phone, missing, no_phone, urged):
        assert other.status_code == 403 and other.json() == plain.json()
    with db.session() as s:
        urges = s.scalars(
            select(TicketEvent)
            .join(Ticket)
            .where(Ticket.number == number, TicketEvent.action == "urge")
        ).all()
        assert not urges


@pytest.mark.parametrize("typed", ["lower", "no_dash"])
def test_number_may_be_typed_loosely(client: TestClient, world: dict[str, Any], typed: str) -> None:
    number = world["new"].lower() if typed == "lower" else world["new"].replace("-", "")
    code = world["codes"][world["new"]]
    response = _lookup(client, world, number=number, phone=world["owner_phone"], check_code=code)
    assert response.status_code == 200
    assert response.json()["number"] == world["new"]


def test_wrong_phone_or_code_looks_exactly_like_no_such_ticket(
    client: TestClient, world: dict[str, Any]
) -> None:
    code = world["codes"][world["new"]]
    wrong = _lookup(client, world, number=world["new"], phone=world["other_phone"], check_code=code)
    missing = _lookup(
        client, world, number="SR20000101-9999", phone=world["owner_phone"], check_code=code
    )
    no_phone = _lookup(client, world, number=world["new"], check_code=code)
    bad_code = _lookup(
        client, world, number=world["new"], phone=world["owner_phone"], check_code="000000"
    )
    if code == "000000":  # one chance in a million
        bad_code = no_phone
    assert wrong.status_code == missing.status_code == no_phone.status_code == 404
    assert bad_code.status_code == 404
    assert wrong.json() == missing.json() == no_phone.json() == bad_code.json()


def test_bound_conversation_is_proof_for_its_own_tickets_only(
    client: TestClient, world: dict[str, Any]
) -> None:
    own = _lookup(client, world, "by_identity", number=world["new"])
    foreign = _lookup(client, world, "bound", number=world["foreign"])
    assert own.status_code == 200 and own.json()["proven_by"] == "conversation"
    assert foreign.status_code == 403  # as for any ticket not the chat's, without its code


# ---------------------------------------------------------------- acting on a ticket


def _act(client: TestClient, world: dict[str, Any], number: str, **body: Any) -> Any:
    """An action from an unbound chat, proven by number + phone + check code."""
    proof = {"phone": world["owner_phone"], "check_code": world["codes"].get(number, "")}
    return client.post(
        f"/api/v1/bot/conversations/{world['anonymous']}/tickets/{number}/actions",
        json={**proof, **body},
        headers=world["bot"],
    )


def test_urge_is_recorded_as_the_bot(
    client: TestClient, world: dict[str, Any], db: Database
) -> None:
    response = _act(client, world, world["on_way"], action="urge")
    assert response.status_code == 200, response.text
    assert _events(db, world["on_way"])[-1] == "urge"


def test_cancel_before_arrival_and_refusal_after(
    client: TestClient, world: dict[str, Any], db: Database
) -> None:
    ok = _act(client, world, world["new"], action="cancel", reason="不需要了")
    assert ok.status_code == 200 and ok.json()["status"] == "cancelled"
    refused = _act(client, world, world["on_site"], action="cancel")
    assert refused.status_code == 409
    assert "已到场" in refused.json()["message_zh"]
    assert _events(db, world["on_site"])[-1] == "arrive"


def test_reschedule_moves_the_window_and_tells_the_engineer(
    client: TestClient, world: dict[str, Any], db: Database
) -> None:
    window = "2026-11-25 13:00-18:00"
    response = _act(client, world, world["on_way"], action="reschedule", preferred_time=window)
    assert response.status_code == 200, response.text
    assert response.json()["preferred_time"] == window
    with db.session() as s:
        [note] = s.scalars(select(TicketComment)).all()
        assert window in note.body and note.internal
    late = _act(client, world, world["on_site"], action="reschedule", preferred_time=window)
    assert late.status_code == 409 and "不能再改约" in late.json()["message_zh"]
    empty = _act(client, world, world["new"], action="reschedule")
    assert empty.status_code == 422


def test_rating_is_stored_on_a_completed_ticket_only(
    client: TestClient, world: dict[str, Any], db: Database
) -> None:
    early = _act(client, world, world["new"], action="evaluate", score=5)
    assert early.status_code == 409
    rated = _act(client, world, world["done"], action="evaluate", score=4, comment="师傅很专业")
    assert rated.status_code == 200 and rated.json()["status"] == "evaluated"
    with db.session() as s:
        event = s.scalars(select(TicketEvent).where(TicketEvent.action == "evaluate")).one()
        assert event.payload["score"] == 4 and event.payload["comment"] == "师傅很专业"
        assert event.actor == "service:bot"


def test_someone_elses_ticket_cannot_be_touched(
    client: TestClient, world: dict[str, Any], db: Database
) -> None:
    response = _act(client, world, world["foreign"], action="cancel")
    assert response.status_code == 404
    assert _events(db, world["foreign"]) == ["create"]
