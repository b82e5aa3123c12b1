"""Reads and writes of tickets: numbering, idempotent creation, listing."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.assets.models import Asset
from portal.customers.models import Customer
from portal.customers.service import find_or_create_by_phone
from portal.database import utcnow
from portal.dispatch import policies as dispatch_policies
from portal.dispatch.parts import PartsPlanner
from portal.errors import Conflict, Invalid, NotFound, TooManyRequests
from portal.networks.models import Engineer, ServiceNetwork
from portal.places.service import normalise
from portal.security import Principal
from portal.tickets import lifecycle, policies, templates
from portal.tickets.models import (
    IdempotencyRecord,
    Ticket,
    TicketAttachment,
    TicketComment,
    TicketEvent,
    TicketSequence,
)
from portal.tickets.schemas import TicketCreate, TicketUpdate, TransitionRequest

# Ticket numbers follow the calendar day customers and staff live in.
NUMBER_ZONE = ZoneInfo("Asia/Shanghai")


def next_number(session: Session, *, now: datetime) -> str:
    """The next human-friendly number of the day, e.g. SR20261123-0007, safe under concurrency."""
    day = now.astimezone(NUMBER_ZONE).strftime("%Y%m%d")
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(TicketSequence)
        .values(day=day, last=1)
        .on_conflict_do_update(
            index_elements=[TicketSequence.day], set_={"last": TicketSequence.last + 1}
        )
        .returning(TicketSequence.last)
    )
    seq = session.execute(stmt).scalar_one()
    return f"SR{day}-{seq:04d}"


# Check codes: six random digits, typed on a phone keypad; wrong guesses lock the code.
CHECK_CODE_MAX_FAILURES = 5
CHECK_CODE_LOCK = timedelta(hours=1)


def new_check_code() -> str:
    """A fresh check code: random, so it cannot be worked out from the ticket number."""
    return f"{secrets.randbelow(10**6):06d}"


def check_code_matches(
    session: Session, *, ticket: Ticket, code: str, at: datetime | None = None
) -> bool:
    """Whether `code` is the ticket's check code; each miss counts, and after
    CHECK_CODE_MAX_FAILURES misses the code is refused (even when right) for CHECK_CODE_LOCK.
    TooManyRequests while locked. The caller must commit a miss (answer, do not raise)."""
    now = at or utcnow()
    if ticket.check_locked_until is not None and ticket.check_locked_until > now:
        wait = int((ticket.check_locked_until - now).total_seconds()) + 1
        raise TooManyRequests("error.check_code_locked", retry_after=wait, minutes=wait // 60 + 1)
    if ticket.check_code and hmac.compare_digest(ticket.check_code, code.strip()):
        ticket.check_failures = 0
        ticket.check_locked_until = None
        return True
    ticket.check_failures += 1
    if ticket.check_failures >= CHECK_CODE_MAX_FAILURES:
        ticket.check_failures = 0
        ticket.check_locked_until = now + CHECK_CODE_LOCK
    session.flush()
    return False


def request_hash(data: TicketCreate) -> str:
    """A stable fingerprint of a creation request's body."""
    canonical = json.dumps(data.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(session: Session, *, key: str, digest: str) -> Ticket | None:
    record = session.get(IdempotencyRecord, key)
    if record is None:
        return None
    if record.request_hash != digest:
        raise Conflict("error.idempotency_conflict")
    return session.get_one(Ticket, record.ticket_id)


def create_ticket(
    session: Session,
    *,
    data: TicketCreate,
    actor: str,
    idempotency_key: str | None = None,
    at: datetime | None = None,
    customer: Customer | None = None,
) -> tuple[Ticket, bool]:
    """Open a ticket; with a key already used for the same body, return that ticket instead.

    `customer` is the caller when a customer files for themselves. Returns the ticket and
    whether it was newly created.
    """
    templates.check(data.model_dump(), type_=data.type, stage="create")
    digest = request_hash(data)
    if idempotency_key:
        existing = _replay(session, key=idempotency_key, digest=digest)
        if existing is not None:
            return existing, False
    try:
        with session.begin_nested():
            ticket = _insert_ticket(session, data=data, actor=actor, at=at, customer=customer)
            if idempotency_key:
                session.add(
                    IdempotencyRecord(key=idempotency_key, request_hash=digest, ticket_id=ticket.id)
                )
                session.flush()
    except IntegrityError:
        # Another request with the same key won the race: answer with what it made.
        if not idempotency_key:
            raise
        existing = _replay(session, key=idempotency_key, digest=digest)
        if existing is None:
            raise
        return existing, False
    return ticket, True


def _insert_ticket(
    session: Session,
    *,
    data: TicketCreate,
    actor: str,
    at: datetime | None,
    customer: Customer | None,
) -> Ticket:
    now = at or utcnow()
    if customer is None:
        customer = find_or_create_by_phone(session, phone=data.phone, name=data.customer_name)
    asset = None
    if data.serial_number:
        asset = session.scalars(
            select(Asset).where(
                Asset.serial_number == data.serial_number, Asset.customer_id == customer.id
            )
        ).first()
    ticket = Ticket(
        number=next_number(session, now=now),
        check_code=new_check_code(),
        type=data.type,
        status=lifecycle.INITIAL_STATUS,
        urgency=data.urgency,
        customer_id=customer.id,
        product=data.product or (asset.model.product.category if asset else ""),
        model_code=data.model_code or (asset.model.code if asset else ""),
        serial_number=data.serial_number,
        asset_id=asset.id if asset else None,
        fault_description=data.fault_description,
        phone=data.phone,
        address=data.address,
        city=data.city,
        district=data.district,
        details={
            k: v
            for k, v in (
                ("fault_started", data.fault_started),
                ("preferred_time", data.preferred_time),
            )
            if v
        },
        channel=data.channel,
        conversation_id=data.conversation_id,
        created_at=now,
        updated_at=now,
    )
    place_ticket(ticket)
    session.add(ticket)
    session.flush()
    lifecycle.record_creation(
        session, ticket=ticket, actor=actor, payload={"channel": data.channel}
    )
    session.flush()
    return ticket


def visible(stmt: Select[Any], principal: Principal) -> Select[Any]:
    """Narrow a ticket query to what the caller may see (the `tickets.read` policy)."""
    return policies.visible_to(stmt, policies.READ.scope(principal))


def get_ticket(session: Session, *, ref: str, principal: Principal | None = None) -> Ticket:
    """A ticket by number (SR…) or numeric id; 404 also when the caller may not see it."""
    stmt = select(Ticket)
    # isascii: "²" is a digit to str.isdigit() but not a number to int(); ids past the int4
    # column cannot exist, and PostgreSQL refuses to compare them (a 500, not a 404).
    if ref.isascii() and ref.isdigit() and len(ref) <= 10 and int(ref) <= 2**31 - 1:
        stmt = stmt.where(Ticket.id == int(ref))
    else:
        stmt = stmt.where(Ticket.number == ref)
    if principal is not None:
        stmt = visible(stmt, principal)
    ticket = session.scalars(stmt).first()
    if ticket is None:
        raise NotFound("object.ticket")
    return ticket


SORTS = {
    "created_at": Ticket.created_at,
    "updated_at": Ticket.updated_at,
    "number": Ticket.number,
    "status": Ticket.status,
}

# The ticket types an engineer visits for.
FIELD_TYPES = ("installation", "repair", "maintenance")


def waiting_for_engineer() -> ColumnElement[bool]:
    """The one definition of "to dispatch" (the ticket list's view, dispatch's queue): field
    service, accepted and unassigned, or handed to a network that has not named its engineer."""
    return (
        Ticket.type.in_(FIELD_TYPES)
        & Ticket.engineer_id.is_(None)
        & Ticket.status.in_(("accepted", "dispatched"))
    )


# Saved views on the ticket list: name -> statuses (and an age rule for "overdue"; "to
# dispatch" is `waiting_for_engineer`).
VIEWS: dict[str, tuple[str, ...]] = {
    "pending": ("new", "accepted"),
    "to_dispatch": ("accepted", "dispatched"),
    "in_service": ("dispatched", "engineer_accepted", "departed", "arrived", "waiting_parts"),
    "waiting_parts": ("waiting_parts",),
    "overdue": tuple(lifecycle.OPEN),
    "to_evaluate": ("completed",),
    "to_settle": ("evaluated", "pending_settlement"),
}
OVERDUE_AFTER = timedelta(hours=24)


def list_tickets(
    session: Session,
    *,
    principal: Principal | None = None,
    status: list[str] | None = None,
    view: str | None = None,
    type_: str | None = None,
    phone: str | None = None,
    q: str | None = None,
    network_id: int | None = None,
    engineer_id: int | None = None,
    customer_id: int | None = None,
    escalated: bool | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    sort: str = "-created_at",
    page: int = 1,
    page_size: int = 20,
) -> tuple[list[Ticket], int]:
    """Tickets the caller may see, filtered and sorted; with the total count."""
    stmt = select(Ticket)
    if principal is not None:
        stmt = visible(stmt, principal)
    if view in VIEWS:
        stmt = stmt.where(Ticket.status.in_(VIEWS[view]))
        if view == "overdue":
            stmt = stmt.where(Ticket.created_at < utcnow() - OVERDUE_AFTER)
        if view == "to_dispatch":
            stmt = stmt.where(waiting_for_engineer())
    if status:
        stmt = stmt.where(Ticket.status.in_(status))
    if type_:
        stmt = stmt.where(Ticket.type == type_)
    if phone:
        stmt = stmt.where(Ticket.phone == phone)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(
            or_(Ticket.number.like(like), Ticket.phone.like(like), Ticket.product.like(like))
        )
    if network_id is not None:
        stmt = stmt.where(Ticket.network_id == network_id)
    if engineer_id is not None:
        stmt = stmt.where(Ticket.engineer_id == engineer_id)
    if customer_id is not None:
        stmt = stmt.where(Ticket.customer_id == customer_id)
    if escalated is not None:
        stmt = stmt.where(Ticket.escalated.is_(escalated))
    if created_from is not None:
        stmt = stmt.where(Ticket.created_at >= created_from)
    if created_to is not None:
        stmt = stmt.where(Ticket.created_at < created_to)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    column = SORTS.get(sort.lstrip("-"), Ticket.created_at)
    order = column.desc() if sort.startswith("-") else column.asc()
    rows = session.scalars(
        stmt.order_by(order, Ticket.id.desc()).offset((page - 1) * page_size).limit(page_size)
    ).all()
    return list(rows), total


def update_ticket(session: Session, *, ticket: Ticket, data: TicketUpdate) -> Ticket:
    """Correct or complete intake fields (not once the work is done)."""
    if ticket.status in lifecycle.TERMINAL or ticket.status in {"completed", "evaluated"}:
        raise lifecycle.conflict(ticket, "update")
    changes = data.model_dump(exclude_unset=True)
    details = dict(ticket.details)
    for key, value in changes.items():
        if value is None:
            continue
        if key in ("fault_started", "preferred_time"):
            details[key] = value
        else:
            setattr(ticket, key, value)
    ticket.details = details
    if changes.keys() & {"address", "city", "district"}:
        place_ticket(ticket)
    ticket.updated_at = utcnow()
    session.flush()
    return ticket


def place_ticket(ticket: Ticket) -> None:
    """Record the ticket's address in official names (what dispatch compares with coverage);
    a blank city or district is filled from the free-text address."""
    # The address is read only for what the fields leave blank: reading one takes jionlp
    # ~10 ms, while city and district names are looked up once each.
    address = "" if ticket.city and ticket.district else ticket.address
    place = normalise(city=ticket.city, district=ticket.district, address=address)
    ticket.place_province = place.province[:32]
    ticket.place_city = place.city[:32]
    ticket.place_district = place.district[:32]
    ticket.city = ticket.city or ticket.place_city
    ticket.district = ticket.district or ticket.place_district


def ticket_values(ticket: Ticket) -> dict[str, Any]:
    """The ticket's intake fields as the templates name them."""
    return {
        "product": ticket.product,
        "model_code": ticket.model_code,
        "serial_number": ticket.serial_number,
        "fault_description": ticket.fault_description,
        "phone": ticket.phone,
        "address": ticket.address,
        "urgency": ticket.urgency,
        **ticket.details,
    }


def _assignee(
    session: Session, *, req: TransitionRequest, principal: Principal
) -> tuple[int | None, int | None]:
    engineer = session.get(Engineer, req.engineer_id) if req.engineer_id else None
    if req.engineer_id and engineer is None:
        raise Invalid("error.unknown_engineer", field="engineer_id")
    network_id = engineer.network_id if engineer else req.network_id
    if network_id is None:
        raise Invalid("validation.missing", field="engineer_id")
    if session.get(ServiceNetwork, network_id) is None:
        raise Invalid("error.unknown_network", field="network_id")
    if dispatch_policies.outside_network(principal, network_id):
        raise Invalid("error.other_network", field="network_id")
    return network_id, engineer.id if engineer else None


def _completed_at(ticket: Ticket) -> datetime | None:
    done = [e.created_at for e in ticket.events if e.action == "complete"]
    return done[-1] if done else None


def transition(
    session: Session,
    *,
    ticket: Ticket,
    req: TransitionRequest,
    principal: Principal,
    reopen_window: timedelta,
    payload: dict[str, Any] | None = None,
    at: datetime | None = None,
    planner: PartsPlanner | None = None,
) -> TicketEvent:
    """Take one lifecycle action with the checks the request needs; `payload` adds what the
    caller records on the event (the field app's position, work record). Its consequences
    are the lifecycle's subscribers' (`planner`: the parts planner they use, when the caller
    has its own)."""
    action = req.action
    if action not in lifecycle.TRANSITIONS:
        raise Invalid("error.unknown_action", field="action", action=action)
    payload = dict(payload or {})
    if req.reason:
        payload["reason"] = req.reason
    if action in ("reassign", "engineer_reject") and not req.reason:
        raise Invalid("validation.missing", field="reason")
    if action == "accept" and ticket.status in lifecycle.TRANSITIONS["accept"].sources:
        gaps = templates.missing(ticket_values(ticket), templates.TEMPLATES[ticket.type].to_accept)
        if gaps:
            templates.check(ticket_values(ticket), type_=ticket.type, stage="accept")
    if action == "evaluate":
        if req.score is None:
            raise Invalid("validation.missing", field="score")
        payload.update(score=req.score, comment=req.comment)
    if action == "reopen":
        done = _completed_at(ticket)
        if done is not None and utcnow() - done > reopen_window:
            raise Invalid("error.reopen_window", field="action", days=reopen_window.days)
    assign = action in ("dispatch", "reassign")
    if assign:
        network_id, engineer_id = _assignee(session, req=req, principal=principal)
        payload.update(network_id=network_id, engineer_id=engineer_id)
    # The lifecycle sets the assignee with the event and tells every subscriber (SLA timers,
    # parts, settlement, notifications) before it returns.
    return lifecycle.apply(
        session,
        ticket=ticket,
        action=action,
        actor=principal.actor,
        role=principal.role,
        payload=payload,
        at=at,
        planner=planner,
    )


def add_comment(
    session: Session, *, ticket: Ticket, body: str, internal: bool, principal: Principal
) -> TicketComment:
    """A note on the ticket; customers can only write ones they see themselves."""
    comment = TicketComment(
        ticket_id=ticket.id,
        author=principal.actor,
        body=body,
        internal=internal and principal.kind != "customer",
        created_at=utcnow(),
    )
    session.add(comment)
    session.flush()
    return comment


def list_comments(session: Session, *, ticket: Ticket, principal: Principal) -> list[TicketComment]:
    """The ticket's notes; internal ones only for staff."""
    stmt = select(TicketComment).where(TicketComment.ticket_id == ticket.id)
    if principal.kind == "customer":
        stmt = stmt.where(TicketComment.internal.is_(False))
    return list(session.scalars(stmt.order_by(TicketComment.id)).all())


# What we accept, recognised by the file's first bytes rather than its name or header.
SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"GIF87a", "image/gif", ".gif"),
    (b"GIF89a", "image/gif", ".gif"),
    (b"%PDF-", "application/pdf", ".pdf"),
)


def sniff(data: bytes) -> tuple[str, str] | None:
    """The content type and extension of an accepted file, or None."""
    for magic, content_type, ext in SIGNATURES:
        if data.startswith(magic):
            return content_type, ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return None


def save_attachment(
    session: Session,
    *,
    ticket: Ticket,
    filename: str,
    data: bytes,
    principal: Principal,
    root: Path,
    max_bytes: int,
    sniffer: Callable[[bytes], tuple[str, str] | None] = sniff,
) -> TicketAttachment:
    """Check size and type, store the file on disk, record it on the ticket. `sniffer`
    names the accepted kinds (a consult's video clip is one the ticket form does not take)."""
    if not data:
        raise Invalid("error.file_empty", field="file")
    if len(data) > max_bytes:
        raise Invalid("error.file_too_large", field="file", mb=max_bytes // (1024 * 1024))
    kind = sniffer(data)
    if kind is None:
        raise Invalid("error.file_type", field="file")
    content_type, ext = kind
    now = utcnow()
    key = f"{now:%Y/%m}/{uuid.uuid4().hex}{ext}"
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(ext + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    attachment = TicketAttachment(
        ticket_id=ticket.id,
        uploaded_by=principal.actor,
        filename=Path(filename or "upload").name[:255],
        content_type=content_type,
        size=len(data),
        storage_key=key,
        sha256=hashlib.sha256(data).hexdigest(),
        created_at=now,
    )
    session.add(attachment)
    session.flush()
    return attachment


def get_attachment(session: Session, *, ticket: Ticket, attachment_id: int) -> TicketAttachment:
    """An attachment of this ticket."""
    attachment = session.get(TicketAttachment, attachment_id)
    if attachment is None or attachment.ticket_id != ticket.id:
        raise NotFound("object.attachment")
    return attachment


def list_attachments(session: Session, *, ticket: Ticket) -> list[TicketAttachment]:
    """The ticket's attachments, oldest first."""
    return list(
        session.scalars(
            select(TicketAttachment)
            .where(TicketAttachment.ticket_id == ticket.id)
            .order_by(TicketAttachment.id)
        ).all()
    )


# Marker events that are internal matters, not news for the customer.
HIDDEN_FROM_CUSTOMER = frozenset({"escalate", "request_settlement", "settle", "close"})


def timeline(ticket: Ticket) -> list[TicketEvent]:
    """The events a customer is shown, oldest first."""
    return [e for e in ticket.events if e.action not in HIDDEN_FROM_CUSTOMER]
