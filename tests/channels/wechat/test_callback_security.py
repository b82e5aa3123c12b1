"""Every refused callback is a 4xx that writes nothing and never reaches the bot."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.conversations.models import Conversation, Message
from portal.database import Database
from portal.wechat.models import WeChatFollower
from tests.app_fixtures import FakeRasa
from tests.channels.wechat.support import (
    AES_KEY,
    TOKEN,
    WeChatServer,
    fixture,
)

TEXT = fixture("text.xml")


def assert_nothing_written(db: Database, fake_rasa: FakeRasa) -> None:
    with db.session() as session:
        for table in (Conversation, Message, WeChatFollower):
            assert session.scalar(select(func.count()).select_from(table)) == 0, table
    assert fake_rasa.received == []


# ---------------------------------------------------------------- URL verification (GET)


def test_url_check_echoes_echostr(wechat: WeChatServer, portal: TestClient) -> None:
    query = wechat.query()
    response = portal.get("/channels/wechat", params={**query, "echostr": "5837397520185710"})
    assert response.status_code == 200
    assert response.text == "5837397520185710"


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"signature": "0" * 40}, 403),
        ({"timestamp": "1410685589"}, 403),  # signed, but years old
        ({"echostr": ""}, 400),
        ({"nonce": ""}, 400),
    ],
)
def test_url_check_refusals(
    wechat: WeChatServer, portal: TestClient, change: dict[str, str], status: int
) -> None:
    query = {**wechat.query(), "echostr": "5837397520185710"}
    if "timestamp" in change:
        query = {**wechat.query(timestamp=change["timestamp"]), "echostr": "5837397520185710"}
    else:
        query.update(change)
    response = portal.get("/channels/wechat", params=query)
    assert response.status_code == status
    assert "5837397520185710" not in response.text


# ---------------------------------------------------------------- plaintext mode


def test_a_signed_message_is_taken(wechat: WeChatServer, db: Database, fake_rasa: FakeRasa) -> None:
    assert wechat.say(TEXT) is not None
    assert [r["message"] for r in fake_rasa.received] == ["你好"]


@pytest.mark.parametrize(
    "override",
    [
        {"signature": "0" * 40},
        {"signature": ""},
        {"nonce": "another-nonce"},  # the signature no longer covers the nonce sent
        {"timestamp": str(int(time.time()) - 1)},  # nor the timestamp
    ],
)
def test_bad_signature_writes_nothing(
    wechat: WeChatServer, db: Database, fake_rasa: FakeRasa, override: dict[str, str]
) -> None:
    response = wechat.post(TEXT, **override)
    assert 400 <= response.status_code < 500
    assert_nothing_written(db, fake_rasa)


# A minute past the 300 s window on either side: a request handled late on a busy machine
# moves a future timestamp back towards the window (305 s once landed inside it).
@pytest.mark.parametrize("offset", [-360, 360, -86_400])
def test_timestamp_outside_the_window_writes_nothing(
    wechat: WeChatServer, db: Database, fake_rasa: FakeRasa, offset: int
) -> None:
    # Correctly signed (a captured request replayed later, or a skewed clock): still refused.
    response = wechat.post(TEXT, signed_at=str(int(time.time()) + offset))
    assert response.status_code == 403
    assert_nothing_written(db, fake_rasa)


def test_timestamp_inside_the_window_is_taken(wechat: WeChatServer, fake_rasa: FakeRasa) -> None:
    assert wechat.reply(wechat.post(TEXT, signed_at=str(int(time.time()) - 250))) is not None
    assert len(fake_rasa.received) == 1


@pytest.mark.parametrize(
    "body",
    [
        "not xml at all",
        "<xml><MsgType><![CDATA[text]]></MsgType></xml>",  # no sender
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        "<xml><ToUserName>gh</ToUserName><FromUserName>&b;</FromUserName>"
        "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>x</Content>"
        "<MsgId>1</MsgId></xml>",
    ],
)
def test_unreadable_bodies_are_refused(
    wechat: WeChatServer, db: Database, fake_rasa: FakeRasa, body: str
) -> None:
    assert wechat.post(body).status_code == 400
    assert_nothing_written(db, fake_rasa)


def test_huge_bodies_are_refused(wechat: WeChatServer, db: Database, fake_rasa: FakeRasa) -> None:
    body = fixture("text.xml", Content="报" * 40_000)
    assert wechat.post(body).status_code == 413
    assert_nothing_written(db, fake_rasa)


def test_plaintext_mode_refuses_encrypted_messages(
    wechat: WeChatServer, db: Database, fake_rasa: FakeRasa
) -> None:
    sealed = WeChatServer(wechat.http, aes_key=AES_KEY)
    assert sealed.post(TEXT).status_code == 400
    assert_nothing_written(db, fake_rasa)


# ---------------------------------------------------------------- safe mode


def test_safe_mode_takes_an_encrypted_message_and_encrypts_the_reply(
    safe_wechat: WeChatServer, safe_portal: TestClient, fake_rasa: FakeRasa
) -> None:
    response = safe_wechat.post(TEXT)
    assert "<Encrypt>" in response.text and "收到" not in response.text  # nothing in clear
    reply = safe_wechat.reply(response)
    assert reply is not None and reply["Content"].startswith("收到：你好")
    assert [r["message"] for r in fake_rasa.received] == ["你好"]


def test_safe_mode_refuses_plaintext(
    safe_wechat: WeChatServer, db: Database, fake_rasa: FakeRasa
) -> None:
    plain = WeChatServer(safe_wechat.http)  # correctly signed, but not encrypted
    assert plain.post(TEXT).status_code == 400
    assert_nothing_written(db, fake_rasa)


@pytest.mark.parametrize("override", [{"msg_signature": "0" * 40}, {"msg_signature": ""}])
def test_safe_mode_bad_msg_signature_writes_nothing(
    safe_wechat: WeChatServer, db: Database, fake_rasa: FakeRasa, override: dict[str, str]
) -> None:
    response = safe_wechat.post(TEXT, **override)
    assert 400 <= response.status_code < 500
    assert_nothing_written(db, fake_rasa)


def test_safe_mode_bad_plain_signature_writes_nothing(
    safe_wechat: WeChatServer, db: Database, fake_rasa: FakeRasa
) -> None:
    assert safe_wechat.post(TEXT, signature="0" * 40).status_code == 403
    assert_nothing_written(db, fake_rasa)


def test_safe_mode_refuses_a_swapped_body(
    safe_wechat: WeChatServer, safe_portal: TestClient, db: Database, fake_rasa: FakeRasa
) -> None:
    # A valid envelope for one message, sent with the query of another: msg_signature
    # covers the ciphertext, so the swap is caught even though `signature` is right.
    query = safe_wechat.query()
    _body, signed = safe_wechat.encrypt(TEXT, query)
    other_body, _other = safe_wechat.encrypt(fixture("text.xml", Content="转人工"), query)
    response = safe_portal.post("/channels/wechat", params=signed, content=other_body.encode())
    assert response.status_code == 403
    assert_nothing_written(db, fake_rasa)


def test_safe_mode_refuses_messages_for_another_app(
    safe_portal: TestClient, db: Database, fake_rasa: FakeRasa
) -> None:
    # Same token and key, another app id inside the ciphertext: correctly signed, refused.
    other = WeChatServer(safe_portal, aes_key=AES_KEY, app_id="wx0000000000000000")
    assert other.post(TEXT).status_code == 403
    assert_nothing_written(db, fake_rasa)


def test_safe_mode_timestamp_window(
    safe_wechat: WeChatServer, db: Database, fake_rasa: FakeRasa
) -> None:
    assert safe_wechat.post(TEXT, signed_at=str(int(time.time()) - 600)).status_code == 403
    assert_nothing_written(db, fake_rasa)


def test_another_accounts_token_is_refused(
    portal: TestClient, db: Database, fake_rasa: FakeRasa
) -> None:
    impostor = WeChatServer(portal, token=TOKEN + "-not")
    assert impostor.post(TEXT).status_code == 403
    assert_nothing_written(db, fake_rasa)
