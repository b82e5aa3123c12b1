"""Reads and writes of tickets: numbering, idempotent creation, listing."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.customers.service import find_or_create_by_phone
from portal.database import utcnow
from portal.errors import Conflict, NotFound
from portal.tickets import lifecycle
from portal.tickets.models import IdempotencyRecord, Ticket, TicketSequence
from portal.tickets.schemas import TicketCreate

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
    session: Session, *, data: TicketCreate, actor: str, idempotency_key: str | None = None
) -> tuple[Ticket, bool]:
    """Open a ticket; with a key already used for the same body, return that ticket instead.

    Returns the ticket and whether it was newly created.
    """
    digest = request_hash(data)
    if idempotency_key:
        existing = _replay(session, key=idempotency_key, digest=digest)
        if existing is not None:
            return existing, False
    try:
        with session.begin_nested():
            ticket = _insert_ticket(session, data=data, actor=actor)
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


def _insert_ticket(session: Session, *, data: TicketCreate, actor: str) -> Ticket:
    now = utcnow()
    customer = find_or_create_by_phone(session, phone=data.phone, name=data.customer_name)
    ticket = Ticket(
        number=next_number(session, now=now),
        type=data.type,
        status=lifecycle.INITIAL_STATUS,
        urgency=data.urgency,
        customer_id=customer.id,
        product=data.product,
        fault_description=data.fault_description,
        phone=data.phone,
        address=data.address,
        channel=data.channel,
        conversation_id=data.conversation_id,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    session.flush()
    lifecycle.record_creation(
        session, ticket=ticket, actor=actor, payload={"channel": data.channel}
    )
    session.flush()
    return ticket


def get_ticket(session: Session, *, ref: str) -> Ticket:
    """A ticket by number (SR…) or numeric id."""
    stmt = select(Ticket)
    stmt = stmt.where(Ticket.id == int(ref)) if ref.isdigit() else stmt.where(Ticket.number == ref)
    ticket = session.scalars(stmt).first()
    if ticket is None:
        raise NotFound("object.ticket")
    return ticket


def list_tickets(
    session: Session,
    *,
    status: str | None = None,
    phone: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> tuple[list[Ticket], int]:
    """Tickets, newest first, filtered; with the total count."""
    stmt = select(Ticket)
    if status:
        stmt = stmt.where(Ticket.status == status)
    if phone:
        stmt = stmt.where(Ticket.phone == phone)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return list(rows), total
