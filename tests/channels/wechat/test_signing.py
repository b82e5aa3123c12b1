"""Signatures, the timestamp window and safe-mode crypto, against known answers."""

from __future__ import annotations

import hmac

import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto

from channels.wechat import signing
from channels.wechat.signing import (
    MessageCrypto,
    Refused,
    check_signature,
    check_timestamp,
    sign,
)
from tests.channels.wechat.support import AES_KEY, APP_ID, TOKEN, json_fixture

VECTORS = json_fixture("signature_vectors.json")
KAT = json_fixture("encrypted_wechatpy_vector.json")


@pytest.mark.parametrize("vector", VECTORS["signature"])
def test_signature_known_answers(vector: dict[str, str]) -> None:
    assert sign(vector["token"], vector["timestamp"], vector["nonce"]) == vector["signature"]
    check_signature(
        token=vector["token"],
        signature=vector["signature"],
        timestamp=vector["timestamp"],
        nonce=vector["nonce"],
    )


@pytest.mark.parametrize("vector", VECTORS["msg_signature"])
def test_msg_signature_known_answers(vector: dict[str, str]) -> None:
    parts = (vector["token"], vector["timestamp"], vector["nonce"], vector["encrypt"])
    assert sign(*parts) == vector["msg_signature"]


def test_wrong_signatures_are_refused() -> None:
    wrong = VECTORS["wrong"][0]
    with pytest.raises(Refused) as refused:
        check_signature(
            token=wrong["token"],
            signature=wrong["signature"],
            timestamp=wrong["timestamp"],
            nonce=wrong["nonce"],
        )
    assert refused.value.status_code == 403
    other = VECTORS["wrong"][1]
    parts = (other["token"], other["timestamp"], other["nonce"], other["encrypt"])
    assert sign(*parts) != other["msg_signature"]


@pytest.mark.parametrize(
    ("signature", "timestamp", "nonce", "status"),
    [
        (None, "1410685589", "test", 400),
        ("f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", None, "test", 400),
        ("f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", "1410685589", "", 400),
        ("F21891DE399B4E33A1A93C9A7B8A8FFFB5A443FF", "1410685589", "test", 403),  # case matters
        ("f21891de399b4e33a1a93c9a7b8a8fffb5a443f", "1410685589", "test", 403),  # one short
    ],
)
def test_incomplete_or_altered_signatures(
    signature: str | None, timestamp: str | None, nonce: str, status: int
) -> None:
    with pytest.raises(Refused) as refused:
        check_signature(token="test", signature=signature, timestamp=timestamp, nonce=nonce)
    assert refused.value.status_code == status


def test_signatures_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every comparison goes through hmac.compare_digest (a spy; behaviour unchanged)."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(signing.hmac, "compare_digest", spy)
    vector = VECTORS["signature"][0]
    check_signature(
        token="test", signature=vector["signature"], timestamp=vector["timestamp"], nonce="test"
    )
    crypto = MessageCrypto(token=KAT["token"], aes_key=KAT["aes_key"], app_id=KAT["app_id"])
    crypto.decrypt(
        KAT["body"].encode(),
        msg_signature=KAT["msg_signature"],
        timestamp=KAT["timestamp"],
        nonce=KAT["nonce"],
    )
    assert [a for a, _b in calls] == [
        vector["signature"].encode(),
        KAT["msg_signature"].encode(),
    ]


@pytest.mark.parametrize(
    ("timestamp", "status"),
    [("999", 403), ("1000301", 403), ("999699", 403), ("abc", 400), ("-5", 400), (None, 400)],
)
def test_timestamp_window(timestamp: str | None, status: int) -> None:
    now = 1_000_000.0
    check_timestamp("1000300", now=now, window_s=300)
    check_timestamp("999700", now=now, window_s=300)
    with pytest.raises(Refused) as refused:
        check_timestamp(timestamp, now=now, window_s=300)
    assert refused.value.status_code == status


def test_decrypts_wechatpys_known_answer() -> None:
    crypto = MessageCrypto(token=KAT["token"], aes_key=KAT["aes_key"], app_id=KAT["app_id"])
    xml = crypto.decrypt(
        KAT["body"].encode(),
        msg_signature=KAT["msg_signature"],
        timestamp=KAT["timestamp"],
        nonce=KAT["nonce"],
    )
    message = xmltodict.parse(xml)["xml"]
    for key, value in KAT["plaintext"].items():
        assert message[key] == value


def test_refuses_bad_msg_signature_and_foreign_app_id() -> None:
    crypto = MessageCrypto(token=KAT["token"], aes_key=KAT["aes_key"], app_id=KAT["app_id"])
    with pytest.raises(Refused) as refused:
        crypto.decrypt(
            KAT["body"].encode(),
            msg_signature="0" * 40,
            timestamp=KAT["timestamp"],
            nonce=KAT["nonce"],
        )
    assert refused.value.status_code == 403
    foreign = MessageCrypto(token=KAT["token"], aes_key=KAT["aes_key"], app_id="wx0000000000000000")
    with pytest.raises(Refused) as refused:
        foreign.decrypt(
            KAT["body"].encode(),
            msg_signature=KAT["msg_signature"],
            timestamp=KAT["timestamp"],
            nonce=KAT["nonce"],
        )
    assert refused.value.status_code == 403


def test_reply_encryption_interoperates_with_wechatpy() -> None:
    ours = MessageCrypto(token=TOKEN, aes_key=AES_KEY, app_id=APP_ID)
    theirs = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    reply = "<xml><Content><![CDATA[您好]]></Content></xml>"
    sealed = ours.encrypt(reply, nonce="42", timestamp="1732415523")
    envelope = xmltodict.parse(sealed)["xml"]
    assert envelope["MsgSignature"] == sign(TOKEN, "1732415523", "42", envelope["Encrypt"])
    assert theirs.decrypt_message(sealed, envelope["MsgSignature"], "1732415523", "42") == reply
    # And the other way round: what wechatpy (standing in for WeChat) seals, we open.
    inbound = theirs.encrypt_message(reply, "43", "1732415524")
    parsed = xmltodict.parse(inbound)["xml"]
    opened = ours.decrypt(
        inbound.encode(), msg_signature=parsed["MsgSignature"], timestamp="1732415524", nonce="43"
    )
    assert opened == reply


@pytest.mark.parametrize(
    "key", ["", "short", "x" * 42, "x" * 44, "abcdefghijklmnopqrstuvwxyz0123456789ABCDE!"]
)
def test_bad_aes_keys_are_rejected_at_startup(key: str) -> None:
    with pytest.raises(ValueError):
        MessageCrypto(token=TOKEN, aes_key=key, app_id=APP_ID)
