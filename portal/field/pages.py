"""The engineer's mobile pages under /field: today's route, one job and its steps.

Thin: the steps live in `field.flows`, the records in `field.service`. Every POST answers with
a redirect (post/redirect/get) and leaves the outcome, or the refusal's message, as a flash.
An engineer reaches only tickets assigned to them: any other ticket is the 404 page.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from portal.config import Settings
from portal.database import SessionDep, utcnow
from portal.dispatch import flows as dispatch_flows
from portal.dispatch import service as dispatch
from portal.dispatch.views import dispatch_settings, parts_planner
from portal.errors import Invalid, PortalError
from portal.field import flows, service
from portal.field.schemas import Position, WorkRecordIn
from portal.i18n import ACTION_LABELS, t
from portal.networks.models import Engineer
from portal.parts.pages import van_context
from portal.security import Principal
from portal.sop import service as sop
from portal.templating import (
    PAGE_ROUTER_OPTIONS,
    Staff,
    flash,
    flash_error,
    flash_invalid,
    render,
    see_other,
)
from portal.tickets import service as tickets
from portal.tickets.models import Ticket

router = APIRouter(prefix="/field", **PAGE_ROUTER_OPTIONS)

Reason = Annotated[str, Form(max_length=500)]
Coordinate = Annotated[str, Form(max_length=32)]
# A signature drawn on a phone is a few tens of KB as a PNG data URL.
SIGNATURE_MAX_CHARS = 900_000
MAX_PART_LINES = 20


def field_engineer(request: Request, session: SessionDep, user: Staff) -> Principal:
    """The logged-in engineer (anyone else: the 403 page)."""
    service.engineer_of(session, principal=user)
    return user


FieldUser = Annotated[Principal, Depends(field_engineer)]


def _me(user: Principal) -> int:
    """The engineer id of a caller `field_engineer` let through."""
    return user.engineer_id or 0


def _job_url(ticket: Ticket) -> str:
    return f"/field/jobs/{ticket.number}"


def _job(session: Session, ref: str, user: Principal) -> Ticket:
    return tickets.get_ticket(session, ref=ref, principal=user)


def _done(request: Request, action: str) -> None:
    zh, en = ACTION_LABELS.get(action, (action, action))
    flash(request, "ok", t("ui.action_done", "zh", action=zh), t("ui.action_done", "en", action=en))


def _ok(request: Request, key: str) -> None:
    flash(request, "ok", t(key, "zh"), t(key, "en"))


def _refused(request: Request, session: Session, exc: PortalError, url: str) -> Response:
    session.rollback()
    flash_error(request, exc)
    return see_other(url)


# --- today's jobs -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Card:
    """One job on the front page."""

    ticket: Ticket
    sequence: int | None
    eta: datetime | None
    late: bool
    travel_km: float | None
    links: service.MapLinks | None


def _links(spot: tuple[float, float] | None, label: str) -> service.MapLinks | None:
    return service.map_links(spot[0], spot[1], label) if spot else None


@router.get("", response_class=Response)
def today(
    request: Request,
    session: SessionDep,
    user: FieldUser,
    day: Annotated[date | None, Query(alias="date")] = None,
) -> Response:
    """The engineer's visits of the day in route order with ETAs, then their other open jobs."""
    settings = dispatch_settings(request)
    now = utcnow()
    day = day or dispatch.local_day(now, settings)
    engineer = session.get_one(Engineer, user.engineer_id)
    route = dispatch_flows.route(session, engineer=engineer, day=day, settings=settings, now=now)
    cards: list[Card] = []
    for seq, leg in enumerate(route.legs, start=1):
        ticket = route.tickets[leg.stop.id]
        lat, lng = leg.stop.lat, leg.stop.lng
        spot = (lat, lng) if lat is not None and lng is not None else None
        links = _links(spot, ticket.address)
        cards.append(Card(ticket, seq, leg.arrive, leg.late, leg.travel_km, links))
    routed = {c.ticket.id for c in cards}
    others = [t for t in service.open_jobs(session, engineer_id=engineer.id) if t.id not in routed]
    where = dispatch.locate(session, others)
    other_cards = [
        Card(t, None, None, False, None, _links(where.get(t.id), t.address)) for t in others
    ]
    return render(
        request,
        "field/today.html",
        {
            "engineer": engineer,
            "day": day,
            "cards": cards,
            "other_cards": other_cards,
            "total_km": route.total_km,
        },
    )


@router.get("/van", response_class=Response)
def van(request: Request, session: SessionDep, user: FieldUser) -> Response:
    """The engineer's van stock: what is free, what is held for which job, old parts to send."""
    engineer = session.get_one(Engineer, user.engineer_id)
    return render(request, "field/van.html", van_context(session, engineer))


# --- one job ------------------------------------------------------------------------------


@router.get("/jobs/{ref}", response_class=Response)
def job(request: Request, ref: str, session: SessionDep, user: FieldUser) -> Response:
    """One job: customer, map links, the next step, the standard job, the work record."""
    settings: Settings = request.app.state.settings
    ticket = _job(session, ref, user)
    spot = dispatch.locate(session, [ticket]).get(ticket.id)
    record = service.current_record(session, ticket=ticket)
    found = sop.for_ticket(session, ticket=ticket)
    on_site = ticket.status == service.ON_SITE
    attachments = {a.id: a for a in tickets.list_attachments(session, ticket=ticket)}
    photos = [attachments[i] for i in (record.photo_ids if record else []) if i in attachments]
    return render(
        request,
        "field/job.html",
        {
            "ticket": ticket,
            "customer": ticket.customer,
            "links": _links(spot, ticket.address),
            "events": list(ticket.events),
            "record": record,
            "photos": photos,
            "signature": attachments.get(record.signature_id)
            if record and record.signature_id
            else None,
            "sop": found.job,
            "sop_match": found.match,
            "labour_quota": sop.labour_quota(session, ticket=ticket),
            "on_site": on_site,
            "van": service.van_parts(session, engineer_id=_me(user), ticket_id=ticket.id)
            if on_site
            else [],
            "part_rows": max(3, len(record.parts_used) + 1) if record else 3,
            "upload_mb": settings.upload_max_bytes // (1024 * 1024),
        },
    )


@router.post("/jobs/{ref}/accept", response_class=Response)
def accept(request: Request, ref: str, session: SessionDep, user: FieldUser) -> Response:
    """Take the dispatched job."""
    ticket = _job(session, ref, user)
    try:
        flows.accept(session, ticket=ticket, principal=user)
    except PortalError as exc:
        return _refused(request, session, exc, _job_url(ticket))
    _done(request, "engineer_accept")
    return see_other(_job_url(ticket))


@router.post("/jobs/{ref}/reject", response_class=Response)
def reject(
    request: Request, ref: str, session: SessionDep, user: FieldUser, reason: Reason = ""
) -> Response:
    """Turn the job down with a reason; it goes back to dispatch."""
    ticket = _job(session, ref, user)
    try:
        flows.reject(
            session,
            ticket=ticket,
            principal=user,
            reason=reason,
            settings=dispatch_settings(request),
            planner=parts_planner(request),
        )
    except PortalError as exc:
        return _refused(request, session, exc, _job_url(ticket))
    _done(request, "engineer_reject")
    return see_other("/field")


def _position(lat: str, lng: str, accuracy: str) -> Position | None:
    """The phone's position from the form; none (not refused) when it gave none or nonsense."""
    if not lat.strip() or not lng.strip():
        return None
    try:
        return Position.model_validate(
            {"lat": lat.strip(), "lng": lng.strip(), "accuracy_m": accuracy.strip() or None}
        )
    except ValidationError:
        return None


@router.post("/jobs/{ref}/depart", response_class=Response)
def depart(
    request: Request,
    ref: str,
    session: SessionDep,
    user: FieldUser,
    lat: Coordinate = "",
    lng: Coordinate = "",
    accuracy: Coordinate = "",
) -> Response:
    """Set off for the customer."""
    ticket = _job(session, ref, user)
    try:
        flows.depart(session, ticket=ticket, principal=user, position=_position(lat, lng, accuracy))
    except PortalError as exc:
        return _refused(request, session, exc, _job_url(ticket))
    _done(request, "depart")
    return see_other(_job_url(ticket))


@router.post("/jobs/{ref}/arrive", response_class=Response)
def arrive(
    request: Request,
    ref: str,
    session: SessionDep,
    user: FieldUser,
    lat: Coordinate = "",
    lng: Coordinate = "",
    accuracy: Coordinate = "",
) -> Response:
    """Arrive on site (with the phone's position when it allows)."""
    ticket = _job(session, ref, user)
    try:
        flows.arrive(session, ticket=ticket, principal=user, position=_position(lat, lng, accuracy))
    except PortalError as exc:
        return _refused(request, session, exc, _job_url(ticket))
    _done(request, "arrive")
    return see_other(_job_url(ticket))


def _quantity(text: str) -> int:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 3 else 0


@router.post("/jobs/{ref}/record", response_class=Response)
def save_record(
    request: Request,
    ref: str,
    session: SessionDep,
    user: FieldUser,
    diagnosis: Annotated[str, Form(max_length=2000)] = "",
    work_done: Annotated[str, Form(max_length=2000)] = "",
    part: Annotated[list[str] | None, Form()] = None,
    qty: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Write down the diagnosis, the work done and the parts fitted."""
    ticket = _job(session, ref, user)
    url = _job_url(ticket) + "#record"
    names, counts = (part or [])[:MAX_PART_LINES], (qty or [])
    lines = [
        (name[:100], _quantity(counts[i]) if i < len(counts) else 1)
        for i, name in enumerate(names)
        if name.strip()
    ]
    if any(q < 1 or q > 99 for _, q in lines):
        return _refused(request, session, Invalid("field_app.bad_quantity", field="qty"), url)
    try:
        van = service.van_parts(session, engineer_id=_me(user), ticket_id=ticket.id)
        used = service.classify_parts(lines, van=van)
        data = WorkRecordIn(diagnosis=diagnosis, work_done=work_done, parts_used=used)
    except ValidationError as exc:
        flash_invalid(request, exc.errors())
        return see_other(url)
    except PortalError as exc:
        return _refused(request, session, exc, url)
    try:
        service.save_record(session, ticket=ticket, engineer_id=_me(user), data=data)
    except PortalError as exc:
        return _refused(request, session, exc, url)
    _ok(request, "field_app.record_saved")
    return see_other(url)


@router.post("/jobs/{ref}/photos", response_class=Response)
async def upload_photos(
    request: Request,
    ref: str,
    session: SessionDep,
    user: FieldUser,
    photos: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    """Add site photos (stored as ticket attachments)."""
    settings: Settings = request.app.state.settings
    ticket = _job(session, ref, user)
    url = _job_url(ticket) + "#photos"
    stored = 0
    try:
        for upload in (photos or [])[:10]:
            data = await upload.read(settings.upload_max_bytes + 1)
            if not data and not upload.filename:
                continue  # the empty part a browser sends when no file was chosen
            service.add_photo(
                session,
                ticket=ticket,
                engineer_id=_me(user),
                filename=upload.filename or "photo",
                data=data,
                principal=user,
                root=settings.uploads_path,
                max_bytes=settings.upload_max_bytes,
            )
            stored += 1
    except PortalError as exc:
        return _refused(request, session, exc, url)
    if stored == 0:
        return _refused(request, session, Invalid("error.file_empty", field="photos"), url)
    _ok(request, "ui.attachment.uploaded")
    return see_other(url)


def _png_from_data_url(value: str) -> bytes:
    prefix = "data:image/png;base64,"
    if not value.startswith(prefix):
        return b""
    try:
        return base64.b64decode(value[len(prefix) :], validate=True)
    except (binascii.Error, ValueError):
        return b""


@router.post("/jobs/{ref}/signature", response_class=Response)
def save_signature(
    request: Request,
    ref: str,
    session: SessionDep,
    user: FieldUser,
    signature: Annotated[str, Form(max_length=SIGNATURE_MAX_CHARS)] = "",
    signed_by: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Keep the customer's signature, drawn on the phone, as a PNG attachment."""
    settings: Settings = request.app.state.settings
    ticket = _job(session, ref, user)
    url = _job_url(ticket) + "#signature"
    try:
        service.sign(
            session,
            ticket=ticket,
            engineer_id=_me(user),
            png=_png_from_data_url(signature),
            signed_by=signed_by.strip(),
            principal=user,
            root=settings.uploads_path,
            max_bytes=settings.upload_max_bytes,
        )
    except PortalError as exc:
        return _refused(request, session, exc, url)
    _ok(request, "field_app.signed")
    return see_other(url)


@router.post("/jobs/{ref}/complete", response_class=Response)
def complete(request: Request, ref: str, session: SessionDep, user: FieldUser) -> Response:
    """Finish the job (needs the work record and the signature)."""
    ticket = _job(session, ref, user)
    try:
        flows.complete(session, ticket=ticket, principal=user)
    except PortalError as exc:
        return _refused(request, session, exc, _job_url(ticket))
    _done(request, "complete")
    return see_other(_job_url(ticket))


@router.post("/jobs/{ref}/wait-parts", response_class=Response)
def wait_parts(
    request: Request, ref: str, session: SessionDep, user: FieldUser, reason: Reason = ""
) -> Response:
    """A part is missing: the job waits for it."""
    ticket = _job(session, ref, user)
    try:
        flows.wait_parts(session, ticket=ticket, principal=user, reason=reason)
    except PortalError as exc:
        return _refused(request, session, exc, _job_url(ticket))
    _done(request, "wait_parts")
    return see_other(_job_url(ticket))
