"""Plays WeChat's part in the tests: reads the captured payloads, signs and (in safe mode)
encrypts each request with wechatpy's own code, and opens the replies."""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "wechat"
OPENID = "oQ9Xx5ZkFp3v2yN1aT8cRw6bLm0E"
ACCOUNT = "gh_7f083739789a"
TOKEN = "aftersales-test-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wxd1a5c0ffee2b7a10"
SECRET = "test-app-secret"
SUCCESS = "success"


def fixture(name: str, **fields: str) -> str:
    """A captured payload, with some elements replaced (e.g. MsgId, Content, FromUserName)."""
    xml = (FIXTURES / name).read_text(encoding="utf-8")
    for tag, value in fields.items():
        xml, count = re.subn(
            rf"<{tag}>(<!\[CDATA\[.*?\]\]>|[^<]*)</{tag}>",
            lambda _m, tag=tag, value=value: f"<{tag}><![CDATA[{value}]]></{tag}>",
            xml,
            flags=re.S,
        )
        assert count == 1, f"{name} has no <{tag}>"
    return xml


def json_fixture(name: str) -> Any:
    """A JSON fixture file."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def sign(*parts: str) -> str:
    """WeChat's SHA-1 signature, computed by wechatpy (not by the code under test)."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


class WeChatServer:
    """Sends callbacks to the portal as WeChat's servers do."""

    def __init__(
        self,
        http: Any,
        *,
        token: str = TOKEN,
        aes_key: str = "",
        app_id: str = APP_ID,
        api: Any = None,
    ) -> None:
        self.http = http  # a TestClient or an httpx.Client with a base URL
        self.api = api  # the fake WeChat API, told of each follower's message (48-hour rule)
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None

    def query(self, *, timestamp: str | None = None, nonce: str | None = None) -> dict[str, str]:
        """The signed query string of a callback."""
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or str(secrets.randbelow(10**10))
        return {
            "signature": sign(self.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": OPENID,
        }

    def encrypt(self, xml: str, query: dict[str, str]) -> tuple[str, dict[str, str]]:
        """The safe-mode body and query for a plaintext message."""
        assert self.crypto is not None
        envelope = xmltodict.parse(
            self.crypto.encrypt_message(xml, query["nonce"], query["timestamp"])
        )["xml"]
        body = (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
        )
        return body, {**query, "encrypt_type": "aes", "msg_signature": envelope["MsgSignature"]}

    def post(self, xml: str, *, signed_at: str | None = None, **overrides: str) -> httpx.Response:
        """POST one message signed at `signed_at` (now by default); `overrides` replace query
        parameters after signing."""
        query = self.query(timestamp=signed_at)
        if self.api is not None:
            sender = re.search(r"<FromUserName><!\[CDATA\[(.*?)\]\]>", xml)
            if sender and "<Event><![CDATA[unsubscribe]]>" not in xml:
                self.api.interacted(sender.group(1))
            elif sender:
                self.api.unfollowed.add(sender.group(1))
        body = xml
        if self.crypto is not None:
            body, query = self.encrypt(xml, query)
        query.update(overrides)
        return self.http.post(
            "/channels/wechat",
            params=query,
            content=body.encode(),
            headers={"Content-Type": "text/xml"},
        )

    def reply(self, response: httpx.Response) -> dict[str, Any] | None:
        """The passive reply as a dict (decrypted and its signature checked in safe mode),
        or None for `success`."""
        assert response.status_code == 200, response.text
        if response.text == SUCCESS:
            return None
        xml = response.text
        if self.crypto is not None:
            envelope = xmltodict.parse(xml)["xml"]
            xml = self.crypto.decrypt_message(
                xml, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
            )
        return dict(xmltodict.parse(xml)["xml"])

    def say(self, xml: str) -> str | None:
        """POST one message and return the text of the passive reply (None for success)."""
        reply = self.reply(self.post(xml))
        return None if reply is None else str(reply["Content"])
