"""An outbox delivered from inside the app: a task of the app's event loop that runs one
pass in a thread (the database calls block), follows a full batch at once with the next,
and otherwise sleeps for the poll interval or until woken. The widget's and WeChat's
in-app outboxes are such loops; the separate outbox worker process is portal/workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from portal.notifications.delivery import DeliveryStats, Outbox

log = logging.getLogger(__name__)


class OutboxLoop:
    """Deliver `outbox` every `poll_s` seconds while the app runs (start / stop)."""

    def __init__(self, *, outbox: Outbox, poll_s: float, label: str, task_name: str) -> None:
        self.outbox = outbox
        self.poll_s = poll_s
        self.label = label  # how the log names this loop
        self.task_name = task_name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False

    async def deliver_once(self) -> DeliveryStats:
        """One outbox pass, in a thread (the database calls block)."""
        self._loop = asyncio.get_running_loop()
        return await asyncio.to_thread(self.outbox.deliver_once)

    async def run(self) -> None:
        """Deliver until stopped; a full batch is followed at once by the next one."""
        while not self._stopping:
            try:
                stats = await self.deliver_once()
            except Exception:  # a lost database connection must not end the loop
                log.exception("%s: pass failed; retrying after the poll", self.label)
                stats = DeliveryStats()
            if stats.claimed:
                log.info(
                    "%s: claimed %d, sent %d, retrying %d, failed %d",
                    self.label,
                    stats.claimed,
                    stats.sent,
                    stats.retrying,
                    stats.failed,
                )
            if stats.claimed >= self.outbox.batch:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)
            self._wake.clear()

    def wake(self) -> None:
        """Look for due rows now rather than after the poll interval (from any thread)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def start(self) -> None:
        """Run the loop as a task of the running event loop."""
        self._stopping = False
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()  # made here: an app may be started on a new loop
        self._task = self._loop.create_task(self.run(), name=self.task_name)

    async def stop(self) -> None:
        """Finish the pass under way, then end."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
