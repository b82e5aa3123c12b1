"""Customers sign in with a one-time code sent to their phone (read from the demo log here)."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.customers.models import ChannelIdentity, Customer, OneTimeCode
from portal.database import Database
from portal.notifications.models import Notification
from portal.observability.masking import mask_phone
from tests.portal import factories as f

PHONE = "13912345678"
CODE_LOG = re.compile(r"demo mode: one-time code for (\S+) is (\d{6})")


def _request_code(
    client: TestClient, caplog: pytest.LogCaptureFixture, phone: str = PHONE, **extra: str
) -> str:
    """Ask for a code through the API and read it from the demo-mode log line."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="portal.customers.service"):
        response = client.post("/api/v1/customer-auth/code", json={"phone": phone, **extra})
    assert response.status_code == 202, response.text
    assert response.json() == {"sent": True, "expires_in": 300}
    (match,) = [m for r in caplog.records if (m := CODE_LOG.search(r.getMessage()))]
    assert match.group(1) == mask_phone(phone)  # the log masks phone numbers (issue 18)
    return match.group(2)


def _verify(client: TestClient, code: str, phone: str = PHONE, **extra: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/customer-auth/verify", json={"phone": phone, "code": code, **extra})


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_the_code_signs_the_customer_in_to_their_own_tickets(
    client: TestClient, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with db.session() as s:
        me = f.customer(s, phone_=PHONE)
        mine = f.ticket(s, customer=me).number
        f.ticket(s, customer=f.customer(s))
        my_id = me.id
    code = _request_code(client, caplog)
    response = _verify(client, code)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["customer_id"] == my_id and body["token_type"] == "bearer"
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    page = client.get("/api/v1/tickets", headers=headers).json()
    assert [t["number"] for t in page["items"]] == [mine] and page["total"] == 1
    assert client.get(f"/api/v1/customers/{my_id}", headers=headers).status_code == 200
    # A code works once.
    assert _verify(client, code).status_code == 422


def test_a_new_phone_becomes_a_customer(
    client: TestClient, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    response = _verify(client, _request_code(client, caplog))
    assert response.status_code == 200
    with db.session() as s:
        customer = s.scalars(select(Customer).where(Customer.phone == PHONE)).one()
        assert customer.id == response.json()["customer_id"]


def test_the_sms_goes_through_the_outbox(
    client: TestClient, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    code = _request_code(client, caplog)
    with db.session() as s:
        (note,) = s.scalars(select(Notification)).all()
        (record,) = s.scalars(select(OneTimeCode)).all()
        assert (note.channel, note.recipient, note.template) == ("sms", PHONE, "one_time_code")
        assert note.payload == {"code": code, "minutes": 5}
        assert note.status == "pending"
        # Only the hash is kept with the code record.
        assert code not in record.code_hash


def test_a_wrong_code_is_422_and_five_wrong_tries_burn_the_code(
    client: TestClient, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    code = _request_code(client, caplog)
    for _ in range(5):
        response = _verify(client, _wrong(code))
        assert response.status_code == 422, response.text
        assert response.json()["message_zh"] == "验证码错误或已过期"
        assert response.json()["message_en"] == "The code is wrong or has expired"
    # The right code is now worth nothing: guessing a million codes five at a time fails.
    assert _verify(client, code).status_code == 422
    with db.session() as s:
        record = s.scalars(select(OneTimeCode)).one()
        assert record.attempts == 5 and record.used_at is None
        assert s.scalars(select(Customer)).all() == []


def test_four_wrong_tries_still_leave_the_code_usable(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    code = _request_code(client, caplog)
    assert [_verify(client, _wrong(code)).status_code for _ in range(4)] == [422] * 4
    assert _verify(client, code).status_code == 200


def test_a_code_that_is_not_six_digits_names_the_field(client: TestClient) -> None:
    response = _verify(client, "12ab")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "code"
    assert "验证码" in response.json()["message_zh"]


def test_one_code_a_minute(
    client: TestClient, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    _request_code(client, caplog)
    again = client.post("/api/v1/customer-auth/code", json={"phone": PHONE})
    assert again.status_code == 429
    assert "1分钟" in again.json()["message_zh"]
    # Another phone is not held up.
    _request_code(client, caplog, phone="13912345679")
    with db.session() as s:
        assert len(s.scalars(select(Notification)).all()) == 2


def test_the_public_route_binds_no_channel_identity(
    client: TestClient, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    # A WeChat openid or a widget visitor is bound inside its own channel (the WeChat flow,
    # the bot's chat routes), never by naming it here.
    bind = {"channel": "wechat", "external_id": "oAbC-openid-123"}
    refused = client.post("/api/v1/customer-auth/code", json={"phone": PHONE, **bind})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "channel"
    assert "渠道" in refused.json()["message_zh"] and "channel" in refused.json()["message_en"]
    code = _request_code(client, caplog)
    assert _verify(client, code, **bind).status_code == 422
    with db.session() as s:
        assert s.scalars(select(ChannelIdentity)).all() == []
        # The refused verify did not use up the code.
        assert _verify(client, code).status_code == 200


def test_a_code_binds_only_the_identity_it_was_sent_for(
    client: TestClient, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    # The attack of issue 18: prove one's own phone while naming the victim's openid, so
    # that the victim's WeChat chats become the attacker's account. It must fail.
    victim = {"channel": "wechat", "external_id": "oVictim-openid"}
    asked = client.post("/api/v1/customer-auth/code", json={"phone": PHONE, **victim})
    assert asked.status_code == 422
    code = _request_code(client, caplog)  # the attacker's own phone, honestly
    assert _verify(client, code, **victim).status_code == 422
    response = _verify(client, code)
    assert response.status_code == 200
    with db.session() as s:
        assert s.scalars(select(ChannelIdentity)).all() == []
        assert s.get_one(Customer, response.json()["customer_id"]).wechat_openid is None
