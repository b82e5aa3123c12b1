"""The scheduler process: warns, escalates and closes SLA timers as they come due, and
creates preventive-maintenance tickets ahead of time."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable

from portal.config import Settings
from portal.database import Database, utcnow
from portal.maintenance.flows import create_due_tickets
from portal.sla.flows import Scheduler
from portal.sla.service import SlaDefaults

log = logging.getLogger(__name__)

# How far ahead maintenance visits are put on the books.
MAINTENANCE_HORIZON_DAYS = 14


def make_pass(
    db: Database, settings: Settings, *, worker: str, stop: threading.Event
) -> Callable[[], bool]:
    """One scheduler pass: fire every timer due now; log what happened."""
    scheduler = Scheduler(db=db, defaults=SlaDefaults.from_settings(settings), worker=worker)
    totals: Counter[str] = Counter()

    def work() -> bool:
        with db.session() as session:
            planned = create_due_tickets(
                session, now=utcnow(), horizon_days=MAINTENANCE_HORIZON_DAYS
            )
        if planned:
            log.info("scheduler: %d maintenance tickets created ahead of time", len(planned))
        outcomes = scheduler.run_once()
        if outcomes:
            totals.update(outcomes)
            log.info(
                "scheduler: %s (since start: %s)",
                ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
                ", ".join(f"{k} {v}" for k, v in sorted(totals.items())),
            )
        return False  # run_once already drained everything due

    return work
