"""The outbox worker's work: claim due notifications, deliver each through its channel's
sender, record the outcome (sent, retry later with backoff, or failed for good).

At least once: a claim is a lease; a worker killed mid-delivery leaves "sending" rows whose
lease runs out, and the next worker delivers them again with the same idempotency key.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from portal.config import Settings
from portal.database import Database, utcnow
from portal.notifications import service
from portal.notifications.flows import render
from portal.notifications.robots import DingTalkRobot, WeComRobot
from portal.notifications.senders import (
    DeliveryError,
    LogSender,
    Outgoing,
    Sender,
    SmsGateway,
    Unconfigured,
    WeChatSender,
    parse_templates,
)
from portal.wechat.routes import NotificationRoutes
from portal.wechat.service import build_api

log = logging.getLogger(__name__)


def build_senders(
    settings: Settings, *, db: Database, http: httpx.Client | None = None
) -> dict[str, Sender]:
    """The customer channels' senders for these settings (logging ones in demo mode).

    No widget sender: only the portal process holds the visitors' sockets, so it delivers
    widget rows itself (portal.notifications.widget) and an outbox worker leaves them alone.
    """
    senders: dict[str, Sender] = {}
    client = build_api(settings, db)  # the WeChat channel's client and shared token
    if client is not None:
        url = f"{settings.public_url.rstrip('/')}/" if settings.public_url else ""
        senders["wechat"] = WeChatSender(
            client,
            templates=parse_templates(settings.wechat_templates),
            routes=NotificationRoutes(db, window=timedelta(hours=settings.wechat_service_window_h)),
            url=url,
        )
    else:
        senders["wechat"] = LogSender("wechat") if settings.demo_mode else Unconfigured("wechat")
    if settings.sms_url:
        http = http or httpx.Client(timeout=settings.notify_timeout_s)
        senders["sms"] = SmsGateway(
            url=settings.sms_url,
            key_id=settings.sms_api_key,
            secret=settings.sms_api_secret,
            sign_name=settings.sms_sign_name,
            http=http,
        )
    else:
        senders["sms"] = LogSender("sms") if settings.demo_mode else Unconfigured("sms")
    # Group robots hear of new consults (portal.consults.flows) only when configured.
    if settings.consult_wecom_webhook:
        http = http or httpx.Client(timeout=settings.notify_timeout_s)
        senders["wecom"] = WeComRobot(url=settings.consult_wecom_webhook, http=http)
    if settings.consult_dingtalk_webhook:
        http = http or httpx.Client(timeout=settings.notify_timeout_s)
        senders["dingtalk"] = DingTalkRobot(
            url=settings.consult_dingtalk_webhook,
            secret=settings.consult_dingtalk_secret,
            http=http,
        )
    return senders


@dataclass
class DeliveryStats:
    """What one pass of the outbox worker did."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    lost: int = 0  # claims that expired before they were tried (left for the next pass)
    errors: list[str] = field(default_factory=list)


@dataclass
class Outbox:
    """Claims due notifications, delivers them with their senders, records the outcome."""

    db: Database
    senders: Mapping[str, Sender]
    worker: str
    lease: timedelta = timedelta(seconds=60)
    batch: int = 20
    max_attempts: int = 8
    backoff_s: float = 10.0
    backoff_max_s: float = 3600.0
    # The wall clock claims, retries and marks are dated by; tests pass their own to step
    # through backoffs and leases without waiting for them.
    clock: Callable[[], datetime] = utcnow

    @classmethod
    def from_settings(
        cls, db: Database, settings: Settings, *, worker: str, senders: Mapping[str, Sender]
    ) -> Outbox:
        """An outbox worker configured from the settings."""
        return cls(
            db=db,
            senders=senders,
            worker=worker,
            lease=timedelta(seconds=settings.outbox_lease_s),
            batch=settings.outbox_batch,
            max_attempts=settings.outbox_max_attempts,
            backoff_s=settings.outbox_backoff_s,
            backoff_max_s=settings.outbox_backoff_max_s,
        )

    def claim(self) -> list[Outgoing]:
        """Take a batch in its own short transaction; the claims are committed on return."""
        with self.db.session() as session:
            rows = service.claim(
                session,
                channels=set(self.senders),
                worker=self.worker,
                now=self.clock(),
                lease=self.lease,
                limit=self.batch,
            )
            return [
                Outgoing(
                    id=n.id,
                    key=n.idempotency_key,
                    channel=n.channel,
                    recipient=n.recipient,
                    template=n.template,
                    text=zh,
                    text_en=en,
                    payload=dict(n.payload),
                    created_at=n.created_at,
                    attempts=n.attempts,
                )
                for n in rows
                for zh, en in [render(n.template, n.payload)]
            ]

    def deliver_once(self) -> DeliveryStats:
        """One pass: claim a batch and try each notification once."""
        stats = DeliveryStats()
        batch = self.claim()
        stats.claimed = len(batch)
        # Monotonic, so a clock step cannot make us send on a claim that has run out.
        expires = time.monotonic() + self.lease.total_seconds()
        for message in batch:
            if time.monotonic() >= expires:
                stats.lost += 1  # another worker may hold it now; it is retried, not lost
                continue
            self._deliver(message, stats)
        return stats

    def _deliver(self, message: Outgoing, stats: DeliveryStats) -> None:
        sender = self.senders[message.channel]
        try:
            sender.send(message)
        except DeliveryError as exc:
            error, retry = str(exc), exc.retry
        except Exception as exc:  # a sender bug must not stop the other deliveries
            log.exception("sender %s failed on notification %s", message.channel, message.id)
            error, retry = f"{type(exc).__name__}: {exc}", True
        else:
            with self.db.session() as session:
                service.mark_sent(session, notification_id=message.id, now=self.clock())
            stats.sent += 1
            return
        give_up = not retry or message.attempts >= self.max_attempts
        retry_at = None
        if not give_up:
            wait = service.backoff(
                message.attempts, base_s=self.backoff_s, max_s=self.backoff_max_s
            )
            retry_at = self.clock() + wait
        with self.db.session() as session:
            service.mark_attempt_failed(
                session,
                notification_id=message.id,
                worker=self.worker,
                error=error,
                retry_at=retry_at,
            )
        stats.errors.append(f"{message.id}: {error}")
        if give_up:
            stats.failed += 1
            log.warning("notification %s failed for good: %s", message.id, error)
        else:
            stats.retrying += 1
            log.info("notification %s attempt %s failed: %s", message.id, message.attempts, error)
