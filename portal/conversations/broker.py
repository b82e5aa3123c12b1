"""Publish/subscribe between the hub and live consoles, in one process.

The hub publishes events to topics; each console socket subscribes to the topics it
needs. Cross-worker delivery (Redis pub/sub) replaces this class behind the same two
methods: `publish(topic, event)` and `subscribe(topics)`.

Topics: `agents` (every console: the queue changed), `agent:<user id>` (one agent's chats,
messages, offers), `supervisors` (agents' status and load, escalations).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from typing import Any, Protocol

log = logging.getLogger(__name__)

Event = dict[str, Any]
# A console that stops reading must not make the hub wait or grow memory without bound.
QUEUE_LIMIT = 1000


class Subscription(Protocol):
    """What `subscribe` returns: an async iterator of events, closed when done."""

    def __aiter__(self) -> AsyncIterator[Event]: ...

    async def get(self) -> Event: ...

    def close(self) -> None: ...


class Broker(Protocol):
    """The publish/subscribe interface the hub and the console use."""

    async def publish(self, topic: str, event: Event) -> None: ...

    def subscribe(self, topics: Iterable[str]) -> Subscription: ...


class _LocalSubscription:
    def __init__(self, broker: InProcessBroker, topics: frozenset[str]) -> None:
        self.broker = broker
        self.topics = topics
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=QUEUE_LIMIT)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            yield await self.queue.get()

    async def get(self) -> Event:
        """The next event."""
        return await self.queue.get()

    def close(self) -> None:
        """Stop receiving."""
        self.broker._remove(self)


class InProcessBroker:
    """Topics to subscriber queues, in this process's event loop."""

    def __init__(self) -> None:
        self._subscribers: defaultdict[str, set[_LocalSubscription]] = defaultdict(set)

    async def publish(self, topic: str, event: Event) -> None:
        """Hand `event` to every subscriber of `topic`; a full subscriber loses it."""
        for sub in list(self._subscribers.get(topic, ())):
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("console subscriber too slow; dropped a %s event", event.get("type"))

    def subscribe(self, topics: Iterable[str]) -> _LocalSubscription:
        """Start receiving the events of these topics."""
        sub = _LocalSubscription(self, frozenset(topics))
        for topic in sub.topics:
            self._subscribers[topic].add(sub)
        return sub

    def _remove(self, sub: _LocalSubscription) -> None:
        for topic in sub.topics:
            subs = self._subscribers.get(topic)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subscribers[topic]
