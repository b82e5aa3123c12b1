"""Stopping background tasks for sure.

On Python 3.11, `asyncio.wait_for` swallows a cancellation that arrives just as the
operation it waits for completes: it returns the result and the task carries on. redis-py
sends every command under `wait_for` (its socket timeout), so cancelling a task in the
middle of a Redis command often does nothing, and `await task` after `task.cancel()` then
waits for a loop that never ends. A turn lock's keep-alive task did exactly that under load:
the turn never finished and its lock was extended for ever (BENCHMARKS.md, "Load").
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

log = logging.getLogger(__name__)


async def stop_task(task: asyncio.Task[Any] | None, *, retry_s: float = 0.05) -> None:
    """Cancel `task` and wait until it has ended, cancelling again every `retry_s` or so
    while it runs on. If the caller is cancelled meanwhile, `task` is still stopped first and
    the cancellation is passed on afterwards. An exception `task` ended with is logged."""
    if task is None:
        return
    cancelled = False
    while not task.done():
        task.cancel()
        try:
            # A little jitter, so the retries do not keep landing in the same step of a loop.
            await asyncio.wait({task}, timeout=retry_s * random.uniform(0.5, 1.5))
        except asyncio.CancelledError:
            cancelled = True
    if not task.cancelled() and (error := task.exception()) is not None:
        log.warning("background task %s ended with %r", task.get_name(), error)
    if cancelled:
        raise asyncio.CancelledError
