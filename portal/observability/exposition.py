"""The text `/metrics` answers with: this process's (or every worker's) histograms, plus
gauges and counters read from the database at scrape time."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry
from prometheus_client import generate_latest as _generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from portal.conversations.models import Conversation
from portal.database import Database, utcnow
from portal.notifications.models import Notification
from portal.sla.models import SlaTimer

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Notifications not yet delivered: waiting for a worker, or claimed by one.
UNDELIVERED = ("pending", "sending")


class DatabaseCollector(Collector):
    """Reads the handoff queue, the outbox and the SLA timers at scrape time."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        """The metrics derived from the database; `portal_metrics_database_up` 0 on failure."""
        up = GaugeMetricFamily(
            "portal_metrics_database_up", "1 when the database answered this scrape."
        )
        try:
            metrics = list(self._read())
        except Exception as exc:  # any driver error: report it down, keep the other metrics
            log.warning("metrics: the database did not answer: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from metrics

    def _read(self) -> Iterator[Metric]:
        now = utcnow()
        with self.db.session() as session:
            waiting = session.scalar(
                select(func.count())
                .select_from(Conversation)
                .where(Conversation.state == "waiting")
            )
            outbox = dict(
                session.execute(
                    select(Notification.status, func.count())
                    .where(Notification.status.in_(UNDELIVERED))
                    .group_by(Notification.status)
                ).all()
            )
            oldest: datetime | None = session.scalar(
                select(func.min(Notification.created_at)).where(
                    Notification.status.in_(UNDELIVERED)
                )
            )
            fired = dict(
                session.execute(
                    select(SlaTimer.kind, func.count())
                    .where(SlaTimer.fired_at.is_not(None))
                    .group_by(SlaTimer.kind)
                ).all()
            )
            breached_open = dict(
                session.execute(
                    select(SlaTimer.kind, func.count())
                    .where(SlaTimer.state == "breached")
                    .group_by(SlaTimer.kind)
                ).all()
            )

        queue = GaugeMetricFamily(
            "portal_handoff_queue_depth", "Conversations waiting for a human agent."
        )
        queue.add_metric([], waiting or 0)
        yield queue

        pending = GaugeMetricFamily(
            "portal_outbox_pending",
            "Notifications not yet delivered, by status (pending, sending).",
            labels=["status"],
        )
        for status in UNDELIVERED:
            pending.add_metric([status], outbox.get(status, 0))
        yield pending

        lag = GaugeMetricFamily(
            "portal_outbox_lag_seconds",
            "Age of the oldest notification not yet delivered (0 when none waits).",
        )
        lag.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        yield lag

        breaches = CounterMetricFamily(
            "portal_sla_breaches",
            "SLA deadlines missed so far, by kind (response, arrival, resolution).",
            labels=["kind"],
        )
        open_ = GaugeMetricFamily(
            "portal_sla_breached_open",
            "SLA timers breached and not yet met, by kind.",
            labels=["kind"],
        )
        for kind in ("response", "arrival", "resolution"):
            breaches.add_metric([kind], fired.get(kind, 0))
            open_.add_metric([kind], breached_open.get(kind, 0))
        yield breaches
        yield open_


def render(db: Database, *, multiprocess_dir: str = "") -> bytes:
    """The text exposition of every metric, for one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir:
        MultiProcessCollector(registry, path=multiprocess_dir)
        process_part = b""
    else:
        process_part = _generate_latest(REGISTRY)
    registry.register(DatabaseCollector(db))
    return process_part + _generate_latest(registry)
