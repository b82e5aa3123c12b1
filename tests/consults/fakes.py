"""Local stand-ins for the two group robots, real HTTP servers on the loopback (the shared
`Fake` of the notification tests), each enforcing the service's rules:

- WeCom (企业微信) group robot: POST /cgi-bin/webhook/send?key=<key>; a JSON body
  {"msgtype": "text", "text": {"content"}} (at most 2048 bytes of UTF-8) or
  {"msgtype": "markdown", "markdown": {"content"}} (at most 4096); an unknown key is
  errcode 93000, a content too long 40058, another message type 40008; success is
  {"errcode": 0, "errmsg": "ok"} — always with HTTP 200, as WeCom answers.
- DingTalk (钉钉) robot: POST /robot/send?access_token=<token>&timestamp=<ms>&sign=<sign>;
  with the robot's 加签 secret the sign must be the base64 HMAC-SHA256 of
  "timestamp\\nsecret", URL-encoded, and the timestamp within an hour of the server's
  clock, else errcode 310000; an unknown token is 300001.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any

from tests.notifications.fakes import Fake, Received

WECOM_KEY = "693a91f6-7b3c-4bc4-97a0-0ec2sifa5aaa"
DINGTALK_TOKEN = "d7c1f0e2a9b84b5e8c3f6a1b2c3d4e5f"
DINGTALK_SECRET = "SEC3b1a9c7e5d2f4a6b8c0e1d3f5a7b9c2e4d6f8a0b2c4e6d8f0a1b3c5e7d9f1a3b5c"
WECOM_LIMITS = {"text": 2048, "markdown": 4096}
DINGTALK_WINDOW_MS = 3600 * 1000


@dataclass
class FakeWeCom(Fake):
    """A WeCom group robot with one key."""

    keys: frozenset[str] = frozenset({WECOM_KEY})

    def ok(self) -> tuple[int, dict[str, Any]]:
        return 200, {"errcode": 0, "errmsg": "ok"}

    def refuse(self, record: Received, raw: bytes) -> tuple[int, dict[str, Any]] | None:
        if record.path != "/cgi-bin/webhook/send":
            return 404, {"errcode": 404, "errmsg": "not found"}
        if record.query.get("key", [""])[0] not in self.keys:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        kind = record.body.get("msgtype")
        if kind not in WECOM_LIMITS:
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        part = record.body.get(kind)
        content = part.get("content") if isinstance(part, dict) else None
        if not isinstance(content, str) or not content:
            return 200, {"errcode": 44004, "errmsg": "empty content"}
        if len(content.encode("utf-8")) > WECOM_LIMITS[kind]:
            return 200, {
                "errcode": 40058,
                "errmsg": f"{kind}.content exceed max length {WECOM_LIMITS[kind]}",
            }
        return None


@dataclass
class FakeDingTalk(Fake):
    """A DingTalk robot with one access token and the 加签 secret."""

    tokens: dict[str, str] = field(default_factory=lambda: {DINGTALK_TOKEN: DINGTALK_SECRET})

    def ok(self) -> tuple[int, dict[str, Any]]:
        return 200, {"errcode": 0, "errmsg": "ok"}

    def refuse(self, record: Received, raw: bytes) -> tuple[int, dict[str, Any]] | None:
        if record.path != "/robot/send":
            return 404, {"errcode": 404, "errmsg": "not found"}
        token = record.query.get("access_token", [""])[0]
        if token not in self.tokens:
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}
        secret = self.tokens[token]
        if secret:
            stamp = record.query.get("timestamp", [""])[0]
            # parse_qs has URL-decoded it: a sign sent without encoding loses its "+".
            sign = record.query.get("sign", [""])[0]
            if not stamp.isdigit() or abs(time.time() * 1000 - int(stamp)) > DINGTALK_WINDOW_MS:
                return 200, {"errcode": 310000, "errmsg": "sign not match, timestamp invalid"}
            digest = hmac.new(
                secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256
            ).digest()
            if not hmac.compare_digest(base64.b64encode(digest).decode(), sign):
                return 200, {"errcode": 310000, "errmsg": "sign not match"}
        kind = record.body.get("msgtype")
        part = record.body.get(kind) if isinstance(kind, str) else None
        if kind == "text" and isinstance(part, dict) and part.get("content"):
            return None
        if kind == "markdown" and isinstance(part, dict) and part.get("title") and part.get("text"):
            return None
        return 200, {"errcode": 40035, "errmsg": "missing parameter"}
