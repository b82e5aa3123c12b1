"""Group robots (群机器人): WeCom (企业微信) and DingTalk (钉钉) webhooks, as outbox senders.

Each posts one markdown message to a group. Their rules, as the services enforce them:

- WeCom: POST JSON {"msgtype": "text"|"markdown", ...} to /cgi-bin/webhook/send?key=…;
  a text's content is at most 2048 bytes of UTF-8, a markdown's 4096; the answer is
  {"errcode": 0, "errmsg": "ok"} (45009: too many messages, try later).
- DingTalk: POST JSON to /robot/send?access_token=…; with the 加签 setting, `timestamp`
  (milliseconds) and `sign`, the base64 HMAC-SHA256 of "timestamp\\nsecret" under the
  secret, URL-encoded; a timestamp more than an hour off, or a wrong sign, is errcode
  310000 (for good); 130101 is too many messages (try later).

A message that would be over the limit is cut (at a character boundary) with "…" rather
than refused: the link to the desk is kept at its end.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote_plus

import httpx

from portal.notifications.senders import IDEMPOTENCY_HEADER, DeliveryError, Outgoing

WECOM_TEXT_BYTES = 2048
WECOM_MARKDOWN_BYTES = 4096
DINGTALK_MARKDOWN_BYTES = 4096  # kept as short as WeCom's: one text for both groups
WECOM_RETRY = frozenset({-1, 45009})
DINGTALK_RETRY = frozenset({-1, 130101})


def fit_bytes(text: str, limit: int, *, tail: str = "") -> str:
    """`text` then `tail` in at most `limit` bytes of UTF-8: the text is cut (with "…") at a
    character boundary when both do not fit."""
    if len((text + tail).encode()) <= limit:
        return text + tail
    room = limit - len(tail.encode()) - len("…".encode())
    cut = text.encode()[: max(room, 0)].decode("utf-8", errors="ignore")
    return cut + "…" + tail


def markdown(message: Outgoing, *, limit: int) -> str:
    """The notification as a short markdown message: a title line, its text, its link."""
    link = str(message.payload.get("link") or "")
    title = str(message.payload.get("title") or "")
    head = f"### {title}\n" if title else ""
    tail = f"\n\n[{link}]({link})" if link.startswith(("https://", "http://")) else ""
    return fit_bytes(head + message.text, limit, tail=tail)


def _errcode(response: httpx.Response) -> tuple[int | None, str]:
    try:
        body = response.json()
    except ValueError:
        return None, response.text[:100]
    if not isinstance(body, dict):
        return None, ""
    code = body.get("errcode")
    return (int(code) if isinstance(code, int) else None), str(body.get("errmsg") or "")


def _post(
    name: str,
    http: httpx.Client,
    url: str,
    body: Mapping[str, Any],
    key: str,
    retry: frozenset[int],
) -> None:
    try:
        response = http.post(url, json=body, headers={IDEMPOTENCY_HEADER: key})
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{name} unreachable: {type(exc).__name__}", retry=True) from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise DeliveryError(f"{name} HTTP {response.status_code}", retry=True)
    code, msg = _errcode(response)
    if response.is_success and code == 0:
        return
    raise DeliveryError(
        f"{name} HTTP {response.status_code} errcode {code}: {msg}".rstrip(),
        retry=code in retry,
    )


class WeComRobot:
    """A WeCom group robot: its webhook URL carries the key."""

    def __init__(self, *, url: str, http: httpx.Client) -> None:
        self.url = url
        self.http = http

    def send(self, message: Outgoing) -> None:
        """Post the notification as one markdown message."""
        body = {
            "msgtype": "markdown",
            "markdown": {"content": markdown(message, limit=WECOM_MARKDOWN_BYTES)},
        }
        _post("wecom", self.http, self.url, body, message.key, WECOM_RETRY)


def dingtalk_sign(secret: str, timestamp: str) -> str:
    """DingTalk's 加签: base64 HMAC-SHA256 of "timestamp\\nsecret", URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


class DingTalkRobot:
    """A DingTalk group robot: its webhook URL carries the access token; with a secret every
    request is signed (timestamp and sign added to the URL)."""

    def __init__(
        self,
        *,
        url: str,
        secret: str,
        http: httpx.Client,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.secret = secret
        self.http = http
        self.clock = clock

    def signed_url(self) -> str:
        """The webhook URL, signed now when there is a secret."""
        if not self.secret:
            return self.url
        timestamp = str(int(self.clock() * 1000))
        joiner = "&" if "?" in self.url else "?"
        sign = dingtalk_sign(self.secret, timestamp)
        return f"{self.url}{joiner}timestamp={timestamp}&sign={sign}"

    def send(self, message: Outgoing) -> None:
        """Post the notification as one markdown message."""
        title = str(message.payload.get("title") or message.text.split("\n", 1)[0])[:60]
        body = {
            "msgtype": "markdown",
            "markdown": {"title": title, "text": markdown(message, limit=DINGTALK_MARKDOWN_BYTES)},
        }
        _post("dingtalk", self.http, self.signed_url(), body, message.key, DINGTALK_RETRY)
