"""What the portal does with the WeChat channel: the decisions channels/wechat leaves to it.

`WeChatDesk` sits between the callback adapter and the conversation hub. It handles what is
WeChat's own (follow and unfollow, scans, images, voice without recognised words, a location
offered as the visit address, binding the openid to a customer by phone and one-time code)
and hands everything else to the hub, which runs the bot's turn. A photo is fetched through
the media API (media/get by its MediaId, since WeChat's links expire after three days) into
our own attachment storage, with the size and type checks of any upload; a photo that cannot
be fetched keeps WeChat's link, gets a staff note on the conversation and a notification. While
an agent has the conversation (or it waits for one), photos go through the hub to the agent.
Every inbound message is stored with WeChat's MsgId (or event key) in the transaction that
acts on it, so a retry of a message finds it stored and does nothing.

`WeChatPush` sends what must go out after the callback was answered (slow bot turns, agent
messages) through the customer-service message API: only within 48 hours of the customer's
last contact and while they follow the account; every refusal or API error is stored as a
delivery failure and announced to the desk's agents instead of being dropped. The agent's
typing goes the same way (客服输入状态), as a hint that is only logged when refused.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import requests
from fastapi import FastAPI
from pydantic_core import PydanticCustomError
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from wechatpy.exceptions import WeChatClientException

from channels.base import Button, ChannelMessage, Hub
from channels.wechat import WeChatApi, WeChatConfig, build_router
from channels.wechat.client import MediaTooLarge
from channels.wechat.wire import CHANNEL, reply_text
from portal.config import Settings
from portal.conversations import service as conversations
from portal.conversations.models import Conversation, ConversationAttachment, Message
from portal.customers import service as customers
from portal.customers.models import Customer, CustomerAddress
from portal.database import Database, utcnow
from portal.errors import Invalid, PortalError
from portal.i18n import t
from portal.notifications import flows as notify
from portal.notifications.service import users_with_role
from portal.tickets import lifecycle
from portal.tickets.models import Ticket
from portal.tickets.schemas import normalize_phone
from portal.wechat import service
from portal.wechat.models import WeChatFollower
from portal.wechat.service import DatabaseTokenCache, TokenUnavailable

log = logging.getLogger(__name__)

BIND_PURPOSE = "bind_wechat"
BIND_WORDS = frozenset({"绑定", "绑定手机", "绑定手机号", "换绑", "bind"})
CANCEL_WORDS = frozenset({"取消", "cancel"})
YES_WORDS = frozenset(
    {"是", "是的", "好", "好的", "对", "对的", "确认", "可以", "用这个地址", "yes"}
)
NO_WORDS = frozenset({"否", "不", "不是", "不用", "不要", "算了", "no"})
CODE = re.compile(r"\d{6}")
# How long an offered location waits for the customer's yes or no.
OFFER_TTL = timedelta(minutes=30)
# Events that are not the customer speaking: nothing is stored or answered.
SILENT_EVENTS = frozenset({"location", "view", "templatesendjobfinish", "masssendjobfinish"})


def mask(phone: str) -> str:
    """A phone as shown back in chat: 138****8000."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else phone


def _words(text: str) -> str:
    return re.sub(r"[\s。.!！,，~～]+", "", text).lower()


def _decimal(value: str | None) -> Decimal | None:
    try:
        return Decimal(value).quantize(Decimal("0.000001")) if value else None
    except (InvalidOperation, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class Fetched:
    """A photo fetched from WeChat's media API, or why it could not be."""

    data: bytes | None = None
    reason_zh: str = ""
    reason_en: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What `WeChatDesk` decided: replies it produced itself, or a message for the hub."""

    replies: list[ChannelMessage] | None = None
    forward: ChannelMessage | None = None


class WeChatDesk:
    """channels.base.Hub for the WeChat adapter, in front of the conversation hub."""

    def __init__(
        self, *, hub: Hub, db: Database, settings: Settings, api: WeChatApi | None = None
    ) -> None:
        self.hub = hub
        self.db = db
        self.settings = settings
        self.api = api

    async def receive(self, message: ChannelMessage) -> list[ChannelMessage]:
        """Handle WeChat's own kinds of messages here; run a bot turn for the rest."""
        fetched = None
        if message.extra.get("msg_type") == "image" and not message.extra.get("event"):
            # Outside the transaction: a slow download must not hold the follower's lock.
            fetched = await run_in_threadpool(self._fetch_image, message)
        outcome = await run_in_threadpool(self._decide, message, fetched)
        if outcome.forward is None:
            return outcome.replies or []
        replies = await self.hub.receive(outcome.forward)
        await run_in_threadpool(self._fill_visit_address, message.sender_id)
        return replies

    async def history(
        self, *, channel: str, sender_id: str, after_id: int | None = None
    ) -> list[ChannelMessage]:
        """The hub's history of the follower's conversation."""
        return await self.hub.history(channel=channel, sender_id=sender_id, after_id=after_id)

    # ------------------------------------------------------------ photos

    def _fetch_image(self, message: ChannelMessage) -> Fetched | None:
        """The photo's bytes from the media API; None when this message was handled before."""
        with self.db.session() as session:
            conversation = conversations.find_conversation(
                session, channel=CHANNEL, sender_id=message.sender_id
            )
            if conversation is not None and (
                conversations.find_attachment(
                    session, conversation=conversation, channel_message_id=message.message_id
                )
                is not None
            ):
                return None  # a retry: fetched (or given up on) already
        media_id = message.extra.get("media_id", "")
        if self.api is None:
            return _refusal("not_configured")
        if not media_id:
            return Fetched(
                reason_zh=t("wechat.media.no_id", "zh"), reason_en=t("wechat.media.no_id", "en")
            )
        try:
            data, _content_type = self.api.download_media(
                media_id, max_bytes=self.settings.upload_max_bytes
            )
        except MediaTooLarge:
            mb = self.settings.upload_max_bytes // (1024 * 1024)
            too_large = Invalid("error.file_too_large", mb=mb)
            return Fetched(reason_zh=too_large.message_zh, reason_en=too_large.message_en)
        except WeChatClientException as exc:
            if exc.errcode is None:
                status = getattr(exc.response, "status_code", None)
                return _refusal("unreachable", f"HTTP {status}")
            return _refusal("api_error", f"{exc.errcode} {exc.errmsg or ''}".strip())
        except (requests.RequestException, TokenUnavailable, ValueError) as exc:
            return _refusal("unreachable", type(exc).__name__)
        return Fetched(data=data)

    # ------------------------------------------------------------ deciding

    def _decide(self, message: ChannelMessage, fetched: Fetched | None = None) -> Outcome:
        event = message.extra.get("event", "")
        if event in SILENT_EVENTS:
            return Outcome(replies=[])
        with self.db.session() as session:
            now = utcnow()
            follower = service.lock_follower(session, openid=message.sender_id)
            if event != "unsubscribe":
                follower.last_contact_at = now  # opens the 48-hour customer-service window
            conversation = conversations.get_or_open(
                session, channel=CHANNEL, sender_id=message.sender_id
            )
            customer = customers.customer_for_identity(
                session, channel=CHANNEL, external_id=message.sender_id
            )
            if customer is not None and conversation.customer_id is None:
                conversation.customer_id = customer.id
            turn = _Turn(self, session, message, follower, conversation, customer, now)
            turn.fetched = fetched
            return turn.decide()

    def _fill_visit_address(self, openid: str) -> None:
        """Give the agreed visit address to this follower's open tickets that have none."""
        with self.db.session() as session:
            follower = session.scalars(
                select(WeChatFollower).where(WeChatFollower.openid == openid)
            ).first()
            if follower is None or not follower.visit_address:
                return
            conversation = conversations.find_conversation(
                session, channel=CHANNEL, sender_id=openid
            )
            customer = customers.customer_for_identity(session, channel=CHANNEL, external_id=openid)
            fill_tickets(session, follower=follower, conversation=conversation, customer=customer)


def _refusal(reason: str, detail: str = "") -> Fetched:
    """Why a photo could not be fetched, in both languages."""
    suffix = f" {detail}" if detail else ""
    key = REASON_KEYS[reason]
    return Fetched(reason_zh=t(key, "zh") + suffix, reason_en=t(key, "en") + suffix)


def fill_tickets(
    session: Session,
    *,
    follower: WeChatFollower,
    conversation: Conversation | None,
    customer: Customer | None,
) -> list[Ticket]:
    """Tickets of this conversation or customer, not yet visited and without an address,
    get the follower's agreed visit address."""
    owners = []
    if conversation is not None:
        owners.append(Ticket.conversation_id == conversation.public_id)
    if customer is not None:
        owners.append(Ticket.customer_id == customer.id)
    if not owners or not follower.visit_address:
        return []
    tickets = list(
        session.scalars(
            select(Ticket).where(
                or_(*owners),
                Ticket.address == "",
                Ticket.status.in_(lifecycle.BEFORE_ARRIVAL),
            )
        )
    )
    for ticket in tickets:
        ticket.address = follower.visit_address
        ticket.updated_at = utcnow()
    session.flush()
    return tickets


class _Turn:
    """One inbound WeChat message being decided, inside one transaction."""

    def __init__(
        self,
        desk: WeChatDesk,
        session: Session,
        message: ChannelMessage,
        follower: WeChatFollower,
        conversation: Conversation,
        customer: Customer | None,
        now: datetime,
    ) -> None:
        self.desk = desk
        self.session = session
        self.message = message
        self.follower = follower
        self.conversation = conversation
        self.customer = customer
        self.now = now
        self.fetched: Fetched | None = None

    # -- storing

    def _store_inbound(self, text: str) -> Message | None:
        """The customer's message, once per WeChat id; None when this is a retry."""
        return conversations.add_message(
            self.session,
            conversation=self.conversation,
            direction="in",
            author="customer",
            text=text,
            image_url=self.message.image_url,
            channel_message_id=self.message.message_id,
        )

    def _reply(self, *texts: str, buttons: Sequence[Button] = ()) -> list[ChannelMessage]:
        stored = conversations.add_message(
            self.session,
            conversation=self.conversation,
            direction="out",
            author="system",
            text="\n".join(x for x in texts if x),
            buttons=[{"title": b.title, "payload": b.payload} for b in buttons],
        )
        assert stored is not None  # outbound messages carry no channel id
        return [conversations.to_channel_message(stored, self.conversation)]

    def _handled(self, inbound_text: str, answer: Callable[[], list[ChannelMessage]]) -> Outcome:
        """Store the inbound message; unless it is a retry, act and reply in the same
        transaction (so a retry can never act twice)."""
        if self._store_inbound(inbound_text) is None:
            return Outcome(replies=[])
        return Outcome(replies=answer())

    # -- deciding

    def decide(self) -> Outcome:
        message = self.message
        event = message.extra.get("event", "")
        msg_type = message.extra.get("msg_type", "")
        if event:
            return self._event(event)
        if msg_type == "image":
            return self._image()
        if msg_type == "voice" and not message.text:
            return self._handled(
                t("wechat.voice_unheard"), lambda: self._reply(t("wechat.voice_unrecognised"))
            )
        if msg_type == "location":
            return self._handled(message.text or t("wechat.location_pin"), self._offer_location)
        if msg_type not in ("text", "voice") or not message.text:
            return self._handled(
                t("wechat.unsupported_kind", kind=msg_type),
                lambda: self._reply(t("wechat.unsupported")),
            )
        return self._text(message.text)

    def _event(self, event: str) -> Outcome:
        follower = self.follower
        scene = self.message.extra.get("scene", "")
        if event == "subscribe":
            follower.subscribed = True
            follower.subscribed_at = self.now
            follower.unsubscribed_at = None
            inbound = t("wechat.event.subscribe") + (f"（{scene}）" if scene else "")
            return self._handled(inbound, self._welcome)
        if event == "unsubscribe":
            follower.subscribed = False
            follower.unsubscribed_at = self.now
            follower.bind_state = ""
            return self._handled(t("wechat.event.unsubscribe"), lambda: [])
        if event == "scan":
            return self._handled(t("wechat.event.scan", scene=scene), self._welcome)
        if event == "click":
            if self.message.extra.get("payload"):
                return Outcome(forward=self.message)  # a menu item: its bot intent
            key = self.message.extra.get("key", "")
            return self._handled(
                t("wechat.event.click", menu_key=key), lambda: self._reply(t("wechat.menu_unknown"))
            )
        return Outcome(replies=[])

    def _image(self) -> Outcome:
        """Keep the photo (or say why not), then show it to the agent or thank the customer."""
        message = self.message
        attachment = conversations.find_attachment(
            self.session, conversation=self.conversation, channel_message_id=message.message_id
        )
        if attachment is None and self.fetched is not None:
            attachment = self._keep_image(self.fetched)
        if attachment is not None and attachment.status == "stored":
            self.message = replace(message, image_url=conversations.attachment_url(attachment))
        if self.conversation.state in ("waiting", "agent"):
            return Outcome(forward=self.message)  # the hub stores it and shows it to the agent
        return self._handled("", lambda: self._reply(t("wechat.image_received")))

    def _keep_image(self, fetched: Fetched) -> ConversationAttachment:
        message = self.message
        source = {
            "source_url": message.image_url or "",
            "media_id": message.extra.get("media_id", ""),
        }
        reason_zh, reason_en = fetched.reason_zh, fetched.reason_en
        if fetched.data is not None:
            try:
                return conversations.store_attachment(
                    self.session,
                    conversation=self.conversation,
                    channel_message_id=message.message_id,
                    data=fetched.data,
                    root=self.desk.settings.uploads_path,
                    max_bytes=self.desk.settings.upload_max_bytes,
                    **source,
                )
            except Invalid as refused:
                reason_zh, reason_en = refused.message_zh, refused.message_en
        failed = conversations.failed_attachment(
            self.session,
            conversation=self.conversation,
            channel_message_id=message.message_id,
            error=reason_zh,
            **source,
        )
        log.warning("wechat photo from %s not kept: %s", message.sender_id, reason_en)
        conversations.add_note(
            self.session,
            conversation=self.conversation,
            author_id=None,
            body=t("wechat.media.failed_note", "zh", reason=reason_zh, url=source["source_url"]),
            kind="media",
        )
        agents = users_with_role(self.session, role="agent") + users_with_role(
            self.session, role="admin"
        )
        notify.notify_staff(
            self.session,
            user_ids=agents,
            template="wechat_media_failed",
            key=f"wechat:media:{failed.id}",
            params={
                "reason": reason_zh,
                "reason_en": reason_en,
                "openid": message.sender_id,
                "conversation": self.conversation.public_id,
            },
            ticket_id=None,
            at=failed.created_at,
        )
        return failed

    def _welcome(self) -> list[ChannelMessage]:
        if self.customer is not None:
            return self._reply(t("wechat.welcome_back", phone=mask(self.customer.phone)))
        return self._reply(
            t("wechat.welcome"),
            t("wechat.bind_invite"),
            buttons=(
                Button(t("wechat.button.bind"), "/bind"),
                Button(t("wechat.button.repair"), "/report_fault"),
            ),
        )

    def _text(self, text: str) -> Outcome:
        follower = self.follower
        words = _words(text)
        ttl = timedelta(seconds=self.desk.settings.otp_ttl_s)
        if follower.bind_state and (
            follower.bind_started_at is None or self.now - follower.bind_started_at > ttl
        ):
            follower.bind_state = ""
        if words in BIND_WORDS or text == t("wechat.button.bind"):
            return self._handled(text, self._start_binding)
        if follower.bind_state:
            if words in CANCEL_WORDS:
                return self._handled(text, self._cancel_binding)
            if follower.bind_state == "phone":
                return self._handled(text, lambda: self._take_phone(text))
            if follower.bind_state == "code":
                return self._handled(text, lambda: self._take_code(words))
        if follower.offered_address and follower.offered_at is not None:
            if self.now - follower.offered_at > OFFER_TTL:
                follower.offered_address = ""
            elif words in YES_WORDS or text == t("wechat.button.use_address"):
                return self._handled(text, self._accept_location)
            elif words in NO_WORDS or text == t("wechat.button.skip_address"):
                return self._handled(text, self._decline_location)
        menu_id = self.message.extra.get("menu_id")
        if menu_id:
            payload = self._button_payload(menu_id, text)
            if payload:
                extra = {**self.message.extra, "payload": payload}
                return Outcome(forward=replace(self.message, extra=extra))
        return Outcome(forward=self.message)

    def _button_payload(self, menu_id: str, title: str) -> str | None:
        """The payload of the quick reply the customer tapped (we number them from 1)."""
        if not menu_id.isdigit():
            return None
        last = self.session.scalars(
            select(Message)
            .where(Message.conversation_id == self.conversation.id, Message.direction == "out")
            .order_by(Message.id.desc())
            .limit(1)
        ).first()
        index = int(menu_id) - 1
        if last is None or not 0 <= index < len(last.buttons):
            return None
        button = last.buttons[index]
        return str(button.get("payload") or "") if button.get("title") == title else None

    # -- binding the openid to a customer

    def _start_binding(self) -> list[ChannelMessage]:
        self.follower.bind_state = "phone"
        self.follower.bind_started_at = self.now
        already = t("wechat.bind_already", phone=mask(self.customer.phone)) if self.customer else ""
        return self._reply(already, t("wechat.bind_ask_phone"))

    def _cancel_binding(self) -> list[ChannelMessage]:
        self.follower.bind_state = ""
        return self._reply(t("wechat.bind_cancelled"))

    def _take_phone(self, text: str) -> list[ChannelMessage]:
        try:
            phone = normalize_phone(text)
        except PydanticCustomError:
            return self._reply(t("wechat.bind_bad_phone"))
        settings = self.desk.settings
        try:
            customers.request_code(
                self.session,
                secret=settings.secret_key,
                phone=phone,
                purpose=BIND_PURPOSE,
                ttl_s=settings.otp_ttl_s,
                demo_mode=settings.demo_mode,
                # No channel identity on the code: verify_code would bind it before a rebind
                # could move the openid off its previous customer; `_take_code` binds. Codes
                # of this purpose are only ever checked here, for the follower that asked.
            )
        except PortalError as exc:
            return self._reply(exc.message_zh)
        self.follower.bind_state = "code"
        self.follower.bind_phone = phone
        self.follower.bind_started_at = self.now
        demo = t("wechat.bind_code_demo") if settings.demo_mode else ""
        return self._reply(t("wechat.bind_code_sent", phone=mask(phone)), demo)

    def _take_code(self, words: str) -> list[ChannelMessage]:
        if CODE.fullmatch(words) is None:
            return self._reply(t("wechat.bind_need_code"))
        phone = self.follower.bind_phone
        try:
            customer = customers.verify_code(
                self.session,
                secret=self.desk.settings.secret_key,
                phone=phone,
                code=words,
                purpose=BIND_PURPOSE,
            )
        except PortalError as exc:
            # The counted attempt is committed with this reply: five misses burn the code.
            return self._reply(exc.message_zh, t("wechat.bind_retry"))
        openid = self.message.sender_id
        # An openid belongs to one customer: a rebind moves it off the previous one.
        self.session.execute(
            update(Customer)
            .where(Customer.wechat_openid == openid, Customer.id != customer.id)
            .values(wechat_openid=None)
            .execution_options(synchronize_session=False)
        )
        customers.bind_identity(
            self.session, customer=customer, channel=CHANNEL, external_id=openid
        )
        self.conversation.customer_id = customer.id
        self.customer = customer
        self.follower.bind_state = ""
        self.follower.bind_phone = ""
        saved = self._save_address(customer) if self.follower.visit_address else False
        fill_tickets(
            self.session, follower=self.follower, conversation=self.conversation, customer=customer
        )
        return self._reply(
            t("wechat.bind_done", phone=mask(phone)),
            t("wechat.location_saved_to_profile") if saved else "",
        )

    # -- a location offered as the visit address

    def _offer_location(self) -> list[ChannelMessage]:
        extra = self.message.extra
        label = self.message.text or f"{extra.get('lat', '')},{extra.get('lng', '')}"
        self.follower.offered_address = label[:255]
        self.follower.offered_lat = _decimal(extra.get("lat"))
        self.follower.offered_lng = _decimal(extra.get("lng"))
        self.follower.offered_at = self.now
        return self._reply(
            t("wechat.location_offer", address=label),
            buttons=(
                Button(t("wechat.button.use_address"), "/affirm"),
                Button(t("wechat.button.skip_address"), "/deny"),
            ),
        )

    def _accept_location(self) -> list[ChannelMessage]:
        follower = self.follower
        follower.visit_address = follower.offered_address
        follower.visit_lat, follower.visit_lng = follower.offered_lat, follower.offered_lng
        follower.offered_address = ""
        follower.offered_at = None
        if self.customer is not None:
            self._save_address(self.customer)
        filled = fill_tickets(
            self.session, follower=follower, conversation=self.conversation, customer=self.customer
        )
        texts = [t("wechat.location_saved", address=follower.visit_address)]
        if filled:
            texts.append(
                t("wechat.location_on_tickets", numbers="、".join(x.number for x in filled))
            )
        elif self.customer is None:
            texts.append(t("wechat.location_bind_hint"))
        return self._reply(*texts)

    def _decline_location(self) -> list[ChannelMessage]:
        self.follower.offered_address = ""
        self.follower.offered_at = None
        return self._reply(t("wechat.location_declined"))

    def _save_address(self, customer: Customer) -> bool:
        """Add the agreed visit address to the customer's addresses (once)."""
        follower = self.follower
        detail = follower.visit_address[:255]
        if any(a.detail == detail for a in customer.addresses):
            return False
        self.session.add(
            CustomerAddress(
                customer_id=customer.id,
                label=t("wechat.address_label")[:32],
                detail=detail,
                lat=follower.visit_lat,
                lng=follower.visit_lng,
                is_default=not customer.addresses,
            )
        )
        self.session.flush()
        self.session.refresh(customer)
        return True


# ---------------------------------------------------------------- sending later


REASON_KEYS = {
    "api_error": "wechat.failure.api_error",
    "unreachable": "wechat.failure.unreachable",
    "window_closed": "wechat.failure.window_closed",
    "unsubscribed": "wechat.failure.unsubscribed",
    "not_configured": "wechat.failure.not_configured",
}


class NotDelivered(Exception):
    """WeChat did not take a message; a WeChatDeliveryFailure row says why."""


class WeChatPush:
    """Customer-service messages (客服消息) to followers, with the rules WeChat enforces
    checked first and every failure kept for staff."""

    def __init__(
        self,
        *,
        db: Database,
        api: WeChatApi | None,
        window: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.api = api
        self.window = window
        self.clock = clock

    async def deliver_later(self, replies: list[ChannelMessage]) -> None:
        """The replies of a turn that missed the passive window (the adapter's callback)."""
        await run_in_threadpool(self.send_now, replies)

    async def send(self, message: ChannelMessage) -> None:
        """One message pushed by the hub (an agent's reply): `register_sender`'s callable.

        Raises NotDelivered when WeChat did not take it, so the hub knows; the failure is
        already stored for staff by then.
        """
        if not await run_in_threadpool(self.send_now, [message]):
            raise NotDelivered(message.sender_id)

    async def typing(self, openid: str, on: bool) -> None:
        """The agent's typing, shown in the follower's chat: `register_typing`'s callable."""
        await run_in_threadpool(self.typing_now, openid, on)

    def typing_now(self, openid: str, on: bool) -> bool:
        """Tell WeChat the agent is (or stopped) typing; True when WeChat took it.

        Only where a message could go too (configured, following, within the window). A
        refusal is logged, not kept for staff: it is a hint, and no words are lost.
        """
        if self.api is None:
            return False
        with self.db.session() as session:
            follower = session.scalars(
                select(WeChatFollower).where(WeChatFollower.openid == openid)
            ).first()
            if follower is None or not follower.subscribed:
                return False
            if not service.within_service_window(follower, now=self.clock(), window=self.window):
                return False
        try:
            self.api.typing(openid, on)
        except (WeChatClientException, requests.RequestException, TokenUnavailable) as exc:
            log.info("wechat typing state for %s not taken: %s", openid, exc)
            return False
        return True

    def send_now(self, messages: Sequence[ChannelMessage]) -> bool:
        """Send to one follower; True when WeChat took it, else a failure is stored."""
        if not messages:
            return True
        openid = messages[0].sender_id
        text = reply_text(messages)
        if not text:
            return True
        with self.db.session() as session:
            follower = session.scalars(
                select(WeChatFollower).where(WeChatFollower.openid == openid)
            ).first()
            if self.api is None:
                reason = "not_configured"
            elif follower is not None and not follower.subscribed:
                reason = "unsubscribed"
            elif not service.within_service_window(follower, now=self.clock(), window=self.window):
                reason = "window_closed"
            else:
                reason = ""
        if reason:
            self._fail(messages, reason=reason, text=text)
            return False
        assert self.api is not None
        try:
            self.api.send(list(messages))
        except WeChatClientException as exc:
            if exc.errcode is None:
                status = getattr(exc.response, "status_code", None)
                self._fail(messages, reason="unreachable", text=text, errmsg=f"HTTP {status}")
            else:
                self._fail(
                    messages,
                    reason="api_error",
                    text=text,
                    errcode=exc.errcode,
                    errmsg=str(exc.errmsg or ""),
                )
            return False
        except (requests.RequestException, TokenUnavailable, ValueError) as exc:
            self._fail(messages, reason="unreachable", text=text, errmsg=type(exc).__name__)
            return False
        return True

    def _fail(
        self,
        messages: Sequence[ChannelMessage],
        *,
        reason: str,
        text: str,
        errcode: int | None = None,
        errmsg: str = "",
    ) -> None:
        openid = messages[0].sender_id
        log.warning("wechat message to %s not delivered: %s %s %s", openid, reason, errcode, errmsg)
        with self.db.session() as session:
            conversation = conversations.find_conversation(
                session, channel=CHANNEL, sender_id=openid
            )
            failure = service.record_failure(
                session,
                openid=openid,
                reason=reason,
                text=text,
                errcode=errcode,
                errmsg=errmsg,
                conversation_id=conversation.id if conversation else None,
                message_id=messages[0].id,
            )
            zh, en = t(REASON_KEYS[reason], "zh"), t(REASON_KEYS[reason], "en")
            detail = f" {errcode}" if errcode is not None else ""
            agents = users_with_role(session, role="agent") + users_with_role(session, role="admin")
            notify.notify_staff(
                session,
                user_ids=agents,
                template="wechat_send_failed",
                key=f"wechat:failure:{failure.id}",
                params={
                    "reason": zh + detail,
                    "reason_en": en + detail,
                    "text": text[:60],
                    "openid": openid,
                    "failure_id": failure.id,
                },
                ticket_id=None,
                at=failure.created_at,
            )


# ---------------------------------------------------------------- wiring


@dataclass
class WeChatChannel:
    """The mounted WeChat channel's parts, kept on `app.state.wechat`."""

    config: WeChatConfig
    desk: WeChatDesk
    push: WeChatPush
    api: WeChatApi | None
    router: Any


def build_api(settings: Settings, db: Database) -> WeChatApi | None:
    """wechatpy's client with the database-backed token cache, when an app is configured."""
    if not (settings.wechat_app_id and settings.wechat_app_secret):
        return None
    return WeChatApi(
        settings.wechat_app_id,
        settings.wechat_app_secret,
        api_base_url=settings.wechat_api_base_url,
        tokens=DatabaseTokenCache(db, lease_s=settings.wechat_token_lease_s),
        timeout=settings.notify_timeout_s,
    )


def mount(
    app: FastAPI,
    *,
    settings: Settings,
    db: Database,
    hub: Hub,
    clock: Callable[[], float] | None = None,
) -> WeChatChannel | None:
    """Mount `/channels/wechat` when a callback token is configured; register the sender
    for agent messages with the hub when the hub takes senders."""
    if not settings.wechat_token:
        return None
    api = build_api(settings, db)
    push = WeChatPush(db=db, api=api, window=timedelta(hours=settings.wechat_service_window_h))
    desk = WeChatDesk(hub=hub, db=db, settings=settings, api=api)
    options: dict[str, Any] = {"clock": clock} if clock is not None else {}
    config = WeChatConfig(
        token=settings.wechat_token,
        app_id=settings.wechat_app_id,
        aes_key=settings.wechat_aes_key,
        timestamp_window_s=settings.wechat_timestamp_window_s,
        passive_reply_s=settings.wechat_passive_reply_s,
        **options,
    )
    router = build_router(desk, config=config, deliver_later=push.deliver_later)
    app.include_router(router)
    register = getattr(hub, "register_sender", None)
    if callable(register):
        register(CHANNEL, push.send)
    register_typing = getattr(hub, "register_typing", None)
    if callable(register_typing):
        register_typing(CHANNEL, push.typing)
    channel = WeChatChannel(config=config, desk=desk, push=push, api=api, router=router)
    app.state.wechat = channel
    return channel
