"""Reads and writes of the field app: the engineer behind a login, their open jobs, the van
stock they can fit from, and the work record of a visit (text, parts, photos, signature)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.database import utcnow
from portal.errors import Conflict, Forbidden, Invalid
from portal.field import policies
from portal.field.models import WorkRecord
from portal.field.schemas import PartUsed, WorkRecordIn
from portal.networks.models import Engineer
from portal.parts import flows as part_flows
from portal.parts import service as parts
from portal.parts.models import StockLocation
from portal.security import Principal
from portal.tickets import service as tickets
from portal.tickets.models import Ticket, TicketAttachment, TicketEvent

# An engineer's jobs that still need them: listed on the app's front page.
OPEN_FOR_ENGINEER = ("dispatched", "engineer_accepted", "departed", "arrived", "waiting_parts")
ON_SITE = "arrived"


def engineer_of(session: Session, *, principal: Principal) -> Engineer:
    """The engineer behind a login, or 403 for anyone else."""
    if not policies.ENGINEER.allows(principal) or principal.engineer_id is None:
        raise Forbidden("field_app.engineers_only")
    engineer = session.get(Engineer, principal.engineer_id)
    if engineer is None:
        raise Forbidden("field_app.engineers_only")
    return engineer


def open_jobs(session: Session, *, engineer_id: int) -> list[Ticket]:
    """The engineer's tickets that still need them, oldest first."""
    return list(
        session.scalars(
            select(Ticket)
            .where(Ticket.engineer_id == engineer_id, Ticket.status.in_(OPEN_FOR_ENGINEER))
            .order_by(Ticket.created_at, Ticket.id)
        )
    )


@dataclass(frozen=True, slots=True)
class MapLinks:
    """Links that open the phone's map app at a point (no map is embedded in the page)."""

    geo: str
    amap: str


def map_links(lat: float, lng: float, label: str) -> MapLinks:
    """A geo: URI (Android, most map apps) and an Amap marker link (any browser)."""
    name = quote(label[:60])
    return MapLinks(
        geo=f"geo:{lat:.6f},{lng:.6f}?q={lat:.6f},{lng:.6f}({name})",
        amap=f"https://uri.amap.com/marker?position={lng:.6f},{lat:.6f}&name={name}&src=aftersales",
    )


# --- van stock ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VanPart:
    """A part the engineer carries, and how many are free to fit."""

    part_code: str
    name: str
    available: int
    price: Decimal = Decimal("0.00")  # what the customer pays for one (out of warranty)


def van_parts(session: Session, *, engineer_id: int, ticket_id: int | None = None) -> list[VanPart]:
    """What the engineer can fit from their van (the parts domain's balances): the free units,
    plus those already issued to the van for this ticket."""
    van = session.scalars(
        select(StockLocation).where(StockLocation.engineer_id == engineer_id)
    ).first()
    if van is None:
        return []
    held: dict[int, int] = {}
    if ticket_id is not None:
        for res in parts.held_for(session, ticket_id=ticket_id):
            if res.location_id == van.id:
                held[res.part_id] = held.get(res.part_id, 0) + res.quantity
    out = [
        VanPart(b.part.code, b.part.name, b.available + held.get(b.part_id, 0), b.part.unit_price)
        for b in parts.stock(session, location_id=van.id)
    ]
    return [p for p in out if p.available > 0]


def split_by_fit(
    session: Session, *, ticket: Ticket, van: list[VanPart]
) -> tuple[list[VanPart], list[VanPart]]:
    """The van parts that fit the ticket's product and model, and those that do not."""
    fit: list[VanPart] = []
    unfit: list[VanPart] = []
    for p in van:
        part = parts.find_part(session, ref=p.part_code)
        ok = part is not None and part_flows.fits_ticket(session, ticket=ticket, part=part)
        (fit if ok else unfit).append(p)
    return fit, unfit


def classify_parts(lines: list[tuple[str, int]], *, van: list[VanPart]) -> list[PartUsed]:
    """Form lines (text, quantity) as parts used: a van part by its code, anything else as
    named. More of a van part than the van holds is refused, its rows counted together (the
    same part chosen in two rows takes two from one shelf)."""
    stocked = {p.part_code: p for p in van}
    taken: dict[str, int] = {}
    out: list[PartUsed] = []
    for text, quantity in lines:
        text = text.strip()
        if not text:
            continue
        part = stocked.get(text.split(" ", 1)[0])
        if part is not None:
            taken[part.part_code] = taken.get(part.part_code, 0) + quantity
            if taken[part.part_code] > part.available:
                raise Invalid(
                    "field_app.van_short", field="parts_used", part=part.name, left=part.available
                )
            out.append(
                PartUsed(part_code=part.part_code, name=part.name, quantity=quantity, source="van")
            )
        else:
            out.append(PartUsed(name=text[:100], quantity=quantity, source="other"))
    return out


# --- the work record of a visit -----------------------------------------------------------


def arrival(ticket: Ticket) -> TicketEvent | None:
    """The event of the engineer's latest arrival on the ticket (this visit's)."""
    arrivals = [e for e in ticket.events if e.action == "arrive"]
    return arrivals[-1] if arrivals else None


def current_record(session: Session, *, ticket: Ticket) -> WorkRecord | None:
    """This visit's work record, if one was started."""
    event = arrival(ticket)
    if event is None:
        return None
    return session.scalars(
        select(WorkRecord).where(WorkRecord.arrival_event_id == event.id)
    ).first()


def _on_site_record(session: Session, *, ticket: Ticket, engineer_id: int) -> WorkRecord:
    """This visit's record, made on first use; only while the engineer is on site."""
    event = arrival(ticket)
    if ticket.status != ON_SITE or event is None:
        raise Conflict("field_app.not_on_site")
    record = current_record(session, ticket=ticket)
    if record is None:
        now = utcnow()
        record = WorkRecord(
            ticket_id=ticket.id,
            arrival_event_id=event.id,
            engineer_id=engineer_id,
            parts_used=[],
            measures=[],
            photo_ids=[],
            created_at=now,
            updated_at=now,
        )
        session.add(record)
        session.flush()
    return record


def save_record(
    session: Session, *, ticket: Ticket, engineer_id: int, data: WorkRecordIn
) -> WorkRecord:
    """Write (or rewrite) the diagnosis, the work done and the parts fitted on this visit."""
    record = _on_site_record(session, ticket=ticket, engineer_id=engineer_id)
    record.diagnosis = data.diagnosis
    record.work_done = data.work_done
    record.parts_used = [p.model_dump() for p in data.parts_used]
    record.measures = [m[:100] for m in data.measures]
    record.updated_at = utcnow()
    session.flush()
    return record


def add_photo(
    session: Session,
    *,
    ticket: Ticket,
    engineer_id: int,
    filename: str,
    data: bytes,
    principal: Principal,
    root: Path,
    max_bytes: int,
) -> TicketAttachment:
    """Store a site photo as a ticket attachment and list it on this visit's record."""
    record = _on_site_record(session, ticket=ticket, engineer_id=engineer_id)
    attachment = tickets.save_attachment(
        session,
        ticket=ticket,
        filename=filename,
        data=data,
        principal=principal,
        root=root,
        max_bytes=max_bytes,
    )
    record.photo_ids = [*record.photo_ids, attachment.id]
    record.updated_at = utcnow()
    session.flush()
    return attachment


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def sign(
    session: Session,
    *,
    ticket: Ticket,
    engineer_id: int,
    png: bytes,
    signed_by: str,
    principal: Principal,
    root: Path,
    max_bytes: int,
) -> TicketAttachment:
    """Store the customer's signature (a PNG drawn on the phone) on this visit's record, with
    the name of who signed (a signature nobody is named for proves little)."""
    if not png.startswith(PNG_MAGIC):
        raise Invalid("field_app.signature_missing", field="signature")
    if not signed_by.strip():
        raise Invalid("field_app.signer_missing", field="signed_by")
    record = _on_site_record(session, ticket=ticket, engineer_id=engineer_id)
    attachment = tickets.save_attachment(
        session,
        ticket=ticket,
        filename=f"signature-{ticket.number}.png",
        data=png,
        principal=principal,
        root=root,
        max_bytes=max_bytes,
    )
    now = utcnow()
    record.signature_id = attachment.id
    record.signed_by = signed_by.strip()[:100]
    record.signed_at = now
    record.updated_at = now
    session.flush()
    return attachment


def skip_signature(
    session: Session,
    *,
    ticket: Ticket,
    engineer_id: int,
    reason: str,
    filename: str,
    door_photo: bytes,
    principal: Principal,
    root: Path,
    max_bytes: int,
) -> TicketAttachment:
    """No signature this visit (the customer was not there): keep why, and a photo of the
    door as the proof of the visit instead."""
    if not reason.strip():
        raise Invalid("field_app.skip_reason_missing", field="reason")
    if not door_photo:
        raise Invalid("field_app.door_photo_missing", field="door_photo")
    record = _on_site_record(session, ticket=ticket, engineer_id=engineer_id)
    attachment = tickets.save_attachment(
        session,
        ticket=ticket,
        filename=filename or f"door-{ticket.number}.jpg",
        data=door_photo,
        principal=principal,
        root=root,
        max_bytes=max_bytes,
    )
    record.signature_skip_reason = reason.strip()[:200]
    record.door_photo_id = attachment.id
    record.updated_at = utcnow()
    session.flush()
    return attachment


def signed_off(record: WorkRecord | None) -> bool:
    """Whether the visit's record is closed by a signature, or by a reason and a door photo."""
    if record is None:
        return False
    skipped = bool(record.signature_skip_reason) and record.door_photo_id is not None
    return record.signature_id is not None or skipped


# --- the unit's service history -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PastVisit:
    """Another job on the same unit, with the record of its last visit."""

    ticket: Ticket
    done_at: datetime | None
    record: WorkRecord | None


def unit_history(session: Session, *, ticket: Ticket, limit: int = 10) -> list[PastVisit]:
    """The other jobs on the ticket's unit, newest first: the registered unit's, else the
    same serial number's, else the customer's jobs on the same product."""
    stmt = select(Ticket).where(Ticket.id != ticket.id)
    if ticket.asset_id is not None:
        stmt = stmt.where(Ticket.asset_id == ticket.asset_id)
    elif ticket.serial_number:
        stmt = stmt.where(Ticket.serial_number == ticket.serial_number)
    else:
        stmt = stmt.where(
            Ticket.customer_id == ticket.customer_id, Ticket.product == ticket.product
        )
    rows = list(session.scalars(stmt.order_by(Ticket.created_at.desc()).limit(limit)))
    records: dict[int, WorkRecord] = {}
    if rows:
        for rec in session.scalars(
            select(WorkRecord)
            .where(WorkRecord.ticket_id.in_([r.id for r in rows]))
            .order_by(WorkRecord.id)
        ):
            records[rec.ticket_id] = rec  # the last visit's
    out = []
    for row in rows:
        done = next((e.created_at for e in reversed(row.events) if e.action == "complete"), None)
        out.append(PastVisit(row, done, records.get(row.id)))
    return out
