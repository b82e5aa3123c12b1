"""The per-conversation turn lock on Redis: a turn always ends and frees its conversation,
whenever it ends relative to the lock's keep-alive; background tasks stop for sure."""

from __future__ import annotations

import asyncio
import random

from redis import asyncio as aioredis

from portal.conversations.redis_backend import RedisTurnLocks, connect
from portal.tasks import stop_task

TURNS = 400


async def _turns(url: str, prefix: str) -> list[int]:
    """Many short turns on a few conversations, with the keep-alive extending the lock
    every few milliseconds, so turns often end while an extension is on the wire."""
    client = connect(url)
    locks = RedisTurnLocks(client, prefix=prefix, ttl_s=0.015)  # an extension every 5 ms
    stuck: list[int] = []

    async def turn(n: int) -> None:
        async with locks[("web", f"visitor-{n % 8}")]:
            await asyncio.sleep(random.uniform(0.005, 0.02))  # the bot's answer

    try:
        for start in range(0, TURNS, 40):
            batch = {n: asyncio.ensure_future(turn(n)) for n in range(start, start + 40)}
            await asyncio.wait(batch.values(), timeout=10)
            # A turn that did not end (or waits behind one that did not) holds or wants a
            # lock that stays taken for ever.
            stuck += [n for n, task in batch.items() if not task.done()]
            if stuck:
                break
        if not stuck:
            held = [k async for k in client.scan_iter(match=f"{prefix}turn:*")]
            assert not held, f"turn locks left in Redis: {held}"
    finally:
        # Whatever still runs (a stuck turn and its keep-alive) is stopped, so a failure
        # fails instead of hanging the test run.
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            await stop_task(task)
        await client.aclose()
    return stuck


def test_every_turn_ends_and_frees_its_conversation(redis_url: str, redis_prefix: str) -> None:
    assert asyncio.run(_turns(redis_url, redis_prefix)) == []


async def _stop_a_task_inside_redis_commands(url: str) -> None:
    client = aioredis.Redis.from_url(url, socket_timeout=5)

    async def busy() -> None:  # mostly Redis commands, as a keep-alive or a listener
        while True:
            await client.ping()
            await asyncio.sleep(0.001)

    try:
        for _ in range(50):
            task = asyncio.ensure_future(busy())
            await asyncio.sleep(random.uniform(0, 0.003))
            await asyncio.wait_for(stop_task(task), 10)
            assert task.done()
    finally:
        await client.aclose()


def test_stop_task_ends_a_task_that_swallows_its_cancellation(redis_url: str) -> None:
    asyncio.run(_stop_a_task_inside_redis_commands(redis_url))
