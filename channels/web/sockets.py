"""Which widget sockets are open for which visitor, so every tab sees every message."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.websockets import WebSocket

from channels.base import ChannelMessage
from channels.web.wire import to_wire

log = logging.getLogger(__name__)


# Hands a visitor's frame to every worker (the portal's Redis broker); each worker then
# calls `deliver_local` for the sockets it holds.
Relay = Callable[[str, dict[str, Any]], Awaitable[None]]


class VisitorSockets:
    """Open widget sockets keyed by visitor id; the portal calls `push` for agent messages.

    With a `relay`, `broadcast` and `push` reach the visitor's sockets on every worker
    (a visitor's tabs may be served by different workers), not only this one's.
    """

    def __init__(self, relay: Relay | None = None) -> None:
        self.relay = relay
        self._sockets: dict[str, set[WebSocket]] = defaultdict(set)
        # Several coroutines may write to one socket (its own turn, another tab's echo,
        # an agent push); a lock per socket keeps their frames from interleaving.
        self._locks: dict[WebSocket, asyncio.Lock] = {}

    def add(self, sender_id: str, socket: WebSocket) -> None:
        """Register an accepted socket for this visitor."""
        self._sockets[sender_id].add(socket)
        self._locks[socket] = asyncio.Lock()

    def discard(self, sender_id: str, socket: WebSocket) -> None:
        """Forget a socket once it is closed."""
        sockets = self._sockets.get(sender_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._sockets[sender_id]
        self._locks.pop(socket, None)

    def count(self, sender_id: str) -> int:
        """How many sockets this visitor has open (tabs, devices)."""
        return len(self._sockets.get(sender_id, ()))

    async def send(self, socket: WebSocket, frame: dict[str, Any]) -> bool:
        """Send one frame to one socket; False when that socket is already gone."""
        lock = self._locks.get(socket)
        if lock is None:
            return False
        try:
            async with lock:
                await socket.send_json(frame)
        except Exception:  # a tab closing mid-send is normal, not an error
            log.debug("widget socket gone while sending", exc_info=True)
            return False
        return True

    async def broadcast(self, sender_id: str, frame: dict[str, Any]) -> int:
        """Send one frame to every open socket of this visitor; returns how many got it
        (with a relay: how many sockets this worker holds, as the others cannot tell)."""
        if self.relay is not None:
            await self.relay(sender_id, frame)
            return self.count(sender_id)
        return await self.deliver_local(sender_id, frame)

    async def deliver_local(self, sender_id: str, frame: dict[str, Any]) -> int:
        """Send one frame to this worker's open sockets of the visitor."""
        sent = 0
        for socket in list(self._sockets.get(sender_id, ())):
            if await self.send(socket, frame):
                sent += 1
        return sent

    async def push(self, sender_id: str, message: ChannelMessage) -> int:
        """Deliver a stored message (an agent's reply) to the visitor's open widgets."""
        return await self.broadcast(sender_id, to_wire(message))
