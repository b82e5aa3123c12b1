"""Number + phone is no longer someone's ticket (issue 18, finding 4).

Ticket numbers are sequential and a customer's phone is no secret. Every ticket now has a
random check code, told only to its customer (the chat that filed it, the creation notice,
/my). From a chat not bound to the customer, anything needs it, reading the
status included (issue 19); wrong codes lock it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.config import Settings
from portal.database import Database, utcnow
from portal.notifications.flows import render
from portal.notifications.models import Notification
from portal.tickets.models import Ticket
from tests.portal import factories as f
from tests.selfservice.support import sign_in

PHONE = "13812340000"


@pytest.fixture
def world(db: Database, settings: Settings) -> dict[str, Any]:
    """A customer's ticket on its way, and a stranger's chat."""
    with db.session() as s:
        net = f.network(s)
        eng = f.engineer(s, network=net, name="王师傅", phone="13600002222")
        owner = f.customer(s, name="赵先生", phone_=PHONE)
        ticket = f.ticket(
            s, customer=owner, engineer=eng, actions=("accept", "dispatch", "engineer_accept")
        )
        chat = f.conversation(s, channel="web", sender_id="stranger")
        return {
            "bot": f.headers_for(s, settings, "bot"),
            "number": ticket.number,
            "code": ticket.check_code,
            "chat": chat.public_id,
        }


def _lookup(client: TestClient, world: dict[str, Any], **proof: str) -> Any:
    return client.post(
        f"/api/v1/bot/conversations/{world['chat']}/tickets/lookup",
        json={"number": world["number"], "phone": PHONE, **proof},
        headers=world["bot"],
    )


def _cancel(client: TestClient, world: dict[str, Any], **proof: str) -> Any:
    return client.post(
        f"/api/v1/bot/conversations/{world['chat']}/tickets/{world['number']}/actions",
        json={"action": "cancel", "phone": PHONE, **proof},
        headers=world["bot"],
    )


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def _status(db: Database, number: str) -> str:
    with db.session() as s:
        return s.scalars(select(Ticket.status).where(Ticket.number == number)).one()


def test_every_ticket_gets_a_random_six_digit_code(db: Database) -> None:
    with db.session() as s:
        customer = f.customer(s)
        rows = [f.ticket(s, customer=customer) for _ in range(12)]
        codes = [t.check_code for t in rows]
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    # Consecutive numbers, unrelated codes (twelve equal by chance: one in 10^66).
    assert len(set(codes)) > 1


def test_number_and_phone_cannot_cancel_but_with_the_check_code_can(
    client: TestClient, world: dict[str, Any], db: Database
) -> None:
    refused = _cancel(client, world)
    assert refused.status_code == 403 and "校验码" in refused.json()["message_zh"]
    assert _status(db, world["number"]) == "engineer_accepted"
    done = _cancel(client, world, check_code=world["code"])
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "cancelled" and done.json()["proven_by"] == "check_code"


def test_number_and_phone_alone_read_nothing(client: TestClient, world: dict[str, Any]) -> None:
    plain = _lookup(client, world)
    assert plain.status_code == 403 and "engineer_name" not in plain.json()
    full = _lookup(client, world, check_code=world["code"]).json()
    assert full["engineer_name"] == "王师傅" and full["engineer_phone"] == "13600002222"


def test_a_wrong_code_looks_like_no_such_ticket(client: TestClient, world: dict[str, Any]) -> None:
    wrong = _lookup(client, world, check_code=_wrong(world["code"]))
    missing = client.post(
        f"/api/v1/bot/conversations/{world['chat']}/tickets/lookup",
        json={"number": "SR20000101-9999", "phone": PHONE, "check_code": world["code"]},
        headers=world["bot"],
    )
    assert wrong.status_code == missing.status_code == 404
    assert wrong.json() == missing.json()


def test_five_wrong_codes_lock_the_code_for_an_hour(
    client: TestClient, world: dict[str, Any], db: Database
) -> None:
    bad = _wrong(world["code"])
    assert [_lookup(client, world, check_code=bad).status_code for _ in range(5)] == [404] * 5
    # Locked: even the right code is refused, with how long to wait.
    locked = _cancel(client, world, check_code=world["code"])
    assert locked.status_code == 429
    assert 3000 < int(locked.headers["Retry-After"]) <= 3601
    assert "校验码错误次数过多" in locked.json()["message_zh"]
    assert _status(db, world["number"]) == "engineer_accepted"
    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == world["number"])).one()
        assert ticket.check_locked_until is not None
        ticket.check_locked_until = utcnow() - timedelta(seconds=1)  # the hour has passed
    assert _cancel(client, world, check_code=world["code"]).status_code == 200


def test_misses_with_a_wrong_phone_do_not_lock_the_owners_code(
    client: TestClient, world: dict[str, Any]
) -> None:
    for _ in range(6):
        response = client.post(
            f"/api/v1/bot/conversations/{world['chat']}/tickets/lookup",
            json={"number": world["number"], "phone": "13900000000", "check_code": "000000"},
            headers=world["bot"],
        )
        assert response.status_code == 404
    assert _lookup(client, world, check_code=world["code"]).status_code == 200


def test_the_customer_is_told_the_code_and_staff_are_not(
    client: TestClient, db: Database, settings: Settings
) -> None:
    with db.session() as s:
        chat = f.conversation(s, channel="web", sender_id="visitor-filing")
        public_id = chat.public_id
    filed = client.post(
        f"/api/v1/bot/conversations/{public_id}/tickets",
        json={"product": "冰箱", "fault_description": "不制冷", "phone": PHONE},
        headers={**f.bearer(settings, "bot"), "Idempotency-Key": "filing-1"},
    )
    assert filed.status_code == 201
    number, code = filed.json()["number"], filed.json()["check_code"]
    with db.session() as s:
        notes = s.scalars(select(Notification)).all()
        created = [n for n in notes if n.template == "ticket_created"]
        assert created and all(n.payload["check_code"] == code for n in created)
        zh, en = render("ticket_created", created[0].payload)
        assert code in zh and number in zh and code in en
        assert all("check_code" not in n.payload for n in notes if n.channel == "portal")


def test_my_ticket_page_shows_the_code(client: TestClient, db: Database) -> None:
    with db.session() as s:
        me = f.customer(s, phone_=PHONE)
        ticket = f.ticket(s, customer=me)
        number, code = ticket.number, ticket.check_code
    client.follow_redirects = False  # sign_in reads the redirects
    sign_in(client, db, PHONE)
    page = client.get(f"/my/tickets/{number}")
    assert page.status_code == 200
    assert f'data-testid="check-code">{code}<' in page.text
    assert "工单校验码" in page.text
