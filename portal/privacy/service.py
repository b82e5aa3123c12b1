"""A customer's own data: everything we hold about them (export), and erasure.

Erasure anonymises rather than deletes: tickets stay (numbers, types, statuses, products,
networks, engineers, times, ratings' scores) so statements, the settlement ledger and the
analytics still add up, but nothing in them points at the person any more. Personal data goes:
name, phones, addresses (detail and coordinates; the city and district stay for the
accounts), the text of chat transcripts, notes and free-text comments, photos and signatures
(deleted from storage), channel identities (WeChat openid, widget visitor: unbound, so their
next message starts a stranger's chat), one-time codes, queued notifications, and the personal
fields of past audit records. The ledger is not touched.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, false, or_, select, update
from sqlalchemy.orm import Session

from portal.assets.models import Asset
from portal.audit.models import AuditRecord
from portal.audit.service import ACTOR_KEY
from portal.complaints.models import Complaint, ComplaintEvent, RevisitCall
from portal.conversations.models import (
    Conversation,
    ConversationAttachment,
    ConversationEvent,
    ConversationNote,
    Message,
)
from portal.customers.models import (
    ERASED_PREFIX,
    ChannelIdentity,
    CodeAttempt,
    Customer,
    OneTimeCode,
)
from portal.database import utcnow
from portal.errors import Conflict, NotFound
from portal.field.models import WorkRecord
from portal.notifications.models import Notification
from portal.privacy.masking import mask_phones_in
from portal.privacy.models import ErasureRequest
from portal.tickets.models import Ticket, TicketAttachment, TicketComment, TicketEvent
from portal.wechat.models import WeChatDeliveryFailure, WeChatFollower

log = logging.getLogger(__name__)

EXPORT_VERSION = 1
ERASED = "[erased]"
# Keys of audit before/after values, event payloads and ticket details that hold what a
# person said or where they live.
PERSONAL_KEYS = frozenset(
    {
        "name",
        "phone",
        "address",
        "detail",
        "lat",
        "lng",
        "wechat_openid",
        "external_id",
        "sender_id",
        "fault_description",
        "body",
        "text",
        "comment",
        "note",
        "summary",
        "handoff_summary",
        "bind_phone",
        "offered_address",
        "visit_address",
        "signed_by",
        "recipient",
        "preferred_time",
        "image_url",
    }
)


def is_erased(customer: Customer) -> bool:
    """Whether this customer has been anonymised."""
    return customer.is_erased


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _tickets(session: Session, customer_id: int) -> list[Ticket]:
    return list(
        session.scalars(
            select(Ticket).where(Ticket.customer_id == customer_id).order_by(Ticket.id)
        ).all()
    )


def _conversations(session: Session, customer_id: int) -> list[Conversation]:
    return list(
        session.scalars(
            select(Conversation)
            .where(Conversation.customer_id == customer_id)
            .order_by(Conversation.id)
        ).all()
    )


def export_customer(session: Session, *, customer: Customer) -> dict[str, Any]:
    """Everything we hold about the customer, as plain data (what /my lets them download)."""
    tickets = _tickets(session, customer.id)
    ticket_ids = [t.id for t in tickets]
    numbers = {t.id: t.number for t in tickets}
    comments = (
        session.scalars(
            select(TicketComment)
            .where(TicketComment.ticket_id.in_(ticket_ids), TicketComment.internal.is_(False))
            .order_by(TicketComment.id)
        ).all()
        if ticket_ids
        else []
    )
    photos = (
        session.scalars(
            select(TicketAttachment)
            .where(TicketAttachment.ticket_id.in_(ticket_ids))
            .order_by(TicketAttachment.id)
        ).all()
        if ticket_ids
        else []
    )
    conversations = _conversations(session, customer.id)
    conversation_ids = [c.id for c in conversations]
    messages = (
        session.scalars(
            select(Message)
            .where(Message.conversation_id.in_(conversation_ids))
            .order_by(Message.id)
        ).all()
        if conversation_ids
        else []
    )
    chat_files = (
        session.scalars(
            select(ConversationAttachment)
            .where(
                ConversationAttachment.conversation_id.in_(conversation_ids),
                ConversationAttachment.status == "stored",
            )
            .order_by(ConversationAttachment.id)
        ).all()
        if conversation_ids
        else []
    )
    identities = session.scalars(
        select(ChannelIdentity)
        .where(ChannelIdentity.customer_id == customer.id)
        .order_by(ChannelIdentity.id)
    ).all()
    assets = session.scalars(
        select(Asset).where(Asset.customer_id == customer.id).order_by(Asset.id)
    ).all()
    ratings = [
        {
            "ticket": t.number,
            "score": e.payload.get("score"),
            "comment": e.payload.get("comment", ""),
            "at": _iso(e.created_at),
        }
        for t in tickets
        for e in t.events
        if e.action == "evaluate"
    ] + [
        {"conversation": c.public_id, "score": c.csat_score, "comment": "", "at": None}
        for c in conversations
        if c.csat_score is not None
    ]
    by_conversation: dict[int, list[dict[str, Any]]] = {c.id: [] for c in conversations}
    for m in messages:
        by_conversation[m.conversation_id].append(
            {
                "at": _iso(m.created_at),
                "from": m.author,
                "text": m.text,
                "image": bool(m.image_url),
            }
        )
    return {
        "format": "aftersales-personal-data",
        "version": EXPORT_VERSION,
        "exported_at": _iso(utcnow()),
        "profile": {
            "name": customer.name,
            "phone": customer.phone,
            "other_phones": [{"phone": p.phone, "label": p.label} for p in customer.phones],
            "addresses": [
                {"label": a.label, "address": a.full, "default": a.is_default}
                for a in customer.addresses
            ],
            "tier": customer.tier,
            "since": _iso(customer.created_at),
            "linked_accounts": [
                {"channel": i.channel, "bound_at": _iso(i.bound_at)} for i in identities
            ],
        },
        "products": [
            {
                "serial_number": a.serial_number,
                "model": a.model.code,
                "model_name": a.model.name,
                "installed": a.install_date.isoformat() if a.install_date else None,
                "warranty_until": a.warranty_end.isoformat() if a.warranty_end else None,
            }
            for a in assets
        ],
        "tickets": [
            {
                "number": t.number,
                "type": t.type,
                "status": t.status,
                "product": t.product,
                "model_code": t.model_code,
                "serial_number": t.serial_number,
                "fault_description": t.fault_description,
                "phone": t.phone,
                "address": t.address,
                "city": t.city,
                "district": t.district,
                "details": t.details,
                "channel": t.channel,
                "created_at": _iso(t.created_at),
                "history": [
                    {"action": e.action, "status": e.to_status, "at": _iso(e.created_at)}
                    for e in t.events
                ],
                "comments": [
                    {"at": _iso(c.created_at), "text": c.body}
                    for c in comments
                    if c.ticket_id == t.id
                ],
            }
            for t in tickets
        ],
        "conversations": [
            {
                "id": c.public_id,
                "channel": c.channel,
                "started_at": _iso(c.created_at),
                "messages": by_conversation[c.id],
            }
            for c in conversations
        ],
        "photos": [
            {
                "ticket": numbers.get(p.ticket_id, ""),
                "filename": p.filename,
                "content_type": p.content_type,
                "size": p.size,
                "uploaded_at": _iso(p.created_at),
            }
            for p in photos
        ]
        + [
            {
                "conversation": next(
                    (c.public_id for c in conversations if c.id == f.conversation_id), ""
                ),
                "filename": "",
                "content_type": f.content_type,
                "size": f.size,
                "uploaded_at": _iso(f.created_at),
            }
            for f in chat_files
        ],
        "ratings": ratings,
        "complaints": [
            {
                "ticket": numbers.get(c.ticket_id, ""),
                "opened_at": _iso(c.created_at),
                "source": c.source,
                "reason": c.reason,
                "status": c.status,
                "description": c.description,
                "outcome": c.outcome,
                "resolved_at": _iso(c.resolved_at),
            }
            for c in session.scalars(
                select(Complaint).where(Complaint.customer_id == customer.id).order_by(Complaint.id)
            )
        ],
        "revisit_calls": [
            {
                "ticket": numbers.get(r.ticket_id, ""),
                "at": _iso(r.created_at),
                "outcome": r.outcome,
                "score": r.score,
                "comment": r.comment,
            }
            for r in (
                session.scalars(
                    select(RevisitCall)
                    .where(RevisitCall.ticket_id.in_(ticket_ids))
                    .order_by(RevisitCall.id)
                )
                if ticket_ids
                else []
            )
        ],
    }


def open_request(session: Session, *, customer_id: int) -> ErasureRequest | None:
    """The customer's erasure request still waiting for staff, if any."""
    return session.scalars(
        select(ErasureRequest).where(
            ErasureRequest.customer_id == customer_id, ErasureRequest.status == "pending"
        )
    ).first()


def latest_request(session: Session, *, customer_id: int) -> ErasureRequest | None:
    """The customer's most recent erasure request, whatever became of it."""
    return session.scalars(
        select(ErasureRequest)
        .where(ErasureRequest.customer_id == customer_id)
        .order_by(ErasureRequest.id.desc())
    ).first()


def request_erasure(session: Session, *, customer: Customer, now: datetime) -> ErasureRequest:
    """Record that the customer asks to be erased (asking twice keeps the first request)."""
    if is_erased(customer):
        raise Conflict("error.erasure_done")
    existing = open_request(session, customer_id=customer.id)
    if existing is not None:
        return existing
    row = ErasureRequest(customer_id=customer.id, status="pending", source="my", requested_at=now)
    session.add(row)
    session.flush()
    return row


def list_requests(session: Session, *, status: str = "pending") -> list[ErasureRequest]:
    """Erasure requests in one state, oldest first."""
    return list(
        session.scalars(
            select(ErasureRequest)
            .where(ErasureRequest.status == status)
            .order_by(ErasureRequest.requested_at, ErasureRequest.id)
        ).all()
    )


def _pending(session: Session, request_id: int) -> ErasureRequest:
    row = session.get(ErasureRequest, request_id)
    if row is None:
        raise NotFound("object.erasure_request")
    if row.status != "pending":
        raise Conflict("error.erasure_decided")
    return row


def confirm_erasure(
    session: Session, *, request_id: int, actor: str, uploads: Path, now: datetime
) -> Counter[str]:
    """Staff confirm a pending request: the customer is anonymised now."""
    row = _pending(session, request_id)
    customer = session.get_one(Customer, row.customer_id)
    counts = erase_customer(session, customer=customer, uploads=uploads, actor=actor, now=now)
    row.status = "done"
    row.decided_by = actor
    row.decided_at = now
    session.flush()
    return counts


def reject_erasure(
    session: Session, *, request_id: int, actor: str, note: str, now: datetime
) -> ErasureRequest:
    """Staff decline a request (e.g. an open repair or a legal hold), saying why."""
    row = _pending(session, request_id)
    row.status = "rejected"
    row.decided_by = actor
    row.decided_at = now
    row.note = note
    session.flush()
    return row


def _remove_file(uploads: Path, key: str | None) -> bool:
    if not key:
        return False
    path = (uploads / key).resolve()
    # Only ever inside the uploads folder, whatever a stored key says.
    if not path.is_relative_to(uploads.resolve()):
        return False
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def delete_ticket_attachments(
    session: Session, *, attachments: list[TicketAttachment], uploads: Path
) -> int:
    """Delete these photos/signatures from storage and their rows (and work-record links)."""
    if not attachments:
        return 0
    ids = [a.id for a in attachments]
    session.execute(
        update(WorkRecord).where(WorkRecord.signature_id.in_(ids)).values(signature_id=None)
    )
    for record in session.scalars(
        select(WorkRecord).where(WorkRecord.ticket_id.in_({a.ticket_id for a in attachments}))
    ):
        kept = [i for i in record.photo_ids if i not in ids]
        if kept != record.photo_ids:
            record.photo_ids = kept
    for attachment in attachments:
        _remove_file(uploads, attachment.storage_key)
        session.delete(attachment)
    session.flush()
    return len(ids)


def delete_chat_files(
    session: Session, *, files: list[ConversationAttachment], uploads: Path
) -> int:
    """Delete chat photos from storage; the rows stay as 'erased' (messages point at them)."""
    for f in files:
        _remove_file(uploads, f.storage_key)
        f.storage_key = None
        f.status = "failed"
        f.error = "erased"
        f.source_url = ""
        f.media_id = ""
    session.flush()
    return len(files)


def scrub_transcript(session: Session, *, conversation_ids: list[int]) -> int:
    """Blank what was said in these conversations (messages, notes, summaries)."""
    if not conversation_ids:
        return 0
    result = session.execute(
        update(Message)
        .where(
            Message.conversation_id.in_(conversation_ids),
            or_(Message.text != "", Message.image_url.is_not(None)),
        )
        .values(text="", buttons=[], image_url=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(ConversationNote)
        .where(ConversationNote.conversation_id.in_(conversation_ids))
        .values(body="")
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Conversation)
        .where(Conversation.id.in_(conversation_ids))
        .values(handoff_summary="")
        .execution_options(synchronize_session=False)
    )
    for event in session.scalars(
        select(ConversationEvent).where(ConversationEvent.conversation_id.in_(conversation_ids))
    ):
        if PERSONAL_KEYS & event.payload.keys():
            event.payload = _scrubbed(event.payload)
    return _count(result)


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _scrubbed(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (ERASED if k in PERSONAL_KEYS and v not in (None, "") else v) for k, v in values.items()
    }


def _scrub_audit(session: Session, targets: dict[str, set[str]]) -> int:
    changed = 0
    for entity, ids in targets.items():
        if not ids:
            continue
        for record in session.scalars(
            select(AuditRecord).where(
                AuditRecord.entity == entity, AuditRecord.entity_id.in_(sorted(ids))
            )
        ):
            record.before = _scrubbed(record.before) if record.before else record.before
            record.after = _scrubbed(record.after) if record.after else record.after
            changed += 1
    return changed


def erase_customer(
    session: Session, *, customer: Customer, uploads: Path, actor: str, now: datetime
) -> Counter[str]:
    """Anonymise the customer and everything that names them; returns what was done."""
    if is_erased(customer):
        raise Conflict("error.erasure_done")
    # The automatic audit would copy every erased value into its "before" columns: it is
    # paused here, and one record without personal data says what happened instead.
    audit_actor = session.info.pop(ACTOR_KEY, None)
    try:
        counts = _erase(session, customer=customer, uploads=uploads)
        session.add(
            AuditRecord(
                actor=actor,
                action="erase",
                entity="customers",
                entity_id=str(customer.id),
                before=None,
                after={"erased": True, **dict(counts)},
                created_at=now,
            )
        )
        session.flush()
    finally:
        if audit_actor is not None:
            session.info[ACTOR_KEY] = audit_actor
    log.info("privacy: customer %s erased by %s (%s)", customer.id, actor, dict(counts))
    return counts


def _erase(session: Session, *, customer: Customer, uploads: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    phones = [customer.phone, *(p.phone for p in customer.phones)]
    identities = list(
        session.scalars(select(ChannelIdentity).where(ChannelIdentity.customer_id == customer.id))
    )
    openids = {i.external_id for i in identities if i.channel == "wechat"}
    if customer.wechat_openid:
        openids.add(customer.wechat_openid)
    senders = {i.external_id for i in identities}
    tickets = _tickets(session, customer.id)
    ticket_ids = [t.id for t in tickets]
    conversations = _conversations(session, customer.id)
    conversation_ids = [c.id for c in conversations]
    audit_targets: dict[str, set[str]] = {
        "customers": {str(customer.id)},
        "customer_phones": {str(p.id) for p in customer.phones},
        "customer_addresses": {str(a.id) for a in customer.addresses},
        "channel_identities": {str(i.id) for i in identities},
        "tickets": {str(i) for i in ticket_ids},
        "conversations": {str(i) for i in conversation_ids},
    }

    # Photos and signatures, from storage first.
    if ticket_ids:
        attachments = list(
            session.scalars(
                select(TicketAttachment).where(TicketAttachment.ticket_id.in_(ticket_ids))
            )
        )
        counts["photos"] += delete_ticket_attachments(
            session, attachments=attachments, uploads=uploads
        )
        for record in session.scalars(
            select(WorkRecord).where(WorkRecord.ticket_id.in_(ticket_ids))
        ):
            record.signed_by = ""
        comments = list(
            session.scalars(select(TicketComment).where(TicketComment.ticket_id.in_(ticket_ids)))
        )
        audit_targets["ticket_comments"] = {str(c.id) for c in comments}
        for comment in comments:
            comment.body = mask_phones_in(comment.body)
        for event in session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id.in_(ticket_ids))
        ):
            if PERSONAL_KEYS & event.payload.keys():
                event.payload = _scrubbed(event.payload)
    # Queued and sent messages to the customer (codes by SMS, status updates) name them.
    recipients = [*phones, *openids, *senders]
    counts["notifications"] = _count(
        session.execute(
            delete(Notification).where(
                or_(
                    Notification.ticket_id.in_(ticket_ids) if ticket_ids else false(),
                    Notification.recipient.in_(recipients),
                )
            )
        )
    )
    # Complaint cases stay for the accounts (reason, status, dates); what the customer said
    # goes, and what staff wrote keeps no number.
    cases = list(session.scalars(select(Complaint).where(Complaint.customer_id == customer.id)))
    for case in cases:
        case.description = ""
        case.outcome = mask_phones_in(case.outcome)
    if cases:
        for note in session.scalars(
            select(ComplaintEvent).where(ComplaintEvent.complaint_id.in_([c.id for c in cases]))
        ):
            note.note = ""
    counts["complaints"] = len(cases)
    if ticket_ids:
        for call in session.scalars(
            select(RevisitCall).where(RevisitCall.ticket_id.in_(ticket_ids))
        ):
            call.comment = ""
    for ticket in tickets:
        ticket.phone = ""
        ticket.address = ""
        ticket.fault_description = mask_phones_in(ticket.fault_description)
        ticket.details = _scrubbed(ticket.details)
    counts["tickets"] = len(tickets)

    # Transcripts and chat photos; the conversations lose the channel identity they had.
    if conversation_ids:
        files = list(
            session.scalars(
                select(ConversationAttachment).where(
                    ConversationAttachment.conversation_id.in_(conversation_ids)
                )
            )
        )
        counts["photos"] += delete_chat_files(session, files=files, uploads=uploads)
        counts["messages"] += scrub_transcript(session, conversation_ids=conversation_ids)
        for conversation in conversations:
            conversation.sender_id = f"{ERASED_PREFIX}{conversation.id}"
    counts["conversations"] = len(conversations)

    # WeChat: the follower's chat state and failed sends go; so do one-time codes.
    if openids:
        session.execute(
            delete(WeChatDeliveryFailure).where(WeChatDeliveryFailure.openid.in_(openids))
        )
        session.execute(delete(WeChatFollower).where(WeChatFollower.openid.in_(openids)))
    session.execute(delete(OneTimeCode).where(OneTimeCode.phone.in_(phones)))
    session.execute(delete(CodeAttempt).where(CodeAttempt.phone.in_(phones)))
    for identity in identities:
        session.delete(identity)
    counts["identities"] = len(identities)

    for address in customer.addresses:
        address.label = ""
        address.detail = ""
        address.lat = None
        address.lng = None
    for phone in list(customer.phones):
        session.delete(phone)
    customer.name = ""
    customer.phone = f"{ERASED_PREFIX}{customer.id}"
    customer.wechat_openid = None
    session.flush()
    counts["audit_records"] = _scrub_audit(session, audit_targets)
    session.flush()
    return counts
