"""A poll loop that stops cleanly on SIGTERM or SIGINT, between two passes."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from types import FrameType

log = logging.getLogger(__name__)


def worker_name(kind: str) -> str:
    """A name unique to this process, recorded on the rows it claims."""
    return f"{kind}@{socket.gethostname()}:{os.getpid()}"


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: the current pass finishes, no new one starts."""
    stop = threading.Event()

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s; stopping after the current pass", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop


def run(
    name: str,
    work: Callable[[], bool],
    *,
    poll_s: float,
    once: bool,
    stop: threading.Event,
) -> int:
    """Call `work` until stopped; it returns whether there may be more to do right away
    (then it is called again without waiting). With `once`, stop when nothing is left."""
    log.info("%s started (poll every %.1fs)", name, poll_s)
    passes = 0
    while not stop.is_set():
        try:
            more = work()
        except Exception:  # a lost database connection must not end the worker
            log.exception("%s: pass failed; retrying after the poll interval", name)
            more = False
        passes += 1
        if more:
            continue
        if once:
            break
        stop.wait(poll_s)
    log.info("%s stopped after %d passes", name, passes)
    return 0
