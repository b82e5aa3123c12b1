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
from typing import Any

log = logging.getLogger(__name__)


async def stop_task(task: asyncio.Task[Any] | None, *, retry_s: float = 0.05) -> None:
    """Cancel `task` and wait until it has ended, cancelling again each `retry_s` while it
    runs on. An exception it ended with is logged, not raised."""
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=retry_s)
    if not task.cancelled() and (error := task.exception()) is not None:
        log.warning("background task %s ended with %r", task.get_name(), error)
