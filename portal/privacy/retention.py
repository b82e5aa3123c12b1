"""How long each kind of personal data is kept, and the purge the scheduler runs.

Every period is a setting (`RETENTION_*`, in days or hours; 0 keeps that kind forever). One
`purge` pass removes what has outlived its period and returns how much of each kind went; it
takes `now` so tests move the clock instead of waiting.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from portal.accounts.models import LoginAttempt
from portal.config import Settings
from portal.conversations.models import Conversation, ConversationAttachment
from portal.customers.models import ERASED_PREFIX, CodeAttempt, Customer, OneTimeCode
from portal.dispatch.models import EngineerPosition
from portal.notifications.models import Notification
from portal.privacy import service
from portal.privacy.models import ErasureRequest
from portal.tickets import lifecycle
from portal.tickets.models import Ticket, TicketAttachment
from portal.wechat.models import WeChatDeliveryFailure, WeChatFollower

log = logging.getLogger(__name__)

RETENTION_ACTOR = "system:retention"
# Closed customers anonymised per pass: a first run on an old database catches up over a few
# passes instead of holding one long transaction.
CUSTOMERS_PER_PASS = 200


@dataclass(frozen=True, slots=True)
class Retention:
    """The periods, from the settings; None keeps that kind of data forever."""

    transcripts: timedelta | None
    photos: timedelta | None
    one_time_codes: timedelta | None
    login_attempts: timedelta | None
    wechat_followers: timedelta | None
    logs: timedelta | None
    closed_customers: timedelta | None
    notifications: timedelta | None = None
    positions: timedelta | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Retention:
        """The periods the settings give."""

        def days(n: int) -> timedelta | None:
            return timedelta(days=n) if n > 0 else None

        return cls(
            transcripts=days(settings.retention_transcript_days),
            photos=days(settings.retention_photo_days),
            one_time_codes=(
                timedelta(hours=settings.retention_otp_hours)
                if settings.retention_otp_hours > 0
                else None
            ),
            login_attempts=days(settings.retention_login_attempt_days),
            wechat_followers=days(settings.retention_wechat_follower_days),
            logs=days(settings.retention_log_days),
            closed_customers=days(settings.retention_closed_customer_days),
            notifications=days(settings.retention_notification_days),
            positions=days(settings.retention_position_days),
        )


def _rows(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def purge(
    session: Session,
    *,
    retention: Retention,
    now: datetime,
    uploads: Path,
    logs_dir: Path | None = None,
) -> Counter[str]:
    """Remove every kind of personal data older than its period; returns counts per kind."""
    done: Counter[str] = Counter()
    if retention.one_time_codes:
        cutoff = now - retention.one_time_codes
        done["one_time_codes"] = _rows(
            session.execute(delete(OneTimeCode).where(OneTimeCode.created_at < cutoff))
        )
        done["code_attempts"] = _rows(
            session.execute(delete(CodeAttempt).where(CodeAttempt.created_at < cutoff))
        )
    if retention.login_attempts:
        cutoff = now - retention.login_attempts
        done["login_attempts"] = _rows(
            session.execute(delete(LoginAttempt).where(LoginAttempt.created_at < cutoff))
        )
    if retention.wechat_followers:
        done.update(_purge_followers(session, cutoff=now - retention.wechat_followers))
    if retention.transcripts:
        old = list(
            session.scalars(
                select(Conversation.id).where(
                    Conversation.last_message_at < now - retention.transcripts
                )
            )
        )
        done["transcript_messages"] = service.scrub_transcript(session, conversation_ids=old)
    if retention.photos:
        done["photos"] = _purge_photos(session, cutoff=now - retention.photos, uploads=uploads)
    if retention.closed_customers:
        done["closed_customers"] = _purge_closed_customers(
            session, cutoff=now - retention.closed_customers, now=now, uploads=uploads
        )
    if retention.notifications:
        done["notifications"] = _rows(
            session.execute(
                delete(Notification).where(
                    Notification.status.in_(("sent", "failed")),
                    Notification.created_at < now - retention.notifications,
                )
            )
        )
    if retention.positions:
        done["engineer_positions"] = _rows(
            session.execute(
                delete(EngineerPosition).where(
                    EngineerPosition.reported_at < now - retention.positions
                )
            )
        )
    if retention.logs and logs_dir is not None:
        done["log_files"] = _purge_logs(logs_dir, cutoff=now - retention.logs)
    session.flush()
    return Counter({k: v for k, v in done.items() if v})


def _purge_followers(session: Session, *, cutoff: datetime) -> Counter[str]:
    done: Counter[str] = Counter()
    done["wechat_followers"] = _rows(
        session.execute(
            delete(WeChatFollower).where(
                WeChatFollower.subscribed.is_(False),
                or_(
                    WeChatFollower.unsubscribed_at < cutoff,
                    WeChatFollower.unsubscribed_at.is_(None) & (WeChatFollower.created_at < cutoff),
                ),
            )
        )
    )
    # Followers who stay: the short-lived chat state (a binding half done, a location offered)
    # of those not heard from within the period goes.
    done["wechat_follower_state"] = _rows(
        session.execute(
            update(WeChatFollower)
            .where(
                or_(
                    WeChatFollower.last_contact_at < cutoff,
                    WeChatFollower.last_contact_at.is_(None),
                ),
                WeChatFollower.created_at < cutoff,
                or_(
                    WeChatFollower.bind_phone != "",
                    WeChatFollower.offered_address != "",
                    WeChatFollower.visit_address != "",
                ),
            )
            .values(
                bind_state="",
                bind_phone="",
                bind_started_at=None,
                offered_address="",
                offered_lat=None,
                offered_lng=None,
                offered_at=None,
                visit_address="",
                visit_lat=None,
                visit_lng=None,
            )
        )
    )
    done["wechat_delivery_failures"] = _rows(
        session.execute(
            delete(WeChatDeliveryFailure).where(WeChatDeliveryFailure.created_at < cutoff)
        )
    )
    return done


def _purge_photos(session: Session, *, cutoff: datetime, uploads: Path) -> int:
    # Ticket photos and signatures once the ticket is over (closed or cancelled) for the period.
    attachments = list(
        session.scalars(
            select(TicketAttachment)
            .join(Ticket, Ticket.id == TicketAttachment.ticket_id)
            .where(Ticket.status.in_(lifecycle.TERMINAL), Ticket.updated_at < cutoff)
        )
    )
    count = service.delete_ticket_attachments(session, attachments=attachments, uploads=uploads)
    # Photos sent in chat, once the chat has been quiet for the period.
    files = list(
        session.scalars(
            select(ConversationAttachment)
            .join(Conversation, Conversation.id == ConversationAttachment.conversation_id)
            .where(
                ConversationAttachment.storage_key.is_not(None),
                Conversation.last_message_at < cutoff,
            )
        )
    )
    return count + service.delete_chat_files(session, files=files, uploads=uploads)


def _purge_closed_customers(
    session: Session, *, cutoff: datetime, now: datetime, uploads: Path
) -> int:
    """Anonymise customers with nothing open whose last contact is older than the period."""
    open_ticket = select(Ticket.id).where(
        Ticket.customer_id == Customer.id,
        or_(Ticket.status.not_in(lifecycle.TERMINAL), Ticket.updated_at >= cutoff),
    )
    recent_chat = select(Conversation.id).where(
        Conversation.customer_id == Customer.id, Conversation.last_message_at >= cutoff
    )
    pending = select(ErasureRequest.id).where(
        ErasureRequest.customer_id == Customer.id, ErasureRequest.status == "pending"
    )
    candidates = list(
        session.scalars(
            select(Customer)
            .where(
                Customer.created_at < cutoff,
                func.substr(Customer.phone, 1, len(ERASED_PREFIX)) != ERASED_PREFIX,
                ~open_ticket.exists(),
                ~recent_chat.exists(),
                ~pending.exists(),
            )
            .order_by(Customer.id)
            .limit(CUSTOMERS_PER_PASS)
        )
    )
    for customer in candidates:
        service.erase_customer(
            session, customer=customer, uploads=uploads, actor=RETENTION_ACTOR, now=now
        )
        session.add(
            ErasureRequest(
                customer_id=customer.id,
                status="done",
                source="retention",
                requested_at=now,
                decided_by=RETENTION_ACTOR,
                decided_at=now,
            )
        )
    session.flush()
    return len(candidates)


def _purge_logs(logs_dir: Path, *, cutoff: datetime) -> int:
    """Log files not written to within the period (a file still being written is kept)."""
    if not logs_dir.is_dir():
        return 0
    removed = 0
    limit = cutoff.timestamp()
    for path in logs_dir.iterdir():
        if not path.is_file() or ".log" not in path.name:
            continue
        if os.stat(path).st_mtime < limit:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
