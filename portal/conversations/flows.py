"""The conversation hub: stores every message, runs the bot's turn through Rasa, and hands
conversations to human agents and back.

States: `bot` (Rasa answers) -> `waiting` (queued for an agent) -> `agent` (an agent owns it;
nothing goes to Rasa) -> back to `bot` when the agent ends the chat. Every write that live
clients must hear about goes through one of the hub's `do_*` methods (the handoff here, the
agents' actions in `desk`, the queue's clock in `queueing`): it commits its own unit of
work, then delivers customer messages through the customer's channel (the sender registry,
`core`) and publishes console events through the broker.

Channels register how to reach a customer outside a turn:
`hub.register_sender(channel, send)` with `send(ChannelMessage) -> Awaitable[None]`, and
optionally `hub.register_typing(channel, typing)` with `typing(sender_id, on)`.
A channel whose customers open a chat before typing (the widget) calls
`hub.greet(channel=, sender_id=)` first: on first contact the bot's greeting is stored, so
the history the channel shows next starts with it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from channels.base import ChannelMessage
from portal.conversations import service
from portal.conversations.core import Effects, Notice, Sender, TypingSender, customer_lang
from portal.conversations.desk import AgentDesk
from portal.conversations.models import Conversation, Message
from portal.conversations.queueing import QueueClock
from portal.conversations.rasa import BotUnavailable, RasaClient
from portal.conversations.schemas import HandoffResult
from portal.database import utcnow
from portal.i18n import t
from portal.observability.context import bind_conversation

log = logging.getLogger(__name__)

# What the hub sends Rasa when a customer opens a chat: Rasa's own trigger for
# action_session_start, which greets.
SESSION_START = "/session_start"
CSAT_PAYLOAD = re.compile(r'^/csat\{"score":\s*([1-5])\}$')
CSAT_TEXT = re.compile(r"^([1-5])\s*(?:分|星)?$")


def _buttons(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list):
        return []
    return [
        {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
        for b in raw
        if isinstance(b, dict)
    ]


def parse_rating(message: ChannelMessage) -> int | None:
    """The 1-5 score of an answer to the satisfaction question, if it is one."""
    payload = message.extra.get("payload") or ""
    found = CSAT_PAYLOAD.match(payload) or CSAT_TEXT.match(message.text.strip())
    return int(found.group(1)) if found else None


@dataclass(frozen=True, slots=True)
class _Inbound:
    conversation_id: int
    public_id: str
    state: str
    rating: int | None
    handed_off: bool
    effects: Effects


class ConversationHub(AgentDesk, QueueClock):
    """Implements channels.base.Hub over the portal's database and Rasa, plus handoff."""

    # ------------------------------------------------------------ customer side (Hub)

    async def receive(self, message: ChannelMessage) -> list[ChannelMessage]:
        """Store the customer's message; the bot answers it unless an agent has the chat."""
        async with self._locks[(message.channel, message.sender_id)]:
            inbound = await run_in_threadpool(self._store_inbound, message)
            if inbound is None:
                return []  # a retry of a message already handled
            bind_conversation(inbound.public_id)  # this turn's log lines carry its id
            if inbound.state != "bot":
                await self._apply(inbound.effects)
                return []  # the agent answers; Rasa hears nothing of it
            if inbound.rating is not None:
                thanks, effects = await run_in_threadpool(
                    self._rate, inbound.conversation_id, inbound.rating
                )
                await self._apply(inbound.effects.merge(effects))
                return thanks
            if inbound.handed_off:
                await self._want_tracker(inbound.public_id, paused=False, wait=True)
            bot_text = message.extra.get("payload") or message.text
            self._turns[inbound.conversation_id] = []
            replies: list[dict[str, Any]]
            try:
                try:
                    replies = await self.rasa.send(
                        sender=inbound.public_id,
                        text=bot_text,
                        metadata={"channel": message.channel},
                    )
                    author = "bot"
                except BotUnavailable as exc:
                    log.warning("bot unavailable for %s: %s", inbound.public_id, exc)
                    replies = [{"text": t("hub.bot_unavailable")}]
                    author = "system"
            finally:
                notices = self._turns.pop(inbound.conversation_id, [])
            out, effects = await run_in_threadpool(
                self._store_replies, inbound.conversation_id, replies, author, notices
            )
            await self._apply(inbound.effects.merge(effects))
            return out

    async def greet(self, *, channel: str, sender_id: str) -> list[ChannelMessage]:
        """First contact (a chat opened before anything was typed): the bot's greeting,
        stored like any reply. Nothing once the conversation has messages, or without Rasa."""
        async with self._locks[(channel, sender_id)]:
            opened = await run_in_threadpool(self._first_contact, channel, sender_id)
            if opened is None:
                return []
            conversation_id, public_id = opened
            try:
                replies = await self.rasa.send(
                    sender=public_id, text=SESSION_START, metadata={"channel": channel}
                )
            except BotUnavailable as exc:
                log.warning("no greeting for %s: %s", public_id, exc)
                return []
            out, effects = await run_in_threadpool(
                self._store_replies, conversation_id, replies, "bot", []
            )
            await self._apply(effects)
            return out

    def _first_contact(self, channel: str, sender_id: str) -> tuple[int, str] | None:
        with self.db.session() as session:
            conversation = service.find_conversation(session, channel=channel, sender_id=sender_id)
            if conversation is not None and (
                conversation.state != "bot"
                or session.scalar(
                    select(Message.id).where(Message.conversation_id == conversation.id).limit(1)
                )
                is not None
            ):
                return None
            if conversation is None:
                conversation = service.get_or_open(session, channel=channel, sender_id=sender_id)
            return conversation.id, conversation.public_id

    def _store_inbound(self, message: ChannelMessage) -> _Inbound | None:
        with self.db.session() as session:
            conversation = service.get_or_open(
                session, channel=message.channel, sender_id=message.sender_id
            )
            stored = service.add_message(
                session,
                conversation=conversation,
                direction="in",
                author="customer",
                text=message.text,
                image_url=message.image_url,
                channel_message_id=message.message_id,
            )
            if stored is None:
                return None
            effects = Effects()
            rating = None
            if conversation.state == "bot" and conversation.csat_pending:
                rating = parse_rating(message)
                if rating is None:
                    conversation.csat_pending = False  # they moved on; the question lapses
            if conversation.state == "agent":
                effects.publish += self._message_events(conversation, stored)
                effects.chats_of.add(conversation.agent_id or 0)
            elif conversation.state == "waiting":
                effects.queue = True
            else:
                effects.publish.append(self._live_event(conversation, stored.text))
            return _Inbound(
                conversation_id=conversation.id,
                public_id=conversation.public_id,
                state=conversation.state,
                rating=rating,
                handed_off=conversation.handoff_reason is not None,
                effects=effects,
            )

    def _store_replies(
        self,
        conversation_id: int,
        replies: list[dict[str, Any]],
        author: str,
        notices: list[Notice],
    ) -> tuple[list[ChannelMessage], Effects]:
        out: list[ChannelMessage] = []
        effects = Effects()
        with self.db.session() as session:
            conversation = session.get_one(Conversation, conversation_id)
            for reply in replies:
                text = str(reply.get("text") or "")
                image = reply.get("image")
                buttons = _buttons(reply.get("buttons"))
                if not text and not image and not buttons:
                    continue
                stored = service.add_message(
                    session,
                    conversation=conversation,
                    direction="out",
                    author=author,
                    text=text,
                    buttons=buttons,
                    image_url=str(image) if image else None,
                )
                assert stored is not None  # outbound messages carry no channel id
                out.append(service.to_channel_message(stored, conversation))
            for notice in notices:
                out.append(self._say(session, conversation, notice))
            if out and conversation.state == "bot":
                effects.publish.append(self._live_event(conversation, out[-1].text))
            elif out and conversation.state == "agent":
                for message in out:
                    effects.publish += self._message_events(conversation, message)
            elif out:
                effects.queue = True  # handed off during the turn: the preview moved on
        return out, effects

    def _rate(self, conversation_id: int, score: int) -> tuple[list[ChannelMessage], Effects]:
        with self.db.session() as session:
            conversation = session.get_one(Conversation, conversation_id)
            conversation.csat_score = score
            conversation.csat_pending = False
            service.record_event(
                session,
                conversation=conversation,
                kind="csat",
                actor="customer",
                payload={"score": score},
            )
            return [self._say(session, conversation, Notice("hub.csat.thanks"))], Effects()

    async def history(
        self, *, channel: str, sender_id: str, after_id: int | None = None
    ) -> list[ChannelMessage]:
        """Every stored message of the customer's current conversation."""
        return await run_in_threadpool(self._history, channel, sender_id, after_id)

    def _history(self, channel: str, sender_id: str, after_id: int | None) -> list[ChannelMessage]:
        with self.db.session() as session:
            conversation = service.find_conversation(session, channel=channel, sender_id=sender_id)
            if conversation is None:
                return []
            return [
                service.to_channel_message(m, conversation)
                for m in service.list_messages(
                    session, conversation_id=conversation.id, after_id=after_id
                )
            ]

    async def customer_typing(self, *, channel: str, sender_id: str, on: bool) -> None:
        """A channel reports the customer typing; the agent who owns the chat sees it."""
        owner = await run_in_threadpool(self._owner_of, channel, sender_id)
        if owner is not None:
            public_id, agent_id = owner
            event = {"type": "typing", "conversation": public_id, "who": "customer", "on": on}
            await self.broker.publish(f"agent:{agent_id}", event)

    def _owner_of(self, channel: str, sender_id: str) -> tuple[str, int] | None:
        with self.db.session() as session:
            conversation = service.find_conversation(session, channel=channel, sender_id=sender_id)
            if conversation is None or conversation.state != "agent" or not conversation.agent_id:
                return None
            return conversation.public_id, conversation.agent_id

    # ------------------------------------------------------------ handoff from the bot

    async def do_handoff(
        self,
        *,
        public_id: str,
        reason: str,
        summary: str,
        actor: str,
        product_line: str | None = None,
        language: str | None = None,
    ) -> HandoffResult:
        """Queue the conversation for an agent (or, off duty, offer to leave a ticket).

        Does not take the conversation's turn lock: the bot calls this from inside the turn
        that is holding it. A notice for the customer then follows the bot's replies.
        """
        result, conversation_id, notice, effects = await run_in_threadpool(
            self._handoff, public_id, reason, summary, actor, product_line, language
        )
        if notice is not None:
            await self._notify_customer(conversation_id, notice)
        await self._apply(effects)
        return result

    def _handoff(
        self,
        public_id: str,
        reason: str,
        summary: str,
        actor: str,
        product_line: str | None,
        language: str | None,
    ) -> tuple[HandoffResult, int, Notice | None, Effects]:
        with self.db.session() as session:
            conversation = service.get_by_public_id(session, public_id=public_id)
            if conversation.state in ("waiting", "agent"):
                # The bot asked twice: the first request stands.
                result = HandoffResult(
                    public_id=public_id,
                    state=conversation.state,
                    queued=conversation.state == "waiting",
                    on_duty=True,
                    position=self._position(session, conversation),
                )
                return result, conversation.id, None, Effects()
            if conversation.state == "closed":
                raise service.state_conflict(conversation.state)
            service.resolve_customer(session, conversation=conversation)
            if language:
                conversation.language = language
            if not self.schedule.on_duty(utcnow()):
                service.record_event(
                    session,
                    conversation=conversation,
                    kind="handoff_off_duty",
                    actor=actor,
                    payload={"reason": reason, "summary": summary},
                )
                notice = Notice(
                    "hub.handoff.off_duty",
                    {"hours": self.schedule.describe(customer_lang(conversation))},
                    (("hub.handoff.leave_ticket", self.settings.handoff_leave_ticket_payload),),
                )
                result = HandoffResult(
                    public_id=public_id, state="bot", queued=False, on_duty=False
                )
                return result, conversation.id, notice, Effects()
            conversation.handoff_reason = reason
            conversation.handoff_summary = summary
            conversation.product_line = product_line or conversation.product_line
            conversation.team = None
            service.change_state(
                session,
                conversation=conversation,
                kind="handoff",
                actor=actor,
                payload={"reason": reason},
            )
            position = self._position(session, conversation)
            result = HandoffResult(
                public_id=public_id, state="waiting", queued=True, on_duty=True, position=position
            )
            effects = Effects(queue=True, route=True, tracker={public_id: True})
            return (
                result,
                conversation.id,
                Notice("hub.handoff.queued", {"position": position}),
                effects,
            )

    def _position(self, session: Session, conversation: Conversation) -> int | None:
        for index, entry in enumerate(service.queue(session), start=1):
            if entry.conversation.id == conversation.id:
                return index
        return None

    async def _notify_customer(self, conversation_id: int, notice: Notice) -> None:
        """A system message now, or after the bot's replies when a turn is running."""
        pending = self._turns.get(conversation_id)
        if pending is not None:
            pending.append(notice)
            return
        message = await run_in_threadpool(self._store_notice, conversation_id, notice)
        await self._deliver(message)

    def _store_notice(self, conversation_id: int, notice: Notice) -> ChannelMessage:
        with self.db.session() as session:
            conversation = session.get_one(Conversation, conversation_id)
            return self._say(session, conversation, notice)


__all__ = ["BotUnavailable", "ConversationHub", "RasaClient", "Sender", "TypingSender"]
