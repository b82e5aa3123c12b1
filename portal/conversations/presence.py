"""Agents' presence (online / away / offline), kept in memory from console heartbeats.

An agent is online or away as they chose while a sign of life keeps coming (a console
socket frame, a console API call); closing the last console socket, choosing offline or
staying silent past the heartbeat timeout makes them offline. `gone_since` tells when,
so the hub can give their chats back to the queue after a grace period.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

STATUSES = ("online", "away", "offline")


@dataclass(slots=True)
class _Entry:
    chosen: str = "offline"
    last_seen: float = 0.0
    sockets: int = 0
    gone_at: float | None = None


class Presence:
    """Who is online, by staff user id; one per process (swap for Redis with the broker)."""

    def __init__(self, *, heartbeat_timeout_s: float, clock: Callable[[], float] = time.monotonic):
        self.timeout = heartbeat_timeout_s
        self.clock = clock
        self._entries: dict[int, _Entry] = {}

    def _entry(self, user_id: int) -> _Entry:
        return self._entries.setdefault(user_id, _Entry())

    def seen(self, user_id: int) -> None:
        """A sign of life (it does not undo a chosen offline)."""
        entry = self._entry(user_id)
        entry.last_seen = self.clock()
        if entry.chosen != "offline":
            entry.gone_at = None

    def connect(self, user_id: int) -> None:
        """A console socket opened: the agent is back, online unless they chose away."""
        entry = self._entry(user_id)
        entry.sockets += 1
        if entry.chosen == "offline":
            entry.chosen = "online"
        self.seen(user_id)

    def disconnect(self, user_id: int) -> None:
        """A console socket closed; the last one closing makes the agent offline now."""
        entry = self._entry(user_id)
        entry.sockets = max(entry.sockets - 1, 0)
        if entry.sockets == 0:
            entry.gone_at = self.clock()

    def choose(self, user_id: int, status: str) -> None:
        """The agent picked a status (online, away, offline)."""
        if status not in STATUSES:
            raise ValueError(status)
        entry = self._entry(user_id)
        entry.chosen = status
        if status == "offline":
            entry.gone_at = self.clock()
            return
        self.seen(user_id)

    def gone_since(self, user_id: int) -> float | None:
        """The clock time the agent went offline, or None while online or away."""
        entry = self._entries.get(user_id)
        if entry is None:
            return 0.0
        if entry.chosen == "offline" or entry.gone_at is not None:
            return entry.gone_at if entry.gone_at is not None else entry.last_seen
        if self.clock() - entry.last_seen > self.timeout:
            return entry.last_seen + self.timeout
        return None

    def status(self, user_id: int) -> str:
        """online, away or offline, as of now."""
        if self.gone_since(user_id) is not None:
            return "offline"
        return self._entries[user_id].chosen

    def connected(self, user_id: int) -> bool:
        """Whether a console socket of this agent is open."""
        entry = self._entries.get(user_id)
        return entry is not None and entry.sockets > 0

    def known(self) -> list[int]:
        """Every agent seen since the process started."""
        return list(self._entries)
