"""The delivery channels: one sender per channel, each turning a rendered message into one
request to the outside (WeChat, the SMS provider) or a log line. The website widget's sender
lives with the portal's sockets, in `widget`.

Every request carries the notification's idempotency key, so a provider can drop the
duplicate that at-least-once delivery sends after a worker died mid-request.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

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
    text_en: str = ""  # for a reader in English (a widget chat on an English page)


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

# Notification template -> the kind of template message (模板消息) it goes out as. Each kind
# has its own template on the account, with its own keywords (WECHAT_TEMPLATES).
TEMPLATE_KINDS: dict[str, str] = {
    "ticket_created": "accepted",
    "ticket_accepted": "accepted",
    "engineer_assigned": "dispatched",
    "reassigned": "dispatched",
    "engineer_accepted": "dispatched",
    "engineer_on_the_way": "departed",
    "engineer_on_the_way_eta": "departed",
    "completed_rate": "completed",
    "completed": "completed",
    "resolved_remotely": "completed",
    "rate_request": "rate",
    "revisit_invite": "rate",
    "revisit_invite_sms": "rate",
    "quote_sent": "quote",
}
# The kinds, with the name WeChat's template library gives them.
KINDS: dict[str, str] = {
    "accepted": "受理",
    "dispatched": "派单",
    "departed": "出发",
    "completed": "完工",
    "rate": "评价邀请",
    "quote": "报价",
}
# Since WeChat's 2023 template change only keyword fields are shown (first and remark are
# gone), each holding one value of its type, cut to the type's length.
KEYWORD = re.compile(r"^([a-z_]+?)(\d+)$")
TYPE_LIMITS: dict[str, int] = {
    "thing": 20,
    "character_string": 32,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "amount": 32,
    "phone_number": 17,
    "car_number": 8,
    "name": 10,
    "phrase": 5,
    "time": 32,
    "date": 32,
    "const": 20,
}
RETIRED_FIELDS = frozenset({"first", "remark"})


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    """One kind's template: its id and which notification parameter fills each keyword."""

    template_id: str
    keywords: dict[str, str]

    def data(self, params: dict[str, Any]) -> dict[str, dict[str, str]]:
        """The template's keyword fields, each a parameter's value cut to its type's length."""
        out = {}
        for field_name, param in self.keywords.items():
            kind = KEYWORD.match(field_name)
            limit = TYPE_LIMITS.get(kind.group(1), 20) if kind else 20
            value = str(params.get(param, "")).strip() or "-"
            if len(value) > limit:
                value = value[: limit - 1] + "…" if limit > 1 else value[:limit]
            out[field_name] = {"value": value}
        return out


def parse_templates(raw: str) -> dict[str, TemplateSpec]:
    """WECHAT_TEMPLATES: {kind: {"id": template id, "keywords": {field: parameter}}}.

    Raises ValueError naming what is wrong: an unknown kind, no id, no keywords, or a field
    that is not one of WeChat's keyword fields (type and number, e.g. thing2).
    """
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"WECHAT_TEMPLATES is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("WECHAT_TEMPLATES must be an object: kind -> template")
    specs = {}
    for kind, spec in data.items():
        if kind not in KINDS:
            raise ValueError(f"WECHAT_TEMPLATES: unknown kind {kind!r}; one of {sorted(KINDS)}")
        if not isinstance(spec, dict) or not str(spec.get("id") or "").strip():
            raise ValueError(f"WECHAT_TEMPLATES[{kind}]: needs an id")
        keywords = spec.get("keywords")
        if not isinstance(keywords, dict) or not keywords:
            raise ValueError(f"WECHAT_TEMPLATES[{kind}]: needs keywords (field -> parameter)")
        for field_name in keywords:
            match = KEYWORD.match(str(field_name))
            if field_name in RETIRED_FIELDS or match is None or match.group(1) not in TYPE_LIMITS:
                raise ValueError(
                    f"WECHAT_TEMPLATES[{kind}]: {field_name!r} is not a keyword field "
                    "(type and number, e.g. thing2; first and remark are no longer shown)"
                )
        specs[kind] = TemplateSpec(
            template_id=str(spec["id"]).strip(),
            keywords={str(k): str(v) for k, v in keywords.items()},
        )
    return specs


class Routes(Protocol):
    """Where a WeChat notification without a template goes, and the record of the choice
    (portal.wechat.routes.NotificationRoutes)."""

    def within_window(self, openid: str) -> bool:
        """Whether a customer-service message may go to this follower now (48 h)."""

    def to_sms(self, message: Outgoing) -> bool:
        """Queue the notification as an SMS to the ticket's phone; False when there is none."""

    def record(self, message: Outgoing, route: str) -> None:
        """Keep on the notification how it went out: template, customer_service or sms."""


class WeChatSender:
    """Notifications to a customer's openid through wechatpy: the kind's template message
    (keyword fields only) where one is configured; otherwise a customer-service message if
    the customer wrote within 48 hours, else an SMS. The choice is recorded.

    `client` is the WeChat channel's client (portal.wechat.service.build_api): its access
    token lives in the database, so the outbox worker, the portal and the channel's push all
    use, and refresh, one token — WeChat invalidates the old one whenever anyone fetches anew.
    """

    def __init__(
        self,
        client: WeChatClient,
        *,
        templates: dict[str, TemplateSpec],
        routes: Routes,
        url: str = "",
    ) -> None:
        self.client = client
        self.messages = _TemplateMessages(client)
        self.templates = templates
        self.routes = routes
        self.url = url

    def send(self, message: Outgoing) -> None:
        """One notification; a template message's client_msg_id is the notification's key."""
        kind = TEMPLATE_KINDS.get(message.template)
        spec = self.templates.get(kind) if kind else None
        if spec is not None:
            self._call(
                lambda: self.messages.send_template(
                    message.recipient,
                    spec.template_id,
                    spec.data(message.payload),
                    url=self._url(message),
                    client_msg_id=message.key,
                )
            )
            self.routes.record(message, "template")
        elif self.routes.within_window(message.recipient):
            self._call(lambda: self.messages.send_text(message.recipient, message.text))
            self.routes.record(message, "customer_service")
        elif self.routes.to_sms(message):
            self.routes.record(message, "sms")
        else:
            self.routes.record(message, "none")
            raise DeliveryError(
                "wechat: no template for this kind, outside the 48-hour window, no phone",
                retry=False,
            )

    def _url(self, message: Outgoing) -> str | None:
        """Where tapping the template message leads: the notice's own page (a quote opens the
        ticket under /my) when it names an absolute one, else the portal."""
        link = str(message.payload.get("link") or "")
        if link.startswith(("https://", "http://")):
            return link
        return self.url or None

    def _call(self, send: Callable[[], Any]) -> None:
        try:
            send()
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

# Mainland mobile numbers: 11 digits from 13… to 19…, with or without +86 / 0086 / 86.
MOBILE = re.compile(r"^(?:\+?86|0086)?(1[3-9]\d{9})$")
# What the gateway takes in one message, signature included (longer ones are refused).
SMS_MAX_CHARS = 500


def mobile_e164(phone: str) -> str | None:
    """The number as +861xxxxxxxxxx, or None when it is not a mainland mobile number."""
    match = MOBILE.match(re.sub(r"[\s-]", "", phone))
    return f"+86{match.group(1)}" if match else None


def sms_signature(secret: str, *, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """HMAC-SHA256 (hex) over method, path, timestamp, nonce and the body's SHA-256."""
    digest = hashlib.sha256(body).hexdigest()
    text = "\n".join(("POST", path, timestamp, nonce, digest))
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


class SmsGateway:
    """An HTTP SMS gateway (短信网关): POST JSON {to, sign_name, text, template, reference},
    signed with the account's key id and secret (`sms_signature`), carrying the
    notification's key as Idempotency-Key. A number that is not a mainland mobile, or a text
    longer than the gateway takes, fails for good before anything is sent."""

    def __init__(
        self,
        *,
        url: str,
        key_id: str,
        secret: str,
        sign_name: str,
        http: httpx.Client,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.path = urlsplit(url).path or "/"
        self.key_id = key_id
        self.secret = secret
        self.sign_name = sign_name
        self.http = http
        self.clock = clock

    def send(self, message: Outgoing) -> None:
        """One SMS; 2xx is delivered, 429, 5xx and network errors are retried, other 4xx
        (a refused signature, number or text) are not."""
        to = mobile_e164(message.recipient)
        if to is None:
            raise DeliveryError("sms: not a mainland mobile number", retry=False)
        length = len(self.sign_name) + 2 + len(message.text)  # 【sign】text
        if length > SMS_MAX_CHARS:
            raise DeliveryError(f"sms: {length} characters, over {SMS_MAX_CHARS}", retry=False)
        body = json.dumps(
            {
                "to": to,
                "sign_name": self.sign_name,
                "text": message.text,
                "template": message.template,
                "reference": message.key,
            },
            ensure_ascii=False,
        ).encode()
        timestamp, nonce = str(int(self.clock())), uuid.uuid4().hex
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            IDEMPOTENCY_HEADER: message.key,
            "X-Sms-Key": self.key_id,
            "X-Sms-Timestamp": timestamp,
            "X-Sms-Nonce": nonce,
            "X-Sms-Signature": sms_signature(
                self.secret, path=self.path, timestamp=timestamp, nonce=nonce, body=body
            ),
        }
        try:
            response = self.http.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"sms unreachable: {type(exc).__name__}", retry=True) from exc
        if response.is_success:
            return
        retry = response.status_code >= 500 or response.status_code == 429
        code = ""
        with contextlib.suppress(ValueError, AttributeError):
            code = str(response.json().get("code") or "")
        raise DeliveryError(f"sms HTTP {response.status_code} {code}".rstrip(), retry=retry)
