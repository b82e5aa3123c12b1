"""Redis behind the hub when REDIS_URL is set, so several portal workers act as one.

- `RedisBroker`: console and widget events published on any worker reach the sockets of
  every worker (Redis pub/sub).
- `RedisTurnLocks`: one turn or agent action at a time per conversation, across workers.
- `SharedPresence`: every worker sees which agents are online, whichever worker holds
  their console socket (presence changes travel through the broker).
- `RedisLimit`: the widget's rate limits count across workers (a token bucket in Redis).
- `RouterLease`: one worker at a time decides the handoff queue's offers (a key with a
  TTL, renewed by its holder each tick of the queue's clock, taken by another worker when
  the holder stops renewing it).

Each one degrades to the single-process behaviour while Redis is unreachable, and says so
in the log: a Redis restart pauses the cross-worker guarantees, never the conversations.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from types import TracebackType

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from channels.web.limits import RateLimiter
from portal.conversations.broker import Event, InProcessBroker, _LocalSubscription
from portal.conversations.presence import Presence
from portal.tasks import stop_task

log = logging.getLogger(__name__)

# Failures Redis or its socket may raise while the server restarts.
DOWN = (RedisError, OSError, asyncio.TimeoutError)


def connect(url: str) -> aioredis.Redis:
    """A client for commands: short timeouts, so a dead server fails fast."""
    return aioredis.Redis.from_url(
        url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=10
    )


def worker_id() -> str:
    """A name unique to this process, to recognise our own events coming back."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class RedisBroker:
    """Publishes through Redis; one pattern subscription per worker feeds local subscribers.

    Every worker receives every event of the prefix and hands it to the sockets it holds
    (an in-process broker does the local fan-out). That costs one Redis connection per
    worker however many sockets it holds, and no subscribe race when a socket opens; the
    price, each event read by every worker, is small for the tens of workers a help desk
    runs (see docs/deploy.md for when to shard).
    """

    def __init__(self, url: str, *, prefix: str) -> None:
        self.url = url
        self.prefix = prefix
        self.client = connect(url)
        # No socket timeout on the listening connection: it waits for events indefinitely.
        self._listen_client = aioredis.Redis.from_url(
            url, socket_connect_timeout=2, health_check_interval=10
        )
        self.local = InProcessBroker()
        self.live = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def start(self, *, wait_s: float = 5.0) -> None:
        """Start listening; waits (a little) for the subscription, so no early event is lost."""
        if self._reader is None:
            self._reader = asyncio.get_running_loop().create_task(self._listen_forever())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.live.wait(), wait_s)
        if not self.live.is_set():
            log.warning("Redis at %s not reachable yet; events stay on this worker", self.url)

    async def stop(self) -> None:
        """Stop listening and close the connections."""
        await stop_task(self._reader)
        self._reader = None
        await self.client.aclose()
        await self._listen_client.aclose()

    async def publish(self, topic: str, event: Event) -> None:
        """Send `event` to the subscribers of `topic` on every worker."""
        data = json.dumps(event, ensure_ascii=False, default=str)
        if self.live.is_set():
            try:
                await self.client.publish(self.prefix + topic, data)
                return
            except DOWN as exc:
                log.warning("Redis publish failed (%s); delivering on this worker only", exc)
        # Our own listener is down too, so no copy comes back: deliver here, at least.
        await self.local.publish(topic, json.loads(data))

    def subscribe(self, topics: Iterable[str]) -> _LocalSubscription:
        """Start receiving the events of these topics, from every worker."""
        return self.local.subscribe(topics)

    async def _listen_forever(self) -> None:
        backoff = 0.1
        pattern = self.prefix + "*"
        while True:
            pubsub = self._listen_client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(pattern)
                self.live.set()
                if backoff > 0.1:
                    log.warning("Redis subscription back; events cross workers again")
                backoff = 0.1
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is None or message.get("type") != "pmessage":
                        continue
                    await self._dispatch(message["channel"], message["data"])
            except asyncio.CancelledError:
                raise
            except DOWN as exc:
                if self.live.is_set():
                    log.warning("Redis subscription lost (%s); retrying", exc)
                self.live.clear()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _dispatch(self, channel: bytes | str, data: bytes | str) -> None:
        name = channel.decode() if isinstance(channel, bytes) else channel
        try:
            event = json.loads(data)
        except ValueError:
            log.warning("dropped a malformed event on %s", name)
            return
        await self.local.publish(name[len(self.prefix) :], event)


# Release only our own lock: another worker may hold it after our TTL ran out.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class RedisTurnLocks:
    """`locks[key]` is an async context manager holding the conversation across workers.

    Why Redis and not a PostgreSQL advisory lock: the lock is held for the whole bot turn,
    Rasa's answer included (seconds). A session advisory lock would pin one pooled database
    connection per running turn, so the pool size would cap concurrent conversations per
    worker; the Redis lock is only a key with a TTL. The TTL (kept alive while the turn
    runs) frees the conversation within `ttl_s` when a worker is killed mid-turn.

    Inside a worker an asyncio lock queues the waiters first-come first-served, and only
    the head of that queue polls Redis. The message is stored after the lock is taken, so
    the stored order and the order Rasa hears them are the same.
    """

    def __init__(self, client: aioredis.Redis, *, prefix: str, ttl_s: float = 10.0) -> None:
        self.client = client
        self.prefix = prefix
        self.ttl_ms = int(ttl_s * 1000)
        self._local: defaultdict[tuple[str, str], asyncio.Lock] = defaultdict(asyncio.Lock)

    def __getitem__(self, key: tuple[str, str]) -> _TurnLock:
        return _TurnLock(self, key)


class _TurnLock:
    def __init__(self, locks: RedisTurnLocks, key: tuple[str, str]) -> None:
        self.locks = locks
        self.key = key
        self.name = f"{locks.prefix}turn:{key[0]}:{key[1]}"
        self.token = ""
        self._keeper: asyncio.Task[None] | None = None

    async def __aenter__(self) -> None:
        local = self.locks._local[self.key]
        await local.acquire()
        try:
            await self._acquire_redis()
        except BaseException:
            local.release()
            raise

    async def _acquire_redis(self) -> None:
        client = self.locks.client
        token = uuid.uuid4().hex
        pause = 0.005
        while True:
            try:
                if await client.set(self.name, token, nx=True, px=self.locks.ttl_ms):
                    break
            except DOWN as exc:
                # Degraded, not stopped: this worker still runs one turn at a time.
                log.warning("Redis turn lock unavailable (%s); local lock only", exc)
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.1)
        self.token = token
        self._keeper = asyncio.get_running_loop().create_task(self._keep_alive())

    async def _keep_alive(self) -> None:
        period = self.locks.ttl_ms / 3000
        while True:
            await asyncio.sleep(period)
            try:
                await self.locks.client.eval(
                    _EXTEND, 1, self.name, self.token, str(self.locks.ttl_ms)
                )
            except DOWN:
                log.warning("could not extend the turn lock %s", self.name)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await stop_task(self._keeper)  # for sure: see portal/tasks.py
            if self.token:
                try:
                    await self.locks.client.eval(_RELEASE, 1, self.name, self.token)
                except DOWN as error:
                    log.warning("could not release %s (%s); its TTL will", self.name, error)
        finally:
            self.token = ""
            self._keeper = None
            local = self.locks._local.get(self.key)
            if local is not None:
                local.release()
                if not local.locked() and not getattr(local, "_waiters", None):
                    self.locks._local.pop(self.key, None)


class SharedPresence(Presence):
    """Presence whose changes every worker hears (through the broker's `presence` topic).

    Each worker keeps a full copy and applies the others' changes with its own clock, so a
    worker never gives back the chats of an agent whose console is on another worker. A
    killed worker's sockets are never closed for the others; the heartbeat timeout then
    makes its agents offline, as for a lost network.
    """

    TOPIC = "presence"

    def __init__(
        self,
        *,
        heartbeat_timeout_s: float,
        broker: RedisBroker,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(heartbeat_timeout_s=heartbeat_timeout_s, clock=clock)
        self.broker = broker
        self.origin = worker_id()
        # A heartbeat is told to the others at most this often per agent.
        self.seen_every = heartbeat_timeout_s / 5
        self._told_seen: dict[int, float] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Future[None]] = set()

    def start(self) -> None:
        """Listen to the other workers' changes (call in the running loop)."""
        self._loop = asyncio.get_running_loop()
        subscription = self.broker.subscribe([self.TOPIC])
        self._listener = self._loop.create_task(self._listen(subscription))

    async def stop(self) -> None:
        """Stop listening."""
        await stop_task(self._listener)
        await asyncio.gather(*self._pending, return_exceptions=True)

    async def _listen(self, subscription: _LocalSubscription) -> None:
        try:
            async for event in subscription:
                if event.get("origin") != self.origin:
                    self.apply(event)
        finally:
            subscription.close()

    def apply(self, event: Event) -> None:
        """Apply another worker's change to this worker's copy."""
        user_id = int(event["user"])
        kind = event["kind"]
        if kind == "connect":
            super().connect(user_id)
        elif kind == "disconnect":
            super().disconnect(user_id)
        elif kind == "choose":
            super().choose(user_id, str(event["status"]))
        elif kind == "seen":
            entry = self._entry(user_id)
            # A worker that started after the agent chose a status learns it here.
            if entry.chosen == "offline" and event.get("status") in ("online", "away"):
                entry.chosen = str(event["status"])
            super().seen(user_id)

    def _tell(self, kind: str, user_id: int) -> None:
        event = {
            "kind": kind,
            "user": user_id,
            "status": self._entry(user_id).chosen,
            "origin": self.origin,
        }
        loop = self._loop
        if loop is None:
            return  # not started (tests of one worker): nobody else to tell
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._spawn_publish(event)
        else:  # called from a worker thread (a sync route)
            loop.call_soon_threadsafe(self._spawn_publish, event)

    def _spawn_publish(self, event: Event) -> None:
        future = asyncio.ensure_future(self.broker.publish(self.TOPIC, event))
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)

    def connect(self, user_id: int) -> None:
        """A console socket opened on this worker."""
        super().connect(user_id)
        self._tell("connect", user_id)

    def disconnect(self, user_id: int) -> None:
        """A console socket closed on this worker."""
        super().disconnect(user_id)
        self._tell("disconnect", user_id)

    def choose(self, user_id: int, status: str) -> None:
        """The agent picked a status on this worker."""
        super().choose(user_id, status)
        self._tell("choose", user_id)

    def seen(self, user_id: int) -> None:
        """A sign of life on this worker; the others hear of it now and then."""
        super().seen(user_id)
        now = self.clock()
        if now - self._told_seen.get(user_id, float("-inf")) >= self.seen_every:
            self._told_seen[user_id] = now
            self._tell("seen", user_id)


# A token bucket per key, refilled from the server's clock (workers' clocks may differ).
_BUCKET = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1])
local at = tonumber(b[2])
if tokens == nil then tokens = capacity; at = now end
tokens = math.min(capacity, tokens + (now - at) * rate)
local ok = 0
if tokens >= 1 then tokens = tokens - 1; ok = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return ok
"""


class RedisLimit:
    """At most `per_minute` events per key across every worker; 0 disables the limit.

    While Redis is unreachable each worker counts on its own (the in-process bucket), so
    the limit loosens by the number of workers instead of stopping every chat.
    """

    def __init__(self, client: aioredis.Redis, *, prefix: str, name: str, per_minute: int) -> None:
        self.client = client
        self.prefix = f"{prefix}rate:{name}:"
        self.per_minute = per_minute
        self.fallback = RateLimiter(per_minute)

    async def take(self, key: str) -> bool:
        """Take one token for `key`; False when its bucket is empty."""
        if self.per_minute <= 0:
            return True
        try:
            allowed = await self.client.eval(
                _BUCKET, 1, self.prefix + key, str(self.per_minute), str(self.per_minute / 60)
            )
        except DOWN as exc:
            log.warning("Redis rate limit unavailable (%s); counting on this worker", exc)
            return self.fallback.allow(key)
        return bool(allowed)


# Take the lease when nobody holds it, renew it when we do; 1 when ours afterwards.
_HOLD = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0
"""


class RouterLease:
    """Which worker routes the handoff queue: a Redis key holding that worker's id.

    The holder renews it on each tick of its queue's clock; a worker that stops (its app
    shuts down) deletes it, one that dies lets it expire after `ttl_s`, and the next tick of
    another worker takes it. The holder counts on it until `ttl_s` after it *asked* for the
    renewal, so it stops routing no later than the key expires on the server.

    While Redis is unreachable every worker routes on its own (the single-process
    behaviour, logged): offers may then be decided twice, but a chat is still accepted by
    one agent only (acceptance is a compare-and-set in the database).
    """

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str,
        ttl_s: float,
        origin: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.key = f"{prefix}router"
        self.ttl_ms = max(1, int(ttl_s * 1000))
        self.origin = origin
        self.clock = clock
        self._until = float("-inf")
        self._alone = False

    @property
    def held(self) -> bool:
        """Whether this worker decides offers now."""
        return self._alone or self.clock() < self._until

    async def hold(self) -> bool:
        """Take the lease if it is free, renew it if it is ours; whether we hold it now."""
        asked = self.clock()
        try:
            ours = await self.client.eval(_HOLD, 1, self.key, self.origin, str(self.ttl_ms))
        except DOWN as exc:
            if not self._alone:
                log.warning("Redis unreachable (%s); this worker routes the queue alone", exc)
            self._alone = True
            return True
        if self._alone:
            log.warning("Redis back; one worker routes the queue again")
            self._alone = False
        self._until = asked + self.ttl_ms / 1000 if ours else float("-inf")
        return bool(ours)

    async def release(self) -> None:
        """Give the lease up (the app stops), so another worker takes it at its next tick."""
        self._until = float("-inf")
        self._alone = False
        try:
            await self.client.eval(_RELEASE, 1, self.key, self.origin)
        except DOWN as exc:
            log.warning("could not release the router lease (%s); its TTL will", exc)


class Scaling:
    """The Redis pieces of one portal worker, started and stopped with the app."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        heartbeat_timeout_s: float,
        router_lease_s: float = 5.0,
        tick_s: float = 1.0,
    ) -> None:
        self.broker = RedisBroker(url, prefix=prefix)
        self.locks = RedisTurnLocks(self.broker.client, prefix=prefix)
        self.presence = SharedPresence(heartbeat_timeout_s=heartbeat_timeout_s, broker=self.broker)
        # Renewed once a tick: a lease shorter than a few ticks would change hands between
        # two renewals of a healthy router.
        self.router = RouterLease(
            self.broker.client,
            prefix=prefix,
            ttl_s=max(router_lease_s, 3 * tick_s),
            origin=self.presence.origin,
        )
        self.prefix = prefix

    def limit(self, name: str, per_minute: int) -> RedisLimit:
        """A rate limit shared by every worker."""
        return RedisLimit(self.broker.client, prefix=self.prefix, name=name, per_minute=per_minute)

    async def start(self) -> None:
        """Subscribe and start hearing the other workers."""
        await self.broker.start()
        self.presence.start()

    async def stop(self) -> None:
        """Stop listening and close Redis connections."""
        await self.presence.stop()
        await self.broker.stop()
