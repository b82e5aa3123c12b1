"""The conversation hub: stores every message, runs the bot's turn through Rasa, and hands
conversations to human agents and back.

States: `bot` (Rasa answers) -> `waiting` (queued for an agent) -> `agent` (an agent owns it;
nothing goes to Rasa) -> back to `bot` when the agent ends the chat. Every write that live
clients must hear about goes through one of the hub's `do_*` methods (the handoff here, the
agents' actions in `desk`, the queue's clock in `queueing`): it commits its own unit of
work, then delivers customer messages through the customer's channel (the sender registry,
`core`) and publishes console events through the broker.

The hub is the bot's safety net. A customer turn with the bot always gets one to three
messages, none twice and none the same as the message before it (`safety`); when Rasa
answers nothing, goes round in circles (its circuit breaker), times out or fails, the hub
answers itself: an apology, the queue or the agents' hours, and a 转人工 button. It counts
that in `portal_bot_fallback_total` and ends the turn Rasa left open, so the next one works.
Some messages it answers without the bot (`phrases`): 转人工 and its synonyms hand over from
any state; a bare score after a ticket's rating invitation rates that ticket; 接受, or
不接受 and why, after a complaint's outcome answers it (complaints.flows.answer); a customer
typing while queued is acknowledged once per wait.

Channels register how to reach a customer outside a turn:
`hub.register_sender(channel, send)` with `send(ChannelMessage) -> Awaitable[None]`, and
optionally `hub.register_typing(channel, typing)` with `typing(sender_id, on)`.
A channel whose customers open a chat before typing (the widget) calls
`hub.greet(channel=, sender_id=)` first: on first contact the bot's greeting is stored, so
the history the channel shows next starts with it. A channel that knows the language of the
page the chat is on passes it (`greet(lang=)`, `extra["lang"]` on each message); the bot gets
it as `lang` in the message metadata and greets and answers in it until the customer writes
otherwise (bot/actions/language.py). The hub's own messages (apologies, queue and handoff
notices, the agent joining, the rating) follow the same rule: the page's language from the
first message (`Conversation.customer_language`), then the one the customer writes.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from channels.base import ChannelMessage
from portal.complaints import flows as complaint_flows
from portal.complaints import service as complaint_service
from portal.complaints.models import Complaint
from portal.conversations import service, snapshots
from portal.conversations.core import (
    Effects,
    Notice,
    Sender,
    TypingSender,
    customer_lang,
    render_notice,
)
from portal.conversations.desk import AgentDesk
from portal.conversations.models import Conversation, Message
from portal.conversations.phrases import (
    HUMAN_PAYLOAD,
    is_english,
    leaves_queue,
    mask_known,
    ticket_score,
    wants_human,
    written_language,
)
from portal.conversations.queueing import QueueClock
from portal.conversations.rasa import BotTimeout, BotUnavailable, RasaClient
from portal.conversations.safety import Draft, from_rasa, looped, shape
from portal.conversations.schemas import HandoffResult
from portal.database import utcnow
from portal.errors import PortalError
from portal.i18n import STATUS_LABELS, Lang, label, t
from portal.observability.context import bind_conversation
from portal.observability.metrics import BOT_FALLBACKS, BOT_REPLY_REPAIRS, HUB_SHORTCUTS
from portal.security import Principal, Role
from portal.tickets import lifecycle
from portal.tickets import service as tickets
from portal.tickets.models import Ticket, TicketEvent
from portal.tickets.schemas import TransitionRequest

log = logging.getLogger(__name__)

# What the hub sends Rasa when a customer opens a chat: Rasa's own trigger for
# action_session_start, which greets.
SESSION_START = "/session_start"
CSAT_PAYLOAD = re.compile(r'^/csat\{"score":\s*([1-5])\}$')
CSAT_TEXT = re.compile(r"^([1-5])\s*(?:分|星)?$")
# A ticket notification in the chat is stored under its outbox key (notifications.widget),
# `ticket:<ticket id>:event:<event id>:<channel>`; these events' notices invite a rating
# (notifications.flows: completed_rate, rate_request).
NOTIFICATION_KEY = re.compile(r"^ticket:(\d+):event:(\d+):")
RATING_ACTIONS = frozenset({"complete", "request_evaluation"})
# A complaint's outcome put to the customer (complaints.flows.ask_customer) is stored under
# `complaint:<complaint id>:event:<event id>:<channel>`: the next message may answer it.
COMPLAINT_KEY = re.compile(r"^complaint:(\d+):event:(\d+):")
# The hub's "why not?" after a bare 不接受: the customer's next message is their reason.
COMPLAINT_WHY = re.compile(r"^complaint:(\d+):why:")
# The hub's handoff summary for agents: the customer's last few messages, each cut short.
SUMMARY_MESSAGES = 3
SUMMARY_QUOTE = 40
SUMMARY_CHARS = 300
# The page languages the bot is told about; anything else a channel passes is left out.
PAGE_LANGUAGES = frozenset({"zh", "en"})


def parse_rating(message: ChannelMessage) -> int | None:
    """The 1-5 score of an answer to the satisfaction question, if it is one."""
    payload = message.extra.get("payload") or ""
    found = CSAT_PAYLOAD.match(payload) or CSAT_TEXT.match(message.text.strip())
    return int(found.group(1)) if found else None


def bot_metadata(channel: str, lang: str | None = None) -> dict[str, str]:
    """The metadata a message to Rasa carries: its channel, and the page's language when the
    channel said it."""
    if lang in PAGE_LANGUAGES:
        return {"channel": channel, "lang": lang}
    return {"channel": channel}


def turn_lang(conversation: Conversation, text: str) -> Lang:
    """The language to answer this message in: the customer's, or English when they write
    English."""
    return "en" if customer_lang(conversation) == "en" or is_english(text) else "zh"


def note_language(conversation: Conversation, message: ChannelMessage) -> None:
    """Record the language the hub writes to this customer in: the one their message says
    (Chinese, an English sentence), else, while none is recorded, the page's (the widget's
    `lang`), so even the hub's first message is in the page's language."""
    written = written_language(message.text)
    page = message.extra.get("lang")
    if written is not None:
        conversation.customer_language = written
    elif conversation.customer_language is None and page in PAGE_LANGUAGES:
        conversation.customer_language = page


@dataclass(frozen=True, slots=True)
class _Inbound:
    conversation_id: int
    public_id: str
    state: str
    rating: int | None
    handed_off: bool
    effects: Effects
    lang: Lang = "zh"
    previous: str | None = None  # the last message the customer was sent before this one
    wants_human: bool = False
    summary: str = ""
    ticket_rating: tuple[int, int] | None = None  # (ticket id, score)
    # (complaint id, accepted; None: a bare no, so the hub asks why before recording it)
    complaint_answer: tuple[int, bool | None] | None = None
    replies: list[ChannelMessage] = field(default_factory=list)  # the hub's answer, if any


@dataclass(frozen=True, slots=True)
class _Turn:
    out: list[ChannelMessage]
    effects: Effects
    fallback: str | None  # why the hub answered for the bot: empty, loop, timeout, error


class ConversationHub(AgentDesk, QueueClock):
    """Implements channels.base.Hub over the portal's database and Rasa, plus handoff."""

    # ------------------------------------------------------------ customer side (Hub)

    async def receive(self, message: ChannelMessage) -> list[ChannelMessage]:
        """Store the customer's message and answer it: the bot does unless an agent has the
        chat, the hub does when the bot cannot or need not (see the module docstring)."""
        async with self._locks[(message.channel, message.sender_id)]:
            inbound = await run_in_threadpool(self._store_inbound, message)
            if inbound is None:
                return []  # a retry of a message already handled
            bind_conversation(inbound.public_id)  # this turn's log lines carry its id
            if inbound.state != "bot":
                await self._apply(inbound.effects)
                return inbound.replies  # the agent answers; Rasa hears nothing of it
            if inbound.wants_human:
                return await self._customer_handoff(inbound)
            if inbound.ticket_rating is not None:
                out, effects = await run_in_threadpool(self._rate_ticket, inbound)
                await self._apply(inbound.effects.merge(effects))
                return out
            if inbound.complaint_answer is not None:
                out, effects = await run_in_threadpool(
                    self._answer_complaint, inbound, message.text
                )
                await self._apply(inbound.effects.merge(effects))
                return out
            if inbound.rating is not None:
                thanks, effects = await run_in_threadpool(
                    self._rate, inbound.conversation_id, inbound.rating
                )
                await self._apply(inbound.effects.merge(effects))
                return thanks
            return await self._bot_turn(inbound, message)

    async def _bot_turn(self, inbound: _Inbound, message: ChannelMessage) -> list[ChannelMessage]:
        if inbound.handed_off:
            await self._want_tracker(inbound.public_id, paused=False, wait=True)
        bot_text = message.extra.get("payload") or message.text
        self._turns[inbound.conversation_id] = []
        replies: list[dict[str, Any]] = []
        failure: str | None = None
        try:
            try:
                replies = await self.rasa.send(
                    sender=inbound.public_id,
                    text=bot_text,
                    metadata=bot_metadata(message.channel, message.extra.get("lang")),
                )
            except BotUnavailable as exc:
                failure = "timeout" if isinstance(exc, BotTimeout) else "error"
                log.warning("bot unavailable for %s: %s", inbound.public_id, exc)
        finally:
            notices = self._turns.pop(inbound.conversation_id, [])
        turn = await run_in_threadpool(
            self._store_turn,
            inbound.conversation_id,
            replies,
            notices,
            failure=failure,
            lang=inbound.lang,
            previous=inbound.previous,
            from_bot=True,
        )
        if turn.fallback is not None:
            log.warning("the hub answered for the bot in %s: %s", inbound.public_id, turn.fallback)
            BOT_FALLBACKS.labels(turn.fallback).inc()
            if turn.fallback in ("empty", "loop"):
                # Rasa's turn may have stopped without its closing action_listen (the
                # circuit breaker): left so, the tracker answers nothing ever after.
                await self.rasa.listen(sender=inbound.public_id)
        await self._apply(inbound.effects.merge(turn.effects))
        return turn.out

    async def _customer_handoff(self, inbound: _Inbound) -> list[ChannelMessage]:
        """转人工 (or a synonym): the handoff the bot's call makes, whatever the bot would do."""
        HUB_SHORTCUTS.labels("handoff").inc()
        self._turns[inbound.conversation_id] = []
        try:
            await self.do_handoff(
                public_id=inbound.public_id,
                reason="request",
                summary=inbound.summary,
                actor="customer",
            )
        finally:
            notices = self._turns.pop(inbound.conversation_id, [])
        turn = await run_in_threadpool(
            self._store_turn,
            inbound.conversation_id,
            [],
            notices,
            lang=inbound.lang,
            previous=inbound.previous,
        )
        await self._apply(inbound.effects.merge(turn.effects))
        return turn.out

    async def greet(
        self, *, channel: str, sender_id: str, lang: str | None = None
    ) -> list[ChannelMessage]:
        """First contact (a chat opened before anything was typed): the bot's greeting, in
        the page's `lang` when given, stored like any reply. Nothing once the conversation
        has messages, or without Rasa."""
        async with self._locks[(channel, sender_id)]:
            opened = await run_in_threadpool(self._first_contact, channel, sender_id, lang)
            if opened is None:
                return []
            conversation_id, public_id = opened
            try:
                replies = await self.rasa.send(
                    sender=public_id, text=SESSION_START, metadata=bot_metadata(channel, lang)
                )
            except BotUnavailable as exc:
                log.warning("no greeting for %s: %s", public_id, exc)
                return []
            turn = await run_in_threadpool(self._store_turn, conversation_id, replies, [])
            await self._apply(turn.effects)
            return turn.out

    def _first_contact(
        self, channel: str, sender_id: str, lang: str | None = None
    ) -> tuple[int, str] | None:
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
                if service.awaiting_rating(session, channel=channel, sender_id=sender_id):
                    return None  # the closed chat's rating question is what they see
                conversation = service.get_or_open(session, channel=channel, sender_id=sender_id)
            if lang in PAGE_LANGUAGES:
                # Before Rasa is asked: should it be down, the hub's apology is in it too.
                conversation.customer_language = lang
            return conversation.id, conversation.public_id

    def _store_inbound(self, message: ChannelMessage) -> _Inbound | None:
        with self.db.session() as session:
            rated = self._closed_awaiting_rating(session, message)
            conversation = rated or service.get_or_open(
                session, channel=message.channel, sender_id=message.sender_id
            )
            previous = service.last_outbound(session, conversation_id=conversation.id)
            stored = service.add_message(
                session,
                conversation=conversation,
                direction="in",
                author="customer",
                text=message.text,
                image_url=message.image_url,
                channel_message_id=message.message_id,
            )
            if stored is None and message.extra.get("resume") == "1":
                # A channel recovering a turn that a crash cut short (portal.wechat.push):
                # the message was stored, its answer never was; run the turn on it now.
                stored = session.scalars(
                    select(Message).where(
                        Message.conversation_id == conversation.id,
                        Message.direction == "in",
                        Message.channel_message_id == message.message_id,
                    )
                ).first()
            if stored is None:
                return None
            note_language(rated or conversation, message)
            effects = Effects()
            if rated is not None:  # the answer to a closed chat's rating question
                return _Inbound(
                    conversation_id=rated.id,
                    public_id=rated.public_id,
                    state="bot",  # answered here by the hub's thanks, never by Rasa
                    rating=parse_rating(message),
                    handed_off=False,
                    effects=effects,
                    lang=turn_lang(rated, message.text),
                    previous=previous.text if previous is not None else None,
                    wants_human=False,
                    summary="",
                    ticket_rating=None,
                    replies=[],
                )
            state = conversation.state
            lang = turn_lang(conversation, message.text)
            replies: list[ChannelMessage] = []
            human = conversation.state == "bot" and (
                wants_human(message.text) or wants_human(message.extra.get("payload") or "")
            )
            ticket_rating = None
            if conversation.state == "bot" and not human:
                ticket_rating = self._ticket_rating(session, previous, message)
            complaint_answer = None
            if conversation.state == "bot" and not human and ticket_rating is None:
                complaint_answer = self._complaint_answer(session, conversation, previous, message)
            rating = None
            if conversation.state == "bot" and conversation.csat_pending:
                if not human and ticket_rating is None and complaint_answer is None:
                    rating = parse_rating(message)
                if rating is None:
                    conversation.csat_pending = False  # they moved on; the question lapses
            if conversation.state == "agent":
                shown = snapshots.staff_text(session, stored)
                effects.publish += self._message_events(conversation, stored, shown)
                effects.chats_of.add(conversation.agent_id or 0)
            elif conversation.state == "waiting" and leaves_queue(message.text):
                # 取消排队 / 不等了: back to the assistant, told so; the agents' queue moves on.
                HUB_SHORTCUTS.labels("left_queue").inc()
                service.change_state(
                    session, conversation=conversation, kind="end", actor="customer"
                )
                conversation.team = None
                replies.append(self._say(session, conversation, Notice("hub.left_queue"), lang))
                effects.queue = effects.route = True
                effects.tracker[conversation.public_id] = False
                state = "waiting"  # this message is answered here, not by the bot
            elif conversation.state == "waiting":
                effects.queue = True
                if not self._acknowledged(session, conversation):
                    HUB_SHORTCUTS.labels("waiting_ack").inc()
                    replies.append(
                        self._say(session, conversation, Notice("hub.waiting_ack"), lang)
                    )
            else:
                preview = snapshots.staff_text(session, stored)
                effects.publish.append(self._live_event(conversation, preview))
            return _Inbound(
                conversation_id=conversation.id,
                public_id=conversation.public_id,
                state=state,
                rating=rating,
                handed_off=conversation.handoff_reason is not None,
                effects=effects,
                lang=lang,
                previous=previous.text if previous is not None else None,
                wants_human=human,
                summary=self._summary(session, conversation, message.text) if human else "",
                ticket_rating=ticket_rating,
                complaint_answer=complaint_answer,
                replies=replies,
            )

    @staticmethod
    def _closed_awaiting_rating(session: Session, message: ChannelMessage) -> Conversation | None:
        """The conversation an agent closed (结束并关闭) with its rating question still open,
        when this message answers it and no newer conversation has begun."""
        if parse_rating(message) is None:
            return None
        return service.awaiting_rating(
            session, channel=message.channel, sender_id=message.sender_id
        )

    def _acknowledged(self, session: Session, conversation: Conversation) -> bool:
        """Whether the customer was told in this wait that their messages will be seen."""
        return service.said_since(
            session,
            conversation_id=conversation.id,
            texts=(t("hub.waiting_ack", "zh"), t("hub.waiting_ack", "en")),
            since=conversation.waiting_since or conversation.created_at,
        )

    def _ticket_rating(
        self, session: Session, previous: Message | None, message: ChannelMessage
    ) -> tuple[int, int] | None:
        """(ticket id, score) when the message rates the ticket whose rating invitation is
        the last thing the customer was sent."""
        key = previous.channel_message_id if previous is not None else None
        found = NOTIFICATION_KEY.match(key or "")
        if found is None:
            return None
        score = ticket_score(message.text)
        if score is None:
            return None
        ticket_id, event_id = int(found.group(1)), int(found.group(2))
        event = session.get(TicketEvent, event_id)
        if event is None or event.ticket_id != ticket_id or event.action not in RATING_ACTIONS:
            return None
        return ticket_id, score

    @staticmethod
    def _complaint_answer(
        session: Session,
        conversation: Conversation,
        previous: Message | None,
        message: ChannelMessage,
    ) -> tuple[int, bool | None] | None:
        """(complaint id, accepted) when the message answers a complaint's outcome: the
        question is the last thing the chat was sent, or (WeChat, where the question goes as
        a message of the account) the customer bound to this WeChat user has one waiting.
        A bare no (the quick reply) gives None: the hub asks why first, and whatever the
        customer writes next is their reason."""
        said = message.extra.get("payload") or message.text
        asked_why = COMPLAINT_WHY.match((previous.channel_message_id if previous else None) or "")
        if asked_why is not None:
            complaint = session.get(Complaint, int(asked_why.group(1)))
            if complaint is None or not complaint_service.awaiting_answer(complaint):
                return None
            return complaint.id, complaint_service.chat_answer(said) is True
        verdict = complaint_service.chat_answer(said)
        if verdict is None:
            return None
        found = COMPLAINT_KEY.match((previous.channel_message_id if previous else None) or "")
        complaint = None
        if found is not None:
            complaint = session.get(Complaint, int(found.group(1)))
        elif conversation.channel == "wechat":
            complaint = complaint_service.awaiting_of_wechat(session, openid=conversation.sender_id)
        if complaint is None or not complaint_service.awaiting_answer(complaint):
            return None
        if not verdict and complaint_service.bare_rejection(said):
            return complaint.id, None
        return complaint.id, verdict

    def _summary(self, session: Session, conversation: Conversation, text: str) -> str:
        """What the agent reads first: the customer asked for a person, and their last
        messages (one-time codes masked)."""
        recent = list(reversed(service.messages_before(session, conversation_id=conversation.id)))
        said = [
            m.text.strip()
            for m in snapshots.transcript(recent)
            if m.author == "customer" and m.text.strip()
        ][-SUMMARY_MESSAGES:]
        parts = [t("hub.summary.request", "zh", text=text.strip()[:SUMMARY_QUOTE])]
        if said:
            quoted = " / ".join(f"「{m[:SUMMARY_QUOTE]}」" for m in said)
            parts.append(t("hub.summary.recent", "zh", messages=quoted))
        return t("handoff.group_sep", "zh").join(parts)[:SUMMARY_CHARS]

    def _store_turn(
        self,
        conversation_id: int,
        replies: list[dict[str, Any]],
        notices: list[Notice],
        *,
        failure: str | None = None,
        lang: Lang | None = None,
        previous: str | None = None,
        from_bot: bool = False,
    ) -> _Turn:
        """Store a turn's answer: the bot's replies and the hub's notices, shaped (see
        `safety`), or the hub's own answer when the bot gave nothing usable (`from_bot`)."""
        with self.db.session() as session:
            conversation = session.get_one(Conversation, conversation_id)
            lang = lang or customer_lang(conversation)
            fallback = failure
            drafts: list[Draft] = []
            if fallback is None and from_bot and looped(replies):
                fallback = "loop"
            elif fallback is None:
                drafts = from_rasa(replies)
            told = [self._draft(notice, lang) for notice in notices]
            if from_bot and fallback is None and not drafts and not told:
                fallback = "empty"
            if fallback is not None and not told:
                # A handoff notice, if the bot made one, already says what this would.
                drafts = [self._fallback(session, lang, previous, down=failure is not None)]
            shaped = shape(
                drafts + told,
                previous=previous,
                lead=lambda text: t("hub.repeat_lead", lang, text=text),
            )
            for kind, count in (
                ("duplicate", shaped.duplicates),
                ("merged", int(shaped.merged)),
                ("varied", shaped.varied),
            ):
                if count:
                    BOT_REPLY_REPAIRS.labels(kind).inc(count)
            out = []
            for draft in shaped.drafts:
                stored = service.add_message(
                    session,
                    conversation=conversation,
                    direction="out",
                    author=draft.author,
                    text=draft.text,
                    buttons=[{"title": title, "payload": p} for title, p in draft.buttons],
                    image_url=draft.image,
                )
                assert stored is not None  # outbound messages carry no channel id
                out.append(service.to_channel_message(stored, conversation))
            effects = Effects()
            if out and conversation.state == "bot":
                effects.publish.append(self._live_event(conversation, out[-1].text))
            elif out and conversation.state == "agent":
                for message in out:
                    effects.publish += self._message_events(conversation, message)
            elif out:
                effects.queue = True  # handed off during the turn: the preview moved on
            return _Turn(out=out, effects=effects, fallback=fallback)

    def _draft(self, notice: Notice, lang: Lang) -> Draft:
        text, buttons = render_notice(notice, lang)
        return Draft(author="system", text=text, buttons=buttons)

    def _fallback(
        self, session: Session, lang: Lang, previous: str | None, *, down: bool = False
    ) -> Draft:
        """The hub's answer for a bot that gave none (`down`: that could not be reached): an
        apology and the offer of a person, with the queue as it is (or, off duty, the
        agents' hours and a ticket)."""
        human = (t("hub.fallback.human", lang), HUMAN_PAYLOAD)
        buttons: tuple[tuple[str, str], ...]
        if self.schedule.on_duty(utcnow()):
            waiting = service.waiting_count(session)
            status = (
                t("hub.fallback.queue_busy", lang, count=waiting)
                if waiting
                else t("hub.fallback.queue_free", lang)
            )
            buttons = (human,)
        else:
            status = t("hub.fallback.off_duty", lang, hours=self.schedule.describe(lang))
            leave = (
                t("hub.handoff.leave_ticket", lang),
                self.settings.handoff_leave_ticket_payload,
            )
            buttons = (human, leave)
        sorry = t("hub.fallback.unavailable" if down else "hub.fallback.sorry", lang)
        text = t("hub.fallback", lang, sorry=sorry, status=status)
        if text == previous:  # the last turn failed too: say it differently
            again = t("hub.fallback.sorry_again", lang)
            text = t("hub.fallback", lang, sorry=again, status=status)
        return Draft(author="system", text=text, buttons=buttons)

    def _rate_ticket(self, inbound: _Inbound) -> tuple[list[ChannelMessage], Effects]:
        """Rate the ticket the invitation named, through the lifecycle, and thank them."""
        assert inbound.ticket_rating is not None
        ticket_id, score = inbound.ticket_rating
        HUB_SHORTCUTS.labels("ticket_rating").inc()
        with self.db.session() as session:
            conversation = session.get_one(Conversation, inbound.conversation_id)
            ticket = session.get_one(Ticket, ticket_id)
            customer = Principal(
                kind="customer",
                role=Role(lifecycle.CUSTOMER),
                name="chat",
                customer_id=ticket.customer_id,
            )
            try:
                with session.begin_nested():
                    tickets.transition(
                        session,
                        ticket=ticket,
                        req=TransitionRequest(action="evaluate", score=score),
                        principal=customer,
                        reopen_window=timedelta(days=self.settings.reopen_window_days),
                    )
                notice = Notice("hub.rating.thanks", {"number": ticket.number, "score": score})
            except PortalError as exc:  # rated already (another channel), or moved on
                log.info("chat rating of %s refused: %s", ticket.number, exc)
                session.refresh(ticket)
                if ticket.status in ("evaluated", "pending_settlement", "settled", "closed"):
                    notice = Notice("hub.rating.already", {"number": ticket.number})
                else:
                    status = label(STATUS_LABELS, ticket.status, inbound.lang)
                    notice = Notice(
                        "hub.rating.unavailable", {"number": ticket.number, "status": status}
                    )
            said = self._say(session, conversation, notice, inbound.lang)
            return [said], Effects(publish=[self._live_event(conversation, said.text)])

    def _answer_complaint(
        self, inbound: _Inbound, text: str
    ) -> tuple[list[ChannelMessage], Effects]:
        """Record the customer's answer to the outcome (their words kept), and say so."""
        assert inbound.complaint_answer is not None
        complaint_id, accepted = inbound.complaint_answer
        HUB_SHORTCUTS.labels("complaint_answer").inc()
        with self.db.session() as session:
            conversation = session.get_one(Conversation, inbound.conversation_id)
            complaint = session.get_one(Complaint, complaint_id)
            params = {"number": complaint.ticket.number}
            if accepted is None:  # a bare no: why, before it is recorded
                key = f"complaint:{complaint_id}:why:{utcnow().timestamp()}"
                why = self._say(
                    session, conversation, Notice("hub.complaint.why"), inbound.lang, key=key
                )
                return [why], Effects(publish=[self._live_event(conversation, why.text)])
            try:
                with session.begin_nested():
                    complaint_flows.answer(
                        session,
                        complaint=complaint,
                        accept=accepted,
                        words=text,
                        actor=f"customer:{complaint.customer_id}",
                    )
                notice = Notice(
                    "hub.complaint.accepted" if accepted else "hub.complaint.rejected", params
                )
            except PortalError as exc:  # answered meanwhile, in /my
                log.info("chat answer to complaint %s refused: %s", complaint_id, exc)
                notice = Notice("hub.complaint.answered", params)
            said = self._say(session, conversation, notice, inbound.lang)
            return [said], Effects(publish=[self._live_event(conversation, said.text)])

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
        """Every stored message of the customer's current conversation (or of the chat an
        agent closed whose rating question is still open)."""
        return await run_in_threadpool(self._history, channel, sender_id, after_id)

    def _history(self, channel: str, sender_id: str, after_id: int | None) -> list[ChannelMessage]:
        with self.db.session() as session:
            conversation = service.find_conversation(
                session, channel=channel, sender_id=sender_id
            ) or service.awaiting_rating(session, channel=channel, sender_id=sender_id)
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
            # The bot quotes the customer's last messages: a one-time code among them is
            # masked, as in the transcript.
            codes = snapshots.typed_codes(session, conversation_id=conversation.id)
            conversation.handoff_summary = mask_known(summary, codes)
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
