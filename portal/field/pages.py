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
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from portal.config import Settings
from portal.costs import fieldform as cause_form
from portal.database import SessionDep, utcnow
from portal.dispatch import flows as dispatch_flows
from portal.dispatch import service as dispatch
from portal.dispatch.views import dispatch_settings, parts_planner
from portal.errors import Conflict, Invalid, PortalError, validation_errors
from portal.fees import service as fees
from portal.field import asset_form, flows, service
from portal.field.policies import EngineerPage
from portal.field.schemas import Position, WorkRecordIn
from portal.i18n import ACTION_LABELS, t
from portal.networks import attendance
from portal.networks.models import Engineer
from portal.parts import flows as parts_flows
from portal.parts import service as parts
from portal.parts.pages import van_context
from portal.security import Principal
from portal.settlement import flows as settlement_flows
from portal.settlement import service as settlement
from portal.sop import service as sop
from portal.templating import (
    PAGE_ROUTER_OPTIONS,
    flash,
    flash_error,
    render,
    request_lang,
    see_other,
)
from portal.tickets import flows as ticket_flows
from portal.tickets import service as tickets
from portal.tickets.models import Ticket

router = APIRouter(prefix="/field", **PAGE_ROUTER_OPTIONS)

Reason = Annotated[str, Form(max_length=500)]
Coordinate = Annotated[str, Form(max_length=32)]
# A signature drawn on a phone is a few tens of KB as a PNG data URL.
SIGNATURE_MAX_CHARS = 900_000
MAX_PART_LINES = 20


def field_engineer(request: Request, session: SessionDep, user: EngineerPage) -> Principal:
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


def _today() -> date:
    return utcnow().astimezone(fees.LOCAL).date()


def _link_base(request: Request) -> str:
    """The portal's address as customers reach it (PUBLIC_URL, else this request's)."""
    settings: Settings = request.app.state.settings
    return settings.public_url or str(request.base_url)


DRAFT_KEY = "field_draft"


def _keep_draft(request: Request, ticket: Ticket, **values: object) -> None:
    """What a refused form held, so the page shows it again (nothing typed is lost)."""
    request.session[DRAFT_KEY] = {"ref": ticket.number, **values}


def _draft_of(request: Request, ticket: Ticket) -> dict[str, Any]:
    kept = request.session.pop(DRAFT_KEY, None)
    return kept if isinstance(kept, dict) and kept.get("ref") == ticket.number else {}


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
    arrived_at: datetime | None = None  # on site already: no ETA, the time they arrived


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
        # The time the customer was told (the published route's), else the route's own.
        expected = ticket_flows.expected_visit(session, ticket)
        if expected.arrived_at is not None:
            cards.append(Card(ticket, seq, None, False, None, links, expected.arrived_at))
            continue
        cards.append(Card(ticket, seq, expected.eta or leg.start, leg.late, leg.travel_km, links))
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
            "attendance": attendance.today_of(
                session, engineer_id=engineer.id, now=now, zone=settings.zone
            ),
            "attendance_required": engineer.network.attendance,
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
    return _job_page(request, session, user, _job(session, ref, user))


@dataclass(frozen=True, slots=True)
class SignatureForm:
    """A signature the server refused: the drawing (a PNG data URL) and the name as sent."""

    signature: str
    signed_by: str
    error: str


@dataclass(frozen=True, slots=True)
class RecordForm:
    """A work record form the server refused, as typed, with why."""

    diagnosis: str
    work_done: str
    parts: list[tuple[str, str]]
    error: str


def _job_page(
    request: Request,
    session: Session,
    user: Principal,
    ticket: Ticket,
    *,
    record_form: RecordForm | None = None,
    signature_form: SignatureForm | None = None,
    status_code: int = 200,
) -> Response:
    """The job page; with `record_form`, the work record form holds what was typed."""
    settings: Settings = request.app.state.settings
    spot = dispatch.locate(session, [ticket]).get(ticket.id)
    record = service.current_record(session, ticket=ticket)
    found = sop.for_ticket(session, ticket=ticket)
    on_site = ticket.status == service.ON_SITE
    attachments = {a.id: a for a in tickets.list_attachments(session, ticket=ticket)}
    photos = [attachments[i] for i in (record.photo_ids if record else []) if i in attachments]
    quoting = ticket.status in settlement_flows.QUOTABLE
    van = (
        service.van_parts(session, engineer_id=_me(user), ticket_id=ticket.id)
        if on_site or quoting
        else []
    )
    evidence = fees.evidence_of(ticket)
    draft = None
    if quoting:
        try:
            draft = settlement_flows.draft_quote(session, ticket=ticket, parts=[], on=_today())
        except PortalError:
            draft = None  # no rate card applies: the quote form says so when sent
    quotes = fees.quotes_of(session, ticket_id=ticket.id)
    kept = _draft_of(request, ticket)
    quote_van, unfit_van = service.split_by_fit(session, ticket=ticket, van=van)
    latest = quotes[0] if quotes else None
    warranty = fees.warranty(session, ticket=ticket, on=_today())
    orderable = (
        settlement_flows.orderable_parts(
            session, ticket=ticket, besides=[p.part_code for p in quote_van]
        )
        if quoting and not warranty.covered
        else []
    )
    fitted = None
    if record is not None and record.parts_used:
        found_parts = [
            (parts.find_part(session, ref=str(p.get("part_code"))), int(p.get("quantity") or 1))
            for p in record.parts_used
            if isinstance(p, dict) and p.get("part_code")
        ]
        fitted = [(p, q) for p, q in found_parts if p is not None]
    over = (
        fees.overrun(session, ticket=ticket, at=utcnow(), fitted=fitted)
        if on_site and not warranty.covered
        else None
    )
    # Nothing saved yet: the record starts from what the customer accepted.
    quoted = (
        flows.record_from_quote(session, ticket=ticket, van=van, lang=request_lang(request))
        if on_site and record is None and record_form is None
        else None
    )
    record_parts = record.parts_used if record else (quoted.parts if quoted else [])
    return render(
        request,
        "field/job.html",
        {
            "warranty": warranty,
            "overrun": over,
            "has_accepted": fees.accepted_quote(session, ticket_id=ticket.id) is not None,
            "decline_reason": settlement_flows.decline_reason(ticket, latest),
            "evidence": evidence,
            "invoice": attachments.get(int(evidence.get("invoice_id") or 0)) if evidence else None,
            "quoting": quoting,
            "draft": draft,
            "quote": latest,
            "quote_order": settlement_flows.quote_to_order(latest)
            if ticket.status in settlement_flows.ANSWERABLE
            else [],
            "orderable": orderable,
            "quote_rows": kept.get("quote") or [],
            "charge": fees.charge_of(session, ticket=ticket),
            "skip_reason": kept.get("skip_reason", ""),
            "complete_error": (kept.get("complete_error") or {}).get(request_lang(request), ""),
            "history": service.unit_history(session, ticket=ticket),
            "door_photo": attachments.get(record.door_photo_id)
            if record and record.door_photo_id
            else None,
            "ticket": ticket,
            "visit": ticket_flows.expected_visit(session, ticket),
            "other_day": _booked_other_day(session, ticket),
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
            "van": van,
            "quote_van": quote_van,
            "unfit_van": unfit_van,
            "store_parts": parts.store_held(session, ticket_id=ticket.id),
            "part_rows": max(3, len(record_parts) + 1),
            "record_parts": record_parts,
            "quoted_record": quoted,
            "record_form": record_form,
            "signature_form": signature_form,
            "upload_mb": settings.upload_max_bytes // (1024 * 1024),
            **cause_form.context(request, session, ticket),
            **asset_form.context(request, session, ticket, record, kept.get("unit")),
        },
        status_code=status_code,
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


def _booked_other_day(session: Session, ticket: Ticket) -> date | None:
    """The day the visit is booked for when that is not today (else None)."""
    visit = ticket_flows.expected_visit(session, ticket)
    day = visit.day or (visit.window.start.date() if visit.window is not None else None)
    return day if day is not None and day != _today() else None


@router.post("/jobs/{ref}/depart", response_class=Response)
def depart(
    request: Request,
    ref: str,
    session: SessionDep,
    user: FieldUser,
    lat: Coordinate = "",
    lng: Coordinate = "",
    accuracy: Coordinate = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Set off for the customer; for a visit booked on another day, only once the engineer
    confirms they agreed today with the customer (a tester set off two days early)."""
    ticket = _job(session, ref, user)
    other_day = _booked_other_day(session, ticket)
    if other_day is not None and confirm != "yes":
        refused = Conflict("field.depart_other_day", day=other_day.isoformat())
        return _refused(request, session, refused, _job_url(ticket))
    position = _position(lat, lng, accuracy)
    try:
        if other_day is not None:
            flows.depart_early(
                session,
                ticket=ticket,
                principal=user,
                booked=other_day,
                settings=dispatch_settings(request),
                position=position,
            )
        else:
            flows.depart(session, ticket=ticket, principal=user, position=position)
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
    measure: Annotated[list[str] | None, Form()] = None,
    quick_part: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Write down the diagnosis, the work done and the parts fitted (typed, or ticked from the
    fault code's quick list)."""
    ticket = _job(session, ref, user)
    url = _job_url(ticket) + "#record"
    ticked = asset_form.ticked(request, session, ticket, measure, quick_part)
    part, qty = asset_form.with_parts(part, qty, ticked)
    names, counts = (part or [])[:MAX_PART_LINES], (qty or [])
    typed = [
        (name[:100], counts[i][:3] if i < len(counts) else "1") for i, name in enumerate(names)
    ]
    lines = [(name, _quantity(q)) for name, q in typed if name.strip()]

    def refused(zh: str, en: str) -> Response:
        # The page again, not a redirect: every value typed comes back (a long record would
        # not fit in the session cookie), with the reason next to the form.
        session.rollback()
        kept = [row for row in typed if row[0].strip()]
        form = RecordForm(diagnosis, work_done, kept, zh if request_lang(request) == "zh" else en)
        return _job_page(request, session, user, ticket, record_form=form, status_code=422)

    if any(q < 1 or q > 99 for _, q in lines):
        bad = Invalid("field_app.bad_quantity", field="qty")
        return refused(bad.message_zh, bad.message_en)
    try:
        van = service.van_parts(session, engineer_id=_me(user), ticket_id=ticket.id)
        used = service.classify_parts(lines, van=van)
        data = WorkRecordIn(
            diagnosis=diagnosis,
            work_done=asset_form.work_done(work_done, ticked),
            parts_used=used,
            measures=ticked.measures,
        )
        service.save_record(session, ticket=ticket, engineer_id=_me(user), data=data)
    except ValidationError as exc:
        named = validation_errors(
            [{**err, "loc": ("body", *err.get("loc", ()))} for err in exc.errors()]
        )
        return refused(
            "；".join(e["message_zh"] for e in named), "; ".join(e["message_en"] for e in named)
        )
    except PortalError as exc:
        return refused(exc.message_zh, exc.message_en)
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
    png = _png_from_data_url(signature)
    try:
        service.sign(
            session,
            ticket=ticket,
            engineer_id=_me(user),
            png=png,
            signed_by=signed_by.strip(),
            principal=user,
            root=settings.uploads_path,
            max_bytes=settings.upload_max_bytes,
        )
    except PortalError as exc:
        if exc.key != "field_app.signer_missing":
            return _refused(request, session, exc, url)
        # The page again, not a redirect: the drawing would not fit in the session cookie,
        # and the customer should not have to sign twice.
        session.rollback()
        message = exc.message_zh if request_lang(request) == "zh" else exc.message_en
        form = SignatureForm(signature if png else "", signed_by.strip(), message)
        return _job_page(request, session, user, ticket, signature_form=form, status_code=422)
    _ok(request, "field_app.signed")
    return see_other(url)


@router.post("/jobs/{ref}/complete", response_class=Response)
def complete(
    request: Request,
    ref: str,
    session: SessionDep,
    user: FieldUser,
    unit_model: Annotated[str, Form(max_length=32)] = "",
    unit_serial: Annotated[str, Form(max_length=64)] = "",
    unit_purchase: Annotated[str, Form(max_length=10)] = "",
    unit_install: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Finish the job (needs the work record and the signature); a unit not on file is
    registered from what the engineer entered for it."""
    ticket = _job(session, ref, user)
    typed = asset_form.typed(unit_model, unit_serial, unit_purchase, unit_install)
    try:
        unit = asset_form.entry(typed)
        flows.complete(
            session, ticket=ticket, principal=user, link_base=_link_base(request), unit=unit
        )
    except PortalError as exc:
        # A consult still waiting is closed from its card on the job page: open there.
        if exc.key == "consult.waiting_on_complete":
            _keep_draft(request, ticket, unit=asset_form.kept(typed, exc))
            return _refused(request, session, exc, _job_url(ticket) + "#consults")
        if asset_form.anchor(exc):  # about the unit: said in the unit's box
            _keep_draft(request, ticket, unit=asset_form.kept(typed, exc))
            return _refused(request, session, exc, _job_url(ticket) + asset_form.anchor(exc))
        # Anything else is said right above 完工, where the engineer tapped (a top flash was
        # a screen's height away on a phone).
        session.rollback()
        _keep_draft(
            request,
            ticket,
            unit=typed,
            complete_error={"zh": exc.message_zh, "en": exc.message_en},
        )
        return see_other(_job_url(ticket) + "#complete")
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


# --- the quote ----------------------------------------------------------------------------


def _quote_split(
    rows: list[tuple[str, int]], van: list[service.VanPart]
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """The quote's part rows as (code, quantity) from the van and to order: rows of one part
    count together; what the van holds of it comes from the van, the rest is ordered (the
    van holds 1, 3 are asked: 1 from the van and 2 to order, at the same price)."""
    stocked = {p.part_code: p.available for p in van}
    wanted: dict[str, int] = {}
    for text, quantity in rows:
        code = text.split(" ", 1)[0]
        wanted[code] = wanted.get(code, 0) + quantity
    from_van: list[tuple[str, int]] = []
    to_order: list[tuple[str, int]] = []
    for code, quantity in wanted.items():
        here = min(stocked.get(code, 0), quantity)
        if here:
            from_van.append((code, here))
        if quantity > here:
            to_order.append((code, quantity - here))
    return from_van, to_order


@router.post("/jobs/{ref}/quote", response_class=Response)
def send_quote(
    request: Request,
    ref: str,
    session: SessionDep,
    user: FieldUser,
    part: Annotated[list[str] | None, Form()] = None,
    qty: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Price the job (SOP labour, rate card, the parts chosen: from the van, or catalogue
    parts that fit the unit, to be ordered) and send it to the customer."""
    settings: Settings = request.app.state.settings
    ticket = _job(session, ref, user)
    url = _job_url(ticket) + "#quote"
    names, counts = (part or [])[:MAX_PART_LINES], (qty or [])
    rows = [
        (name.strip()[:100], _quantity(counts[i]) if i < len(counts) else 1)
        for i, name in enumerate(names)
        if name.strip()
    ]
    _keep_draft(request, ticket, quote=[[code, q] for code, q in rows])
    if any(q < 1 or q > 99 for _, q in rows):
        return _refused(request, session, Invalid("field_app.bad_quantity", field="qty"), url)
    try:
        van = service.van_parts(session, engineer_id=_me(user), ticket_id=ticket.id)
        _fit, unfit = service.split_by_fit(session, ticket=ticket, van=van)
        wrong = next((p for p in unfit if any(c == p.part_code for c, _ in rows)), None)
        if wrong is not None:
            raise Invalid("quote.part_unfit", field="part", part=wrong.name)
        from_van, to_order = _quote_split(rows, van)
        settlement_flows.send_quote(
            session,
            ticket=ticket,
            parts=from_van,
            order=to_order,
            actor=user.actor,
            link_base=_link_base(request),
            secret=settings.secret_key,
        )
    except PortalError as exc:
        return _refused(request, session, exc, url)
    request.session.pop(DRAFT_KEY, None)
    _ok(request, "field_app.quote_sent")
    return see_other(url)


@router.post("/jobs/{ref}/quote/revise", response_class=Response)
def revise_quote(request: Request, ref: str, session: SessionDep, user: FieldUser) -> Response:
    """The work runs past the accepted quote: send the customer a new one for the time spent
    so far; the accepted quote stays the price until they accept it."""
    settings: Settings = request.app.state.settings
    ticket = _job(session, ref, user)
    url = _job_url(ticket) + "#quote"
    try:
        settlement_flows.revise_quote(
            session,
            ticket=ticket,
            actor=user.actor,
            link_base=_link_base(request),
            secret=settings.secret_key,
        )
    except PortalError as exc:
        return _refused(request, session, exc, url)
    _ok(request, "field_app.quote_sent")
    return see_other(url)


@router.post("/jobs/{ref}/quote/withdraw", response_class=Response)
def withdraw_quote(request: Request, ref: str, session: SessionDep, user: FieldUser) -> Response:
    """Take back the quote the customer has not answered; they are told it no longer stands."""
    ticket = _job(session, ref, user)
    url = _job_url(ticket) + "#quote"
    try:
        settlement_flows.withdraw_quote(session, ticket=ticket, actor=user.actor)
    except PortalError as exc:
        return _refused(request, session, exc, url)
    _ok(request, "field_app.quote_withdrawn")
    return see_other(url)


@router.post("/jobs/{ref}/quote/order", response_class=Response)
def order_quoted_parts(
    request: Request, ref: str, session: SessionDep, user: FieldUser
) -> Response:
    """One tap: order the parts the accepted quote marks "to order" (the job waits for them)."""
    ticket = _job(session, ref, user)
    url = _job_url(ticket) + "#quote"
    try:
        settlement_flows.order_quoted_parts(session, ticket=ticket, principal=user)
    except PortalError as exc:
        return _refused(request, session, exc, url)
    _ok(request, "field_app.quote_parts_ordered")
    return see_other(url)


@router.get("/jobs/{ref}/quote-status", response_class=Response)
def quote_status(request: Request, ref: str, session: SessionDep, user: FieldUser) -> Response:
    """The latest quote's status, which the job page polls until the customer answers."""
    ticket = _job(session, ref, user)
    quotes = fees.quotes_of(session, ticket_id=ticket.id)
    latest = quotes[0] if quotes else None
    body = {
        "number": latest.number if latest else None,
        "status": latest.status if latest else None,
        "total": str(latest.total) if latest else None,
        "ticket_status": ticket.status,
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


# --- no signature -------------------------------------------------------------------------


@router.post("/jobs/{ref}/signature-skip", response_class=Response)
async def skip_signature(
    request: Request,
    ref: str,
    session: SessionDep,
    user: FieldUser,
    reason: Reason = "",
    door_photo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """The customer was not there to sign: keep the reason and a photo of the door."""
    settings: Settings = request.app.state.settings
    ticket = _job(session, ref, user)
    url = _job_url(ticket) + "#signature"
    _keep_draft(request, ticket, skip_reason=reason)
    data = await door_photo.read(settings.upload_max_bytes + 1) if door_photo else b""
    try:
        service.skip_signature(
            session,
            ticket=ticket,
            engineer_id=_me(user),
            reason=reason,
            filename=(door_photo.filename if door_photo else "") or "",
            door_photo=data,
            principal=user,
            root=settings.uploads_path,
            max_bytes=settings.upload_max_bytes,
        )
    except PortalError as exc:
        return _refused(request, session, exc, url)
    request.session.pop(DRAFT_KEY, None)
    _ok(request, "field_app.signature_skipped")
    return see_other(url)


# --- this month's earnings ----------------------------------------------------------------


@router.get("/earnings", response_class=Response)
def earnings(request: Request, session: SessionDep, user: FieldUser) -> Response:
    """What this month booked to the engineer (their statement's lines, from settlement)."""
    period = utcnow().astimezone(fees.LOCAL).strftime("%Y-%m")
    lines, statement = settlement.engineer_month(session, engineer_id=_me(user), period=period)
    return render(
        request,
        "field/earnings.html",
        {
            "period": period,
            "lines": lines,
            "total": sum((ln.amount for ln in lines), fees.ZERO),
            "statement": statement,
        },
    )


# --- attendance (出勤): check in and out with the phone's position ---------------------------

_POSITION_NOTE = {"denied": "attendance.note.denied", "unavailable": "attendance.note.unavailable"}


def _attendance_position(
    position: str, lat: str, lng: str
) -> tuple[str, Decimal | None, Decimal | None]:
    """What the phone answered: a fix, or why there is none (a fix that does not read as
    numbers counts as none: the engineer is not kept from checking in by it)."""
    if position != "ok":
        return (position if position in attendance.POSITIONS else "unavailable"), None, None
    try:
        return "ok", Decimal(lat.strip()), Decimal(lng.strip())
    except InvalidOperation:
        return "unavailable", None, None


def _attendance(
    request: Request, session: Session, user: Principal, *, out: bool, form: tuple[str, str, str]
) -> Response:
    engineer = session.get_one(Engineer, user.engineer_id)
    kind, lat, lng = _attendance_position(*form)
    act = attendance.check_out if out else attendance.check_in
    settings = dispatch_settings(request)
    now = utcnow()
    try:
        stretch = act(
            session,
            engineer=engineer,
            now=now,
            position=kind,
            lat=lat,
            lng=lng,
            zone=settings.zone,
        )
    except PortalError as exc:
        return _refused(request, session, exc, "/field")
    at = (stretch.checked_out_at if out else stretch.checked_in_at) or utcnow()
    when = at.astimezone(fees.LOCAL).strftime("%H:%M")
    key = "attendance.checked_out" if out else "attendance.checked_in"
    if not out and stretch.checked_in_at != now:
        # Checked in moments after a check-out: that stretch carries on (attendance module).
        key = "attendance.resumed"
    note = _POSITION_NOTE.get(kind)
    zh, en = t(key, "zh", time=when), t(key, "en", time=when)
    if note:
        zh, en = f"{zh}。{t(note, 'zh')}", f"{en}. {t(note, 'en')}"
    flash(request, "ok", zh, en)
    return see_other("/field")


@router.post("/attendance/check-in", response_class=Response)
def check_in(
    request: Request,
    session: SessionDep,
    user: FieldUser,
    position: Annotated[str, Form(max_length=16)] = "unavailable",
    lat: Coordinate = "",
    lng: Coordinate = "",
) -> Response:
    """签到: start the working day, with the phone's position or the reason there is none."""
    return _attendance(request, session, user, out=False, form=(position, lat, lng))


@router.post("/attendance/check-out", response_class=Response)
def check_out(
    request: Request,
    session: SessionDep,
    user: FieldUser,
    position: Annotated[str, Form(max_length=16)] = "unavailable",
    lat: Coordinate = "",
    lng: Coordinate = "",
) -> Response:
    """签退: end the working day (the same position rules as the check-in)."""
    return _attendance(request, session, user, out=True, form=(position, lat, lng))


# --- 领料: collect the job's parts held at the network's store ------------------------------


@router.post("/jobs/{ref}/collect", response_class=Response)
def collect_parts(request: Request, ref: str, session: SessionDep, user: FieldUser) -> Response:
    """领料: the parts held for this job at the store go to the engineer's van, still held for
    it, so the work record can fit them."""
    ticket = _job(session, ref, user)
    try:
        moved = parts_flows.issue_to_engineer(session, ticket=ticket, principal=user)
    except PortalError as exc:
        return _refused(request, session, exc, _job_url(ticket))
    zh, en = (t("field_app.collected", lang, n=moved) for lang in ("zh", "en"))
    flash(request, "ok", zh, en)
    return see_other(_job_url(ticket))
