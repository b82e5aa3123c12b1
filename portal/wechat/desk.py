"""What the portal does with a WeChat message before (or instead of) the conversation hub.

`WeChatDesk` sits between the callback adapter and the hub. While the bot has the chat it
handles what is WeChat's own (follow and unfollow, scans, photos, voice without recognised
words, a shared location offered as the visit address, binding the openid to a customer by
phone and one-time code: `binding`, `places`) and hands everything else to the hub, which
runs the bot's turn. While an agent has the conversation, or it waits for one, nothing here
answers: every message (text, recognised voice, photo, location, a menu click) goes to the
hub, which stores it and shows it to the agent live.

Exactly once: a message the desk answers itself is stored with WeChat's MsgId (or event key)
in the transaction that acts on it, so a retry finds it stored and does nothing. A message
for the hub gets a turn mark in the outbox (`push.TURN`) in the same transaction that locks
the follower; the mark is cleared when the hub's turn is over. A portal killed in between
leaves the mark, and the turn is run again later on the stored message (by WeChat's retry
once the mark is due, or by the portal's WeChat outbox loop), its answer sent as a
customer-service message.

A photo is fetched through the media API (media/get by its MediaId, since WeChat's links
expire after three days) into our own attachment storage, with the size and type checks of
any upload; a photo that cannot be fetched keeps WeChat's link, gets a staff note on the
conversation and a notification.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import requests
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from wechatpy.exceptions import WeChatClientException

from channels.base import Button, ChannelMessage, Hub
from channels.wechat import WeChatApi
from channels.wechat.client import MediaTooLarge
from channels.wechat.wire import CHANNEL
from portal.config import Settings
from portal.conversations import service as conversations
from portal.conversations.models import ConversationAttachment, Message
from portal.customers import service as customers
from portal.database import Database, utcnow
from portal.errors import Invalid
from portal.i18n import Term, t
from portal.notifications import flows as notify
from portal.notifications.service import users_with_role
from portal.security import Role
from portal.wechat import binding, places, push, service
from portal.wechat.chat import Chat, mask, words
from portal.wechat.models import WeChatFollower
from portal.wechat.service import TokenUnavailable

log = logging.getLogger(__name__)

# Events that are not the customer speaking: nothing is stored or answered.
SILENT_EVENTS = frozenset({"view", "templatesendjobfinish", "masssendjobfinish"})
# What stays the desk's own during a takeover: following and unfollowing the account.
FOLLOW_EVENTS = frozenset({"subscribe", "unsubscribe"})
TAKEN_OVER = frozenset({"waiting", "agent"})

REASON_KEYS = push.REASON_KEYS


@dataclass(frozen=True, slots=True)
class Fetched:
    """A photo fetched from WeChat's media API, or why it could not be."""

    data: bytes | None = None
    reason_zh: str = ""
    reason_en: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the desk decided: replies it produced itself, or a message for the hub."""

    replies: list[ChannelMessage] | None = None
    forward: ChannelMessage | None = None
    owner: bool = False  # whether this delivery owns the forwarded message's turn mark


def _refusal(reason: str, detail: str = "") -> Fetched:
    """Why a photo could not be fetched, in both languages."""
    suffix = f" {detail}" if detail else ""
    key = REASON_KEYS[reason]
    return Fetched(reason_zh=t(key, "zh") + suffix, reason_en=t(key, "en") + suffix)


class WeChatDesk:
    """channels.base.Hub for the WeChat adapter, in front of the conversation hub."""

    def __init__(
        self,
        *,
        hub: Hub,
        db: Database,
        settings: Settings,
        api: WeChatApi | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.hub = hub
        self.db = db
        self.settings = settings
        self.api = api
        self.recover_after = timedelta(seconds=settings.wechat_turn_recover_s)
        # When each message is decided and its turn over (turn marks fall due by it): tests
        # step it instead of waiting.
        self.clock = clock

    async def receive(self, message: ChannelMessage) -> list[ChannelMessage]:
        """Handle WeChat's own kinds of messages here; run a hub turn for the rest."""
        fetched = None
        if message.extra.get("msg_type") == "image" and not message.extra.get("event"):
            # Outside the transaction: a slow download must not hold the follower's lock.
            fetched = await run_in_threadpool(self._fetch_image, message)
        outcome = await run_in_threadpool(self._decide, message, fetched)
        if outcome.forward is None:
            return outcome.replies or []
        return await self.run_turn(outcome.forward, owner=outcome.owner)

    async def run_turn(
        self, message: ChannelMessage, *, owner: bool = True
    ) -> list[ChannelMessage]:
        """The hub's turn on a marked message; its owner clears the mark when it is over (a
        retry of a turn still under way owns nothing: the hub drops it)."""
        with push.in_turn(message.message_id or ""):
            replies = await self.hub.receive(message)
        await run_in_threadpool(self._turn_over, message, owner)
        return replies

    async def history(
        self, *, channel: str, sender_id: str, after_id: int | None = None
    ) -> list[ChannelMessage]:
        """The hub's history of the follower's conversation."""
        return await self.hub.history(channel=channel, sender_id=sender_id, after_id=after_id)

    def _turn_over(self, message: ChannelMessage, owner: bool) -> None:
        with self.db.session() as session:
            if owner:
                push.clear_turn(session, message_id=message.message_id or "", now=self.clock())
            follower = session.scalars(
                select(WeChatFollower).where(WeChatFollower.openid == message.sender_id)
            ).first()
            if follower is None or not follower.visit_address:
                return
            # The bot may have filed a ticket: it gets the agreed visit address.
            conversation = conversations.find_conversation(
                session, channel=CHANNEL, sender_id=message.sender_id
            )
            customer = customers.customer_for_identity(
                session, channel=CHANNEL, external_id=message.sender_id
            )
            places.fill_tickets(
                session, follower=follower, conversation=conversation, customer=customer
            )

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
            now = self.clock()
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
            chat = Chat(
                session=session,
                settings=self.settings,
                message=message,
                follower=follower,
                conversation=conversation,
                customer=customer,
                now=now,
            )
            outcome = _Decision(self, chat, fetched).decide()
            if outcome.forward is not None:
                forward, owner = push.mark_turn(
                    session, message=outcome.forward, now=now, recover_after=self.recover_after
                )
                outcome = Outcome(forward=forward, owner=owner)
            return outcome


class _Decision:
    """What the desk does with one message: answer it here, or forward it to the hub."""

    def __init__(self, desk: WeChatDesk, chat: Chat, fetched: Fetched | None) -> None:
        self.desk = desk
        self.chat = chat
        self.fetched = fetched

    @property
    def message(self) -> ChannelMessage:
        return self.chat.message

    def _handled(self, inbound_text: str, answer: Callable[[], list[ChannelMessage]]) -> Outcome:
        """Store the inbound message; unless it is a retry, act and reply in the same
        transaction (so a retry can never act twice)."""
        if self.chat.store_inbound(inbound_text) is None:
            return Outcome(replies=[])
        return Outcome(replies=answer())

    def _forward(self, text: str | None = None) -> Outcome:
        """To the hub; `text` stands in for a message that has none of its own."""
        message = self.message
        if text is not None and not message.text:
            message = replace(message, text=text)
        return Outcome(forward=message)

    def decide(self) -> Outcome:
        message = self.message
        event = message.extra.get("event", "")
        msg_type = message.extra.get("msg_type", "")
        if self.chat.conversation.state in TAKEN_OVER and event not in FOLLOW_EVENTS:
            return self._taken_over(event, msg_type)
        if event:
            return self._event(event)
        if msg_type == "image":
            return self._image()
        if msg_type == "voice" and not message.text:
            return self._handled(
                t("wechat.voice_unheard"), lambda: self.chat.reply(t("wechat.voice_unrecognised"))
            )
        if msg_type == "location":
            return self._handled(
                message.text or t("wechat.location_pin"), lambda: places.offer(self.chat)
            )
        if msg_type not in ("text", "voice") or not message.text:
            return self._handled(
                t("wechat.unsupported_kind", kind=msg_type),
                lambda: self.chat.reply(t("wechat.unsupported")),
            )
        return self._text(message.text)

    def _taken_over(self, event: str, msg_type: str) -> Outcome:
        """A person has the chat (or is about to): everything goes to them, as it came."""
        if msg_type == "image":
            return self._image()
        if event == "location":
            extra = self.message.extra
            pin = t("wechat.location_at", lat=extra.get("lat", ""), lng=extra.get("lng", ""))
            return self._forward(pin)
        if event == "click":
            key = self.message.extra.get("key", "")
            return self._forward(t("wechat.event.click", menu_key=key))
        if event:
            return self._forward(t("wechat.event.other", event=event))
        if msg_type == "voice":
            return self._forward(t("wechat.voice_unheard"))
        if msg_type == "location":
            return self._forward(t("wechat.location_pin"))
        if msg_type != "text":
            return self._forward(t("wechat.unsupported_kind", kind=msg_type))
        return self._forward()

    def _event(self, event: str) -> Outcome:
        chat = self.chat
        follower = chat.follower
        scene = self.message.extra.get("scene", "")
        if event == "subscribe":
            follower.subscribed = True
            follower.subscribed_at = chat.now
            follower.unsubscribed_at = None
            inbound = t("wechat.event.subscribe") + (f"（{scene}）" if scene else "")
            return self._handled(inbound, self._welcome)
        if event == "unsubscribe":
            follower.subscribed = False
            follower.unsubscribed_at = chat.now
            follower.bind_state = ""
            return self._handled(t("wechat.event.unsubscribe"), lambda: [])
        if event == "scan":
            return self._handled(t("wechat.event.scan", scene=scene), self._welcome)
        if event == "location":
            return self._location_event()
        if event == "click":
            if self.message.extra.get("payload"):
                return Outcome(forward=self.message)  # a menu item: its bot intent
            if self.message.extra.get("menu_text"):
                return Outcome(forward=self.message)  # a menu item that asks as if typed
            key = self.message.extra.get("key", "")
            return self._handled(
                t("wechat.event.click", menu_key=key),
                lambda: self.chat.reply(t("wechat.menu_unknown")),
            )
        return Outcome(replies=[])

    def _location_event(self) -> Outcome:
        """The follower's position (上报地理位置): offered as the visit address once, when
        there is none yet and no offer waits; otherwise kept quiet (it comes often)."""
        follower = self.chat.follower
        if follower.visit_address or places.pending(self.chat):
            return Outcome(replies=[])
        extra = self.message.extra
        pin = t("wechat.location_at", lat=extra.get("lat", ""), lng=extra.get("lng", ""))
        return self._handled(pin, lambda: places.offer(self.chat))

    def _image(self) -> Outcome:
        """Keep the photo (or say why not), then show it to the agent or thank the customer."""
        chat = self.chat
        message = self.message
        attachment = conversations.find_attachment(
            chat.session, conversation=chat.conversation, channel_message_id=message.message_id
        )
        if attachment is None and self.fetched is not None:
            attachment = self._keep_image(self.fetched)
        if attachment is not None and attachment.status == "stored":
            chat.message = replace(message, image_url=conversations.attachment_url(attachment))
        if chat.conversation.state in TAKEN_OVER:
            return Outcome(forward=chat.message)  # the hub stores it and shows it to the agent
        return self._handled("", lambda: chat.reply(t("wechat.image_received")))

    def _keep_image(self, fetched: Fetched) -> ConversationAttachment:
        chat = self.chat
        message = self.message
        settings = self.desk.settings
        source = {
            "source_url": message.image_url or "",
            "media_id": message.extra.get("media_id", ""),
        }
        reason_zh, reason_en = fetched.reason_zh, fetched.reason_en
        if fetched.data is not None:
            try:
                return conversations.store_attachment(
                    chat.session,
                    conversation=chat.conversation,
                    channel_message_id=message.message_id,
                    data=fetched.data,
                    root=settings.uploads_path,
                    max_bytes=settings.upload_max_bytes,
                    **source,
                )
            except Invalid as refused:
                reason_zh, reason_en = refused.message_zh, refused.message_en
        failed = conversations.failed_attachment(
            chat.session,
            conversation=chat.conversation,
            channel_message_id=message.message_id,
            error=reason_zh,
            **source,
        )
        log.warning("wechat photo from %s not kept: %s", message.sender_id, reason_en)
        conversations.add_note(
            chat.session,
            conversation=chat.conversation,
            author_id=None,
            body=t("wechat.media.failed_note", "zh", reason=reason_zh, url=source["source_url"]),
            kind="media",
        )
        agents = users_with_role(chat.session, role=Role.AGENT) + users_with_role(
            chat.session, role=Role.ADMIN
        )
        notify.notify_staff(
            chat.session,
            user_ids=agents,
            template="wechat_media_failed",
            key=f"wechat:media:{failed.id}",
            params={
                "reason": Term(reason_zh, reason_en),
                "openid": message.sender_id,
                "conversation": chat.conversation.public_id,
            },
            ticket_id=None,
            at=failed.created_at,
        )
        return failed

    def _welcome(self) -> list[ChannelMessage]:
        chat = self.chat
        if chat.customer is not None:
            return chat.reply(t("wechat.welcome_back", phone=mask(chat.customer.phone)))
        return chat.reply(
            t("wechat.welcome"),
            t("wechat.bind_invite"),
            buttons=(
                Button(t("wechat.button.bind"), "/bind"),
                Button(t("wechat.button.repair"), "/report_fault"),
            ),
        )

    def _text(self, text: str) -> Outcome:
        chat = self.chat
        said = words(text)
        binding.expire(chat)
        if binding.wants_to_start(chat, text, said):
            return self._handled(text, lambda: binding.start(chat))
        if binding.under_way(chat):
            return self._handled(text, lambda: binding.answer(chat, text, said))
        if places.pending(chat) and places.is_answer(text, said):
            return self._handled(text, lambda: places.answer(chat, text, said))
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
        last = self.chat.session.scalars(
            select(Message)
            .where(Message.conversation_id == self.chat.conversation.id, Message.direction == "out")
            .order_by(Message.id.desc())
            .limit(1)
        ).first()
        index = int(menu_id) - 1
        if last is None or not 0 <= index < len(last.buttons):
            return None
        button = last.buttons[index]
        return str(button.get("payload") or "") if button.get("title") == title else None
