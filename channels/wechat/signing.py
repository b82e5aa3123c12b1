"""Who sent a callback: WeChat's signatures, the timestamp window, and safe-mode crypto.

`signature` signs only the token, timestamp and nonce; `msg_signature` (safe mode) also
signs the encrypted body. Both are SHA-1 over the sorted strings, compared here in constant
time (wechatpy's own checks use `!=`, which leaks how many leading characters matched).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass

import xmltodict
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException
from wechatpy.utils import WeChatSigner


class Refused(Exception):
    """A callback that is not provably from WeChat, or is malformed; nothing is written."""

    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason


def sign(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the parts sorted and concatenated, in hex."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def same(expected: str, given: str | None) -> bool:
    """Constant-time string comparison; None never matches."""
    if given is None:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def check_signature(
    *, token: str, signature: str | None, timestamp: str | None, nonce: str | None
) -> None:
    """Raise Refused unless `signature` signs this token, timestamp and nonce."""
    if not signature or not timestamp or not nonce:
        raise Refused(400, "missing signature, timestamp or nonce")
    if not same(sign(token, timestamp, nonce), signature):
        raise Refused(403, "bad signature")


def check_timestamp(timestamp: str | None, *, now: float, window_s: int) -> None:
    """Raise Refused when the timestamp is missing, not a number, or outside the window."""
    if timestamp is None or not timestamp.isascii() or not timestamp.isdigit():
        raise Refused(400, "bad timestamp")
    if len(timestamp) > 12 or abs(now - int(timestamp)) > window_s:
        raise Refused(403, "timestamp outside the window")


@dataclass(frozen=True, slots=True)
class Envelope:
    """A safe-mode body: the ciphertext and what it is signed with."""

    encrypt: str
    to_user: str


def parse_envelope(body: bytes) -> Envelope:
    """The <Encrypt> part of a safe-mode body (DTDs and entities are refused by xmltodict)."""
    try:
        root = xmltodict.parse(body, disable_entities=True)["xml"]
        encrypt = root["Encrypt"]
    except Exception as exc:  # expat errors, a missing element, a non-dict root
        raise Refused(400, "malformed encrypted body") from exc
    if not isinstance(encrypt, str) or not encrypt:
        raise Refused(400, "malformed encrypted body")
    to_user = root.get("ToUserName") if isinstance(root.get("ToUserName"), str) else ""
    return Envelope(encrypt=encrypt, to_user=to_user or "")


class MessageCrypto:
    """Safe mode (安全模式): AES-CBC with the EncodingAESKey, bound to the app id."""

    def __init__(self, *, token: str, aes_key: str, app_id: str) -> None:
        try:
            key = base64.b64decode(aes_key + "=", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("WECHAT_AES_KEY must be the 43-character EncodingAESKey") from exc
        if len(key) != 32:
            raise ValueError("WECHAT_AES_KEY must be the 43-character EncodingAESKey")
        self.token = token
        self.app_id = app_id
        self._key = key
        self._crypto = WeChatCrypto(token, aes_key, app_id)

    def decrypt(self, body: bytes, *, msg_signature: str | None, timestamp: str, nonce: str) -> str:
        """The plaintext XML of a safe-mode body, after checking its msg_signature."""
        if not msg_signature:
            raise Refused(400, "missing msg_signature")
        envelope = parse_envelope(body)
        if not same(sign(self.token, timestamp, nonce, envelope.encrypt), msg_signature):
            raise Refused(403, "bad msg_signature")
        try:
            return str(PrpCrypto(self._key).decrypt(envelope.encrypt, self.app_id))
        except InvalidAppIdException as exc:
            raise Refused(403, "encrypted for another app id") from exc
        except Exception as exc:  # bad base64, bad padding, truncated ciphertext
            raise Refused(400, "undecryptable body") from exc

    def encrypt(self, xml: str, *, nonce: str, timestamp: str) -> str:
        """A reply wrapped for safe mode: <Encrypt>, <MsgSignature>, <TimeStamp>, <Nonce>."""
        return str(self._crypto.encrypt_message(xml, nonce, timestamp))
