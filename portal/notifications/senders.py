"""The delivery channels: one sender per channel, each turning a rendered message into one
request to the outside (WeChat, the SMS provider) or a log line. The website widget's sender
lives with the portal's sockets, in `widget`.

Every request carries the notification's idempotency key, so a provider can drop the
duplicate that at-least-once delivery sends after a worker died mid-request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx
import requests
from optionaldict import optionaldict
from wechatpy import WeChatClient
from wechatpy.client.api import WeChatMessage
from wechatpy.exceptions import APILimitedException, WeChatClientException

from portal.wechat.service import TokenUnavailable

log = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"


class DeliveryError(Exception):
    """A failed attempt; `retry` says whether trying again later may succeed."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What a sender needs of a notification, detached from the database session."""

    id: int
    key: str
    channel: str
    recipient: str
    template: str
    text: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int


class Sender(Protocol):
    """Delivers one message or raises DeliveryError."""

    def send(self, message: Outgoing) -> None:
        """Deliver `message` once."""


class LogSender:
    """Demo mode: the message goes to the log instead of a provider."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    def send(self, message: Outgoing) -> None:
        """Log it."""
        log.info(
            "demo %s to %s [%s]: %s", self.channel, message.recipient, message.key, message.text
        )


class Unconfigured:
    """A channel with no provider outside demo mode: every message fails for good."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    def send(self, message: Outgoing) -> None:
        """Refuse."""
        raise DeliveryError(f"{self.channel} is not configured", retry=False)


# ---------------------------------------------------------------- WeChat


class _TemplateMessages(WeChatMessage):  # type: ignore[misc]
    """wechatpy's message API, with the template message's 防重入 id (client_msg_id).

    WeChat drops a second template message with the same openid and client_msg_id; the id
    also goes out as an Idempotency-Key header for proxies and fakes that read headers.
    """

    def send_template(  # type: ignore[no-untyped-def]
        self, user_id, template_id, data, url=None, mini_program=None, client_msg_id=None
    ):
        """Send a template message (wechatpy's signature plus `client_msg_id`)."""
        body = optionaldict(
            touser=user_id,
            template_id=template_id,
            url=url,
            miniprogram=mini_program,
            data=data,
            client_msg_id=client_msg_id,
        )
        headers = {IDEMPOTENCY_HEADER: client_msg_id} if client_msg_id else None
        return self._post("message/template/send", data=body, headers=headers)


# WeChat error codes worth another try: busy, rate-limited, token trouble after its retry.
WECHAT_RETRY = frozenset({-1, 45009, 40001, 42001, 40014})


class WeChatSender:
    """Template messages to a customer's openid through wechatpy.

    `client` is the WeChat channel's client (portal.wechat.flows.build_api): its access token
    lives in the database, so the outbox worker, the portal and the channel's push all use,
    and refresh, one token — WeChat invalidates the old one whenever anyone fetches anew.
    """

    def __init__(self, client: WeChatClient, *, template_id: str, url: str = "") -> None:
        self.client = client
        self.messages = _TemplateMessages(client)
        self.template_id = template_id
        self.url = url

    def send(self, message: Outgoing) -> None:
        """One template message; the notification's key is its client_msg_id."""
        p = message.payload
        data = {
            "first": {"value": message.text},
            "keyword1": {"value": str(p.get("number", ""))},
            "keyword2": {"value": str(p.get("status_label", ""))},
            "keyword3": {"value": str(p.get("when", ""))},
            "remark": {"value": str(p.get("remark", ""))},
        }
        try:
            self.messages.send_template(
                message.recipient,
                self.template_id,
                data,
                url=self.url or None,
                client_msg_id=message.key,
            )
        except APILimitedException as exc:
            raise DeliveryError(f"wechat rate limit: {exc.errmsg}", retry=True) from exc
        except WeChatClientException as exc:
            if exc.errcode is None:  # an HTTP error: 5xx is worth retrying, 4xx is not
                status = getattr(exc.response, "status_code", None) or 0
                raise DeliveryError(f"wechat HTTP {status}", retry=status >= 500) from exc
            retry = exc.errcode in WECHAT_RETRY
            raise DeliveryError(f"wechat {exc.errcode}: {exc.errmsg}", retry=retry) from exc
        except (requests.RequestException, TokenUnavailable) as exc:
            raise DeliveryError(f"wechat unreachable: {type(exc).__name__}", retry=True) from exc


# ---------------------------------------------------------------- SMS


class SmsSender:
    """A small JSON provider: POST {phone, text, template, params, idempotency_key}."""

    def __init__(self, *, url: str, api_key: str, http: httpx.Client) -> None:
        self.url = url
        self.api_key = api_key
        self.http = http

    def send(self, message: Outgoing) -> None:
        """One SMS; 2xx is delivered, 5xx and network errors are retried, 4xx are not."""
        headers = {IDEMPOTENCY_HEADER: message.key}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        body = {
            "phone": message.recipient,
            "text": message.text,
            "template": message.template,
            "params": message.payload,
            "idempotency_key": message.key,
        }
        try:
            response = self.http.post(self.url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"sms unreachable: {type(exc).__name__}", retry=True) from exc
        if response.is_success:
            return
        retry = response.status_code >= 500 or response.status_code == 429
        raise DeliveryError(f"sms HTTP {response.status_code}", retry=retry)
