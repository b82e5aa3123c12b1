"""The hub's shared machinery: its state, the channel registry (how to reach a customer
outside a turn), the effects a committed write has (deliveries, console events, re-routing),
system messages, the Rasa tracker's pause/resume, and the console's reads."""

from __future__ import annotations

import abc
import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from channels.base import ChannelMessage
from portal.config import Settings, get_settings
from portal.conversations import service, snapshots
from portal.conversations.broker import Broker, Event, InProcessBroker, Subscription
from portal.conversations.models import Conversation
from portal.conversations.phrases import mask_check_codes
from portal.conversations.presence import Presence
from portal.conversations.rasa import RasaClient
from portal.conversations.routing import Candidate, Need
from portal.conversations.schedule import DutySchedule
from portal.conversations.schemas import (
    AgentStatus,
    ChatItem,
    ConversationDetail,
    LiveItem,
    MessageRead,
    QueueItem,
)
from portal.database import Database, utcnow
from portal.i18n import Lang, t
from portal.privacy.masking import mask_phones_in
from portal.tasks import stop_task

log = logging.getLogger(__name__)

Sender = Callable[[ChannelMessage], Awaitable[None]]
TypingSender = Callable[[str, bool], Awaitable[None]]


# Several workers: the router publishes its offers on OFFERS_TOPIC (every worker keeps a
# copy) and hears the other workers' declines and requests to re-plan on ROUTER_TOPIC.
OFFERS_TOPIC = "queue:offers"
ROUTER_TOPIC = "queue:router"


class Lease(Protocol):
    """Which worker decides the queue's offers (portal.conversations.redis_backend)."""

    origin: str

    @property
    def held(self) -> bool: ...

    async def hold(self) -> bool: ...

    async def release(self) -> None: ...


class TurnLocks(Protocol):
    """`locks[(channel, sender id)]`: an async lock for one conversation."""

    def __getitem__(self, key: tuple[str, str], /) -> AbstractAsyncContextManager[Any]: ...


def customer_lang(conversation: Conversation) -> Lang:
    """The language system messages to this customer are written in: the one recorded for
    them (the page's, then what they write), else the one the conversation was routed in."""
    spoken = conversation.customer_language or conversation.language
    return "en" if spoken == "en" else "zh"


@dataclass(frozen=True, slots=True)
class Notice:
    """A system message for the customer, written in their language when it is stored."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)
    buttons: tuple[tuple[str, str], ...] = ()  # (title key, payload)


def render_notice(notice: Notice, lang: Lang) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A notice's text and buttons (title, payload) in `lang`."""
    text = t(notice.key, lang, **notice.params)
    return text, tuple((t(title, lang), payload) for title, payload in notice.buttons)


@dataclass
class Effects:
    """What a committed write must tell the world: customer deliveries and console events."""

    deliver: list[ChannelMessage] = field(default_factory=list)
    publish: list[tuple[str, Event]] = field(default_factory=list)
    chats_of: set[int] = field(default_factory=set)
    queue: bool = False
    agents: bool = False
    route: bool = False
    tracker: dict[str, bool] = field(default_factory=dict)  # public id -> paused

    def merge(self, other: Effects) -> Effects:
        """Both sets of effects, in order."""
        self.deliver += other.deliver
        self.publish += other.publish
        self.chats_of |= other.chats_of
        self.queue |= other.queue
        self.agents |= other.agents
        self.route |= other.route
        self.tracker.update(other.tracker)
        return self


@dataclass(frozen=True, slots=True)
class Offer:
    """A waiting conversation offered to one agent until `expires` (monotonic clock)."""

    agent_id: int
    expires: float


class HubCore(abc.ABC):
    """State and plumbing the hub's parts share; `ConversationHub` puts the parts together."""

    def __init__(
        self,
        *,
        db: Database,
        rasa: RasaClient,
        settings: Settings | None = None,
        broker: Broker | None = None,
        clock: Callable[[], float] = time.monotonic,
        locks: TurnLocks | None = None,
        presence: Presence | None = None,
        router: Lease | None = None,
    ) -> None:
        self.db = db
        self.rasa = rasa
        self.settings = settings or get_settings()
        self.broker: Broker = broker or InProcessBroker()
        self.clock = clock
        self.schedule = DutySchedule.parse(
            self.settings.handoff_schedule, zone=self.settings.handoff_timezone
        )
        self.presence = presence or Presence(
            heartbeat_timeout_s=self.settings.handoff_heartbeat_timeout_s, clock=clock
        )
        # One turn or agent action at a time per conversation, so replies keep their order;
        # several workers pass Redis locks (portal.conversations.redis_backend).
        self._locks: TurnLocks = locks if locks is not None else defaultdict(asyncio.Lock)
        # Conversations whose bot turn is running: notices wait to follow the bot's replies.
        self._turns: dict[int, list[Notice]] = {}
        self._senders: dict[str, Sender] = {}
        self._typing: dict[str, TypingSender] = {}
        # Several workers (`router` given): one decides offers at a time, the others keep a
        # copy of its offers, passes, misses and round-robin position (see QueueClock).
        # Alone, this worker decides.
        self.router = router
        self._offers: dict[int, Offer] = {}
        # Per waiting conversation: agents who declined its offer, and who let one time out.
        self._passed: defaultdict[int, set[int]] = defaultdict(set)
        self._missed: defaultdict[int, set[int]] = defaultdict(set)
        self._turn_last: int | None = None
        self._shared_seq = 0  # the router's publications of its offers, numbered
        self._copied: tuple[str, int] = ("", 0)  # the router and number of our copy
        self._reroute_due = False
        self._route_lock = asyncio.Lock()
        self._tracker_want: dict[str, bool] = {}
        self._tracker_sent: dict[str, bool] = {}
        self._tracker_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._background: set[asyncio.Task[Any]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._follower: asyncio.Task[None] | None = None
        self._started = clock()

    # ------------------------------------------------------------ channel registry

    def register_sender(self, channel: str, send: Sender) -> None:
        """How to deliver a message to a customer of `channel` outside a bot turn."""
        self._senders[channel] = send

    def register_typing(self, channel: str, typing: TypingSender) -> None:
        """How to show a customer of `channel` that the agent is typing."""
        self._typing[channel] = typing

    async def _deliver(self, message: ChannelMessage) -> bool:
        send = self._senders.get(message.channel)
        if send is None:
            log.info("no sender for channel %s; the message waits in the history", message.channel)
            return False
        try:
            await send(message)
        except Exception:
            log.exception("delivering to %s/%s failed", message.channel, message.sender_id)
            return False
        return True

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start the periodic check of waits, offers and disconnected agents."""
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick_forever())
        if self.router is not None and self._follower is None:
            subscription = self.broker.subscribe([OFFERS_TOPIC, ROUTER_TOPIC])
            self._follower = asyncio.get_running_loop().create_task(self._follow(subscription))

    async def stop(self) -> None:
        """Stop the periodic check and wait for pending tracker updates."""
        await stop_task(self._ticker)  # it may be in a Redis command: see portal/tasks.py
        self._ticker = None
        await stop_task(self._follower)
        self._follower = None
        if self.router is not None:
            await self.router.release()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.handoff_tick_s)
            try:
                await self.tick()
            except Exception:
                log.exception("handoff tick failed")

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @abc.abstractmethod
    async def tick(self) -> None:
        """One round of the queue's clock (see QueueClock)."""

    @abc.abstractmethod
    async def _route(self, *, force_publish: bool = False) -> None:
        """Offer waiting conversations to agents (see QueueClock)."""

    @abc.abstractmethod
    async def _follow(self, subscription: Subscription) -> None:
        """Keep the router's offers, or as the router apply the others' asks (see QueueClock)."""

    def _routing(self) -> bool:
        """Whether this worker decides offers: it runs alone, or holds the router lease."""
        return self.router is None or self.router.held

    async def _defer(self, ask: Event, *, force_publish: bool) -> None:
        """Not the router: tell it what changed (it re-plans and publishes the offers)."""
        assert self.router is not None
        await self.broker.publish(ROUTER_TOPIC, {**ask, "origin": self.router.origin})
        if force_publish:
            await self._publish_queue()
            await self._publish_agents()

    def _let_go(self, conversation_id: int, agent_id: int) -> bool:
        """The agent passes on their offer of this conversation; whether they had it."""
        offer = self._offers.get(conversation_id)
        if offer is None or offer.agent_id != agent_id:
            return False
        del self._offers[conversation_id]
        self._passed[conversation_id].add(agent_id)
        return True

    # ------------------------------------------------------------ shared pieces

    def _say(
        self,
        session: Session,
        conversation: Conversation,
        notice: Notice,
        lang: Lang | None = None,
        *,
        key: str | None = None,
    ) -> ChannelMessage:
        """Store a system message for the customer, in their language (or `lang`: the one
        they wrote this turn in); `key` marks it for the customer's next message to answer."""
        text, buttons = render_notice(notice, lang or customer_lang(conversation))
        stored = service.add_message(
            session,
            conversation=conversation,
            direction="out",
            author="system",
            text=text,
            buttons=[{"title": title, "payload": p} for title, p in buttons],
            channel_message_id=key,
        )
        assert stored is not None
        return service.to_channel_message(stored, conversation)

    def _message_events(
        self, conversation: Conversation, message: Any, text: str | None = None
    ) -> list[tuple[str, Event]]:
        """A transcript message for the owning agent's console and the supervisors' (`text`
        as staff see it, when it differs: a one-time code masked)."""
        if isinstance(message, ChannelMessage):
            data = MessageRead(
                id=message.id or 0,
                direction=message.direction,
                author=message.author,
                text=mask_check_codes(message.text),
                html=snapshots.rendered(
                    message.direction, message.author, mask_check_codes(message.text)
                ),
                buttons=[{"title": b.title, "payload": b.payload} for b in message.buttons],
                image_url=message.image_url,
                created_at=message.created_at or utcnow(),
            )
        else:
            data = snapshots.message_read(message, text=text)
        event = {
            "type": "message",
            "conversation": conversation.public_id,
            "message": data.model_dump(mode="json"),
        }
        # Supervisors watch chats they do not hold: typed phone numbers reach them masked,
        # as the console's transcript shows them (portal/privacy/masking.py).
        watched = data.model_copy(
            update={
                "text": mask_phones_in(data.text),
                "html": mask_phones_in(data.html) if data.html is not None else None,
            }
        )
        # The holder's copy first: a supervisor who holds the chat keeps the first of the two.
        events: list[tuple[str, Event]] = []
        if conversation.agent_id:
            events.append((f"agent:{conversation.agent_id}", event))
        events.append(("supervisors", {**event, "message": watched.model_dump(mode="json")}))
        return events

    def _live_event(self, conversation: Conversation, preview: str) -> tuple[str, Event]:
        item = snapshots.live_item(conversation, preview)
        return "agents", {"type": "live", "item": item.model_dump(mode="json")}

    async def _apply(self, effects: Effects) -> None:
        """Deliver, publish and re-route after a committed write."""
        for message in effects.deliver:
            await self._deliver(message)
        for topic, event in effects.publish:
            await self.broker.publish(topic, event)
        for agent_id in effects.chats_of - {0}:
            await self.broker.publish(
                f"agent:{agent_id}",
                {"type": "chats", "items": _dump(await self.chat_items(agent_id))},
            )
        for public_id, paused in effects.tracker.items():
            await self._want_tracker(public_id, paused=paused, wait=False)
        if effects.route:
            await self._route(force_publish=effects.queue or effects.agents)
        else:
            if effects.queue:
                await self._publish_queue()
            if effects.agents:
                await self._publish_agents()

    async def _publish_queue(self) -> None:
        await self.broker.publish(
            "agents", {"type": "queue", "items": _dump(await self.queue_items())}
        )

    async def _publish_agents(self) -> None:
        await self.broker.publish(
            "supervisors", {"type": "agents", "items": _dump(await self.agent_statuses())}
        )

    async def _conversation_lock(self, public_id: str) -> AbstractAsyncContextManager[Any]:
        key = await run_in_threadpool(self._key_of, public_id)
        return self._locks[key]

    def _key_of(self, public_id: str) -> tuple[str, str]:
        with self.db.session() as session:
            conversation = service.get_by_public_id(session, public_id=public_id)
            return conversation.channel, conversation.sender_id

    def _closed_event(self, conversation: Conversation, reason: str) -> Event:
        return {"type": "chat_closed", "conversation": conversation.public_id, "reason": reason}

    # ------------------------------------------------------------ the Rasa tracker

    async def _want_tracker(self, public_id: str, *, paused: bool, wait: bool) -> None:
        """Bring Rasa's tracker to paused or resumed; in the background unless `wait`."""
        if not self.settings.handoff_sync_rasa_tracker:
            return
        self._tracker_want[public_id] = paused
        if self._tracker_sent.get(public_id) is paused:
            return
        if wait:
            await self._sync_tracker(public_id)
        else:
            # Not awaited: a handoff may come from inside Rasa's own turn (the bot's
            # action), and Rasa holds that conversation's lock until the action returns.
            self._spawn(self._sync_tracker(public_id))

    async def _sync_tracker(self, public_id: str) -> None:
        async with self._tracker_locks[public_id]:
            want = self._tracker_want.get(public_id)
            if want is None or self._tracker_sent.get(public_id) is want:
                return
            event = "pause" if want else "resume"
            if await self.rasa.append_event(sender=public_id, event=event):
                self._tracker_sent[public_id] = want

    # ------------------------------------------------------------ console reads

    async def queue_items(self) -> list[QueueItem]:
        """The queue in service order, with offers."""
        offers = {cid: o.agent_id for cid, o in self._offers.items()}
        return await run_in_threadpool(
            self._read, lambda s: snapshots.queue_items(s, offers=offers)
        )

    async def chat_items(self, agent_id: int) -> list[ChatItem]:
        """The chats this agent owns."""
        return await run_in_threadpool(
            self._read, lambda s: snapshots.chat_items(s, service.chats_of(s, agent_id=agent_id))
        )

    async def live_items(self) -> list[LiveItem]:
        """Bot conversations active lately, for pick-up."""
        since = utcnow() - timedelta(seconds=self.settings.handoff_live_window_s)
        return await run_in_threadpool(
            self._read,
            lambda s: snapshots.live_items(s, service.live_bot_conversations(s, since=since)),
        )

    async def agent_statuses(self) -> list[AgentStatus]:
        """Every agent's status, load and chats (for supervisors)."""
        offers = {cid: o.agent_id for cid, o in self._offers.items()}
        return await run_in_threadpool(
            self._read,
            lambda s: snapshots.agent_statuses(
                s,
                default_max=self.settings.handoff_default_max_chats,
                status_of=self.presence.status,
                offers=offers,
            ),
        )

    async def detail(self, public_id: str) -> ConversationDetail:
        """One conversation with transcript, notes and events."""
        return await run_in_threadpool(
            self._read,
            lambda s: snapshots.detail(
                s, conversation=service.get_by_public_id(s, public_id=public_id)
            ),
        )

    def _read(self, work: Callable[[Session], Any]) -> Any:
        with self.db.session() as session:
            return work(session)


def candidate_of(agent: service.AgentInfo) -> Candidate:
    """An agent as routing sees them."""
    return Candidate(
        user_id=agent.user_id,
        max_chats=agent.max_chats,
        product_lines=agent.product_lines,
        languages=agent.languages,
        team=agent.team,
    )


def need_of(conversation: Conversation) -> Need:
    """What a conversation asks of its agent, as routing sees it."""
    return Need(
        conversation_id=conversation.id,
        product_line=conversation.product_line,
        language=conversation.language,
        team=conversation.team,
    )


def _dump(items: Iterable[Any]) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json") for item in items]
