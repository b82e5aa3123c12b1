"""The outbox worker process: delivers pending notifications, at least once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from portal.config import Settings
from portal.database import Database
from portal.notifications import service
from portal.notifications.delivery import Outbox, build_senders

log = logging.getLogger(__name__)


def make_pass(
    db: Database, settings: Settings, *, worker: str, stop: threading.Event
) -> Callable[[], bool]:
    """One outbox pass: claim a batch, deliver it; more may be due when the batch was full."""
    senders = build_senders(settings, db=db)
    log.info(
        "outbox: channels %s",
        ", ".join(f"{name}={type(s).__name__}" for name, s in sorted(senders.items())),
    )
    outbox = Outbox.from_settings(db, settings, worker=worker, senders=senders)

    def work() -> bool:
        stats = outbox.deliver_once()
        if stats.claimed:
            with db.session() as session:
                counts = service.counts_by_status(session)
            log.info(
                "outbox: claimed %d, sent %d, retrying %d, failed %d, lease ran out %d; "
                "now pending %d, sending %d, sent %d, failed %d",
                stats.claimed,
                stats.sent,
                stats.retrying,
                stats.failed,
                stats.lost,
                counts.get("pending", 0),
                counts.get("sending", 0),
                counts.get("sent", 0),
                counts.get("failed", 0),
            )
        return stats.claimed >= outbox.batch and not stop.is_set()

    return work
