"""Per-key message rate limits for the widget: a token bucket per visitor and per site key.

`RateLimiter` counts in this process. Several portal workers pass the adapter a shared
limit instead (`build_router(limits=...)`: a token bucket in Redis), so a visitor with tabs
on two workers, and a site key over all workers, get one budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

# Buckets kept at most; full (idle) buckets are dropped first when there are more.
MAX_KEYS = 50_000


class RateLimiter:
    """At most `per_minute` events per key, refilled evenly; 0 disables the limit."""

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.capacity = float(per_minute)
        self.max_keys = max_keys
        self.rate = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last time)

    def allow(self, key: str) -> bool:
        """Take one token for `key`; False when its bucket is empty."""
        if self.capacity <= 0:
            return True
        now = self.clock()
        tokens, last = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > self.max_keys:
            self._forget_idle(now)
        return True

    def _forget_idle(self, now: float) -> None:
        full_after = self.capacity / self.rate if self.rate else 0.0
        for key, (_tokens, last) in list(self._buckets.items()):
            if now - last >= full_after:
                del self._buckets[key]


class Limit(Protocol):
    """A rate limit the adapter awaits: in-process here, shared by workers in the portal."""

    async def take(self, key: str) -> bool: ...


class LocalLimit:
    """A RateLimiter behind the awaitable `take` the adapter uses."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limiter = RateLimiter(per_minute, clock=clock)

    async def take(self, key: str) -> bool:
        """Take one token for `key`; False when its bucket is empty."""
        return self.limiter.allow(key)


# (name, per minute) -> Limit; the names are "visitor" and "site".
LimitFactory = Callable[[str, int], Limit]
