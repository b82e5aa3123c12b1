"""The scheduler process: warns, escalates and closes SLA timers as they come due,
creates preventive-maintenance tickets ahead of time, gives waiting tickets to engineers of
networks that dispatch automatically, closes complaint cases whose customer never answered
the outcome (COMPLAINT_CONFIRM_HOURS), and purges personal data past its retention period
(portal/privacy/retention.py)."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from portal.complaints.flows import lapse_unconfirmed
from portal.config import Settings
from portal.database import Database, utcnow
from portal.dispatch.flows import auto_dispatch_waiting
from portal.dispatch.scoring import DispatchSettings
from portal.maintenance.flows import create_due_tickets
from portal.privacy.retention import Retention, purge
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
    retention_pass = make_retention_pass(db, settings)
    dispatch_pass = make_dispatch_pass(db, settings)

    def work() -> bool:
        retention_pass(utcnow())
        dispatch_pass(utcnow())
        with db.session() as session:
            planned = create_due_tickets(
                session, now=utcnow(), horizon_days=MAINTENANCE_HORIZON_DAYS
            )
        if planned:
            log.info("scheduler: %d maintenance tickets created ahead of time", len(planned))
        with db.session() as session:
            lapsed = lapse_unconfirmed(session, now=utcnow())
        if lapsed:
            log.info("scheduler: %d complaints closed without the customer's answer", len(lapsed))
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


def make_retention_pass(db: Database, settings: Settings) -> Callable[[datetime], Counter[str]]:
    """The retention purge, run when `now` is at least the purge interval after the last run
    (the first call runs it); returns what it removed (empty when it was not due)."""
    retention = Retention.from_settings(settings)
    interval = timedelta(seconds=settings.retention_purge_interval_s)
    last: list[datetime] = []

    def run(now: datetime) -> Counter[str]:
        if last and now - last[0] < interval:
            return Counter()
        last[:] = [now]
        with db.session() as session:
            removed = purge(
                session,
                retention=retention,
                now=now,
                uploads=settings.uploads_path,
                logs_dir=settings.var_dir / "logs",
            )
        if removed:
            log.info(
                "scheduler: retention purge removed %s",
                ", ".join(f"{k} {v}" for k, v in sorted(removed.items())),
            )
        return removed

    return run


def make_dispatch_pass(
    db: Database, settings: Settings, *, dispatch: DispatchSettings | None = None
) -> Callable[[datetime], int]:
    """Automatic dispatch of the waiting tickets, run when `now` is at least
    AUTO_DISPATCH_INTERVAL_S after the last run (the first call runs it; 0: never); returns
    how many tickets were assigned."""
    interval = timedelta(seconds=settings.auto_dispatch_interval_s)
    knobs = dispatch or DispatchSettings()
    last: list[datetime] = []

    def run(now: datetime) -> int:
        if not settings.auto_dispatch_interval_s or (last and now - last[0] < interval):
            return 0
        last[:] = [now]
        with db.session() as session:
            assigned = auto_dispatch_waiting(session, settings=knobs, now=now)
        if assigned:
            log.info("scheduler: %d waiting tickets dispatched automatically", assigned)
        return assigned

    return run
