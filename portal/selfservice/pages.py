"""The self-service pages under /my. Thin: rules live in the customer and ticket services.

A customer signs in with their phone and a one-time code (the same codes as the customer
API); the page session then carries their id (`cid`). Every POST carries the CSRF token
and answers with a redirect (post/redirect/get) or the form again with what was wrong.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Coroutine
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError
from sqlalchemy.orm import Session

from channels.rest.client_ip import request_address
from portal import csrf
from portal.complaints import service as complaints
from portal.config import Settings
from portal.customers import service as customers
from portal.customers.models import Customer
from portal.database import SessionDep
from portal.errors import Invalid, NotFound, PortalError, TooManyRequests, validation_errors
from portal.i18n import MESSAGES, TICKET_TYPE_LABELS, Lang, t
from portal.intake.windows import VisitWindow, WindowErrorReason, find_window, now_local
from portal.knowledge import flows as knowledge
from portal.knowledge import service as knowledge_service
from portal.privacy.masking import mask_phone
from portal.security import Principal, Role
from portal.selfservice import products, service, visits
from portal.settlement import flows as settlement_flows
from portal.templating import category_filter, flash, render, request_lang, see_other
from portal.tickets import service as tickets
from portal.tickets import templates as intake
from portal.tickets.schemas import TicketCreate, TransitionRequest, normalize_phone

SESSION_CUSTOMER = "cid"
SESSION_PHONE = "my_phone"
SESSION_NEXT = "my_next"
PURPOSE = "sign_in"  # the customer API's purpose: one code works for either
REQUEST_KEY = re.compile(r"[0-9a-f]{32}")
FORM_FIELDS = (
    "type",
    "product",
    "model_code",
    "serial_number",
    "fault_description",
    "phone",
    "customer_name",
    *service.EXTRA_FIELDS,
)


class CustomerLoginRequired(Exception):
    """A page needs a signed-in customer; the route class redirects to the sign-in page."""


def _error_page(request: Request, status: int, message: str | None) -> Response:
    return render(
        request,
        "selfservice/error.html",
        {**_base(request), "status": status, "message": message},
        status,
    )


class SelfServiceRoute(APIRoute):
    """Answers a missing sign-in with a redirect and a PortalError with the customers' error
    page (not the staff one, not JSON)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler."""
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except CustomerLoginRequired:
                target = request.url.path
                return RedirectResponse(f"/my/login?next={quote(target)}", status_code=303)
            except PortalError as exc:
                lang = request_lang(request)
                message = exc.message_zh if lang == "zh" else exc.message_en
                return _error_page(request, exc.status_code, message)
            except RequestValidationError as exc:
                errors = list(exc.errors())
                if any(err.get("loc", ("",))[0] == "path" for err in errors):
                    return _error_page(request, 404, None)
                named = validation_errors(errors)
                key = "message_zh" if request_lang(request) == "zh" else "message_en"
                return _error_page(request, 422, "；".join(e[key] for e in named))

        return page_handler


router = APIRouter(
    prefix="/my",
    route_class=SelfServiceRoute,
    dependencies=[Depends(csrf.protect)],
    include_in_schema=False,
)


# ---------------------------------------------------------------- who is asking


def signed_in(request: Request, session: Session) -> Customer | None:
    """The customer of this page session, if one signed in."""
    if "session" not in request.scope:
        return None
    customer_id = request.session.get(SESSION_CUSTOMER)
    if not isinstance(customer_id, int):
        return None
    customer = session.get(Customer, customer_id)
    # An erased customer's session ends with the erasure: nothing of theirs is left to show.
    if customer is None or customer.is_erased:
        return None
    return customer


def page_customer(request: Request, session: SessionDep) -> Principal:
    """The signed-in customer as a principal, or a redirect to the sign-in page."""
    customer = signed_in(request, session)
    if customer is None:
        raise CustomerLoginRequired
    request.state.customer = customer
    return Principal(
        kind="customer", role=Role.CUSTOMER, name=f"customer{customer.id}", customer_id=customer.id
    )


CustomerPage = Annotated[Principal, Depends(page_customer)]


def _site_key(settings: Settings) -> str:
    keys = sorted(settings.site_keys)
    return "demo" if "demo" in keys or not keys else keys[0]


def _base(request: Request, **context: Any) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    customer = getattr(request.state, "customer", None)
    return {
        "customer": customer,
        "masked_phone": _mask(customer.phone) if customer is not None else "",
        "site_key": _site_key(settings),
        "widget_src": str(request.url_for("static", path="widget/widget.js")),
        "section": request.url.path.split("/")[2] if request.url.path.count("/") > 1 else "",
        "faq_category": lambda name: _category_label(request, name),
        **context,
    }


def _category_label(request: Request, name: str) -> str:
    key = f"my.help.cat.{name}"
    return t(key, request_lang(request)) if key in MESSAGES else name


def _mask(phone: str) -> str:
    return mask_phone(phone)


def _safe_next(target: str | None) -> str:
    # Only our own pages: a link of ours must never bounce a customer to another site.
    if target and target.startswith("/my") and not target.startswith("//"):
        return target
    return "/my/tickets"


def _say(request: Request, key: str, **params: object) -> str:
    return t(key, request_lang(request), **params)


# ---------------------------------------------------------------- home and sign-in


@router.get("")
def home(request: Request, session: SessionDep) -> Response:
    """The portal's front page: one search box (FAQ and my tickets), help, a new request, my
    tickets, and a signed-in customer's registered products."""
    customer = request.state.customer = signed_in(request, session)
    units = service.my_units(session, customer_id=customer.id) if customer is not None else []
    return render(
        request, "selfservice/home.html", _base(request, units=units, today=service.today())
    )


@router.get("/search")
def search(
    request: Request,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """One search over the FAQ (by the knowledge base's shared decision) and, when signed in,
    the customer's own tickets: number, product, fault code or words."""
    customer = request.state.customer = signed_in(request, session)
    q = q.strip()
    kb = getattr(request.app.state, "kb", None)
    faq: list[service.FaqItem] = []
    if q and kb is not None:
        band, hits = knowledge.search(session, kb=kb, query=q, k=5, source="help")
        faq = service.faq_hits(hits) if band != "none" else []
    own = []
    if q and customer is not None:
        principal = Principal(
            kind="customer",
            role=Role.CUSTOMER,
            name=f"customer{customer.id}",
            customer_id=customer.id,
        )
        own = service.search_my_tickets(session, principal=principal, q=q)
    context = _base(request, q=q, faq=faq, own=own, kb_ready=kb is not None)
    return render(request, "selfservice/search.html", context)


@router.get("/login")
def login_page(
    request: Request,
    session: SessionDep,
    next: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """Ask for the phone the customer reported with."""
    if signed_in(request, session) is not None:
        return see_other(_safe_next(next))
    if next:
        request.session[SESSION_NEXT] = _safe_next(next)
    return render(request, "selfservice/login.html", _base(request, error=None, phone=""))


@router.post("/login/code")
def send_code(
    request: Request, session: SessionDep, phone: Annotated[str, Form(max_length=30)] = ""
) -> Response:
    """Send a one-time code to the phone (SMS through the outbox; in demo mode, the log)."""
    try:
        normalized = normalize_phone(phone)
    except ValueError:
        error = t("validation.phone_invalid", request_lang(request), field="phone")
        context = _base(request, error=error, phone=phone)
        return render(request, "selfservice/login.html", context, 422)
    _send_code(request, session, normalized)
    request.session[SESSION_PHONE] = normalized
    return see_other("/my/login/verify")


@router.post("/login/resend")
def resend_code(request: Request, session: SessionDep) -> Response:
    """Send another code to the phone the code page is for, within the same limits."""
    phone = request.session.get(SESSION_PHONE)
    if not isinstance(phone, str):
        return see_other("/my/login")
    _send_code(request, session, phone)
    return see_other("/my/login/verify")


def _send_code(request: Request, session: Session, phone: str) -> None:
    """Ask for a code for the phone and say on the next page what happened: sent, or why
    not and when to try again (a too-soon resend, a cap, the SMS budget)."""
    settings: Settings = request.app.state.settings
    try:
        customers.request_code(
            session,
            secret=settings.secret_key,
            phone=phone,
            purpose=PURPOSE,
            ttl_s=settings.otp_ttl_s,
            demo_mode=settings.demo_mode,
            requester=customers.ip_requester(request_address(request, settings.proxies)),
            limits=customers.CodeLimits.from_settings(settings),
        )
    except TooManyRequests as exc:
        # Too soon (the last code still works: ask for it), or over a cap: said on the page,
        # with when to try again.
        zh = f"{exc.message_zh} {_retry_when(exc.retry_after, 'zh')}"
        en = f"{exc.message_en} {_retry_when(exc.retry_after, 'en')}"
        flash(request, "error", zh, en)
    else:
        minutes = settings.otp_ttl_s // 60
        masked = _mask(phone)
        flash(
            request,
            "ok",
            t("my.login.sent", "zh", phone=masked, minutes=minutes),
            t("my.login.sent", "en", phone=masked, minutes=minutes),
        )


def _retry_when(seconds: int, lang: Lang) -> str:
    """When a refused code may be asked for again: in so many seconds, or at a local time."""
    if seconds <= 120:
        return t("my.login.retry_in", lang, seconds=seconds)
    at = now_local() + timedelta(seconds=seconds)
    month = t(f"visit.month.{at.month}", lang)
    when = t("visit.day_time", lang, month=month, day=at.day, time=f"{at:%H:%M}")
    return t("my.login.retry_at", lang, when=when)


@router.get("/login/verify")
def verify_page(request: Request, session: SessionDep) -> Response:
    """Ask for the code sent to the phone; another may be asked for once the wait is over."""
    phone = request.session.get(SESSION_PHONE)
    if not isinstance(phone, str):
        return see_other("/my/login")
    context = _verify_context(request, session, phone, None)
    return render(request, "selfservice/verify.html", context)


def _verify_context(
    request: Request, session: Session, phone: str, error: str | None
) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    wait = customers.code_wait(session, phone=phone, purpose=PURPOSE)
    return _base(request, phone=_mask(phone), error=error, demo=settings.demo_mode, wait=wait)


@router.post("/login/verify")
def verify(
    request: Request, session: SessionDep, code: Annotated[str, Form(max_length=12)] = ""
) -> Response:
    """Check the code; on success the page session belongs to the customer."""
    settings: Settings = request.app.state.settings
    phone = request.session.get(SESSION_PHONE)
    if not isinstance(phone, str):
        return see_other("/my/login")
    try:
        if not re.fullmatch(r"\d{6}", code.strip()):
            raise Invalid("error.code_invalid")
        customer = customers.verify_code(
            session,
            secret=settings.secret_key,
            phone=phone,
            code=code.strip(),
            purpose=PURPOSE,
            requester=customers.ip_requester(request_address(request, settings.proxies)),
            limits=customers.CodeLimits.from_settings(settings),
        )
    except (Invalid, TooManyRequests) as exc:
        # Rendered, not raised: the counted attempt is committed, so 5 misses burn the code.
        message = exc.message_zh if request_lang(request) == "zh" else exc.message_en
        context = _verify_context(request, session, phone, message)
        return render(request, "selfservice/verify.html", context, 422)
    request.session.pop(SESSION_PHONE, None)
    target = _safe_next(request.session.pop(SESSION_NEXT, None))
    request.session[SESSION_CUSTOMER] = customer.id
    return see_other(target)


@router.post("/logout")
def logout(request: Request) -> Response:
    """Forget the signed-in customer."""
    request.session.pop(SESSION_CUSTOMER, None)
    return see_other("/my")


# ---------------------------------------------------------------- help centre


@router.get("/help")
def help_centre(
    request: Request,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    category: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """FAQ categories and search; a "coming soon" block until the knowledge base is there."""
    request.state.customer = signed_in(request, session)
    kb = getattr(request.app.state, "kb", None)
    lang = request_lang(request)
    context = _base(request, q=q.strip(), category=category, kb_ready=kb is not None)
    if kb is not None:
        categories = service.faq_categories(kb, lang)
        context["categories"] = categories
        if not context["q"] and not category:
            context["newest"] = service.newest_entries(session, kb, lang=lang)
            context["popular"] = service.popular_entries(session, kb, lang=lang)
        if context["q"]:
            # Logged: what customers ask and do not find is the editors' to-do list.
            _band, hits = knowledge.search(session, kb=kb, query=context["q"], k=8, source="help")
            context["results"] = service.faq_hits(hits)
        else:
            chosen = category if category in categories else None
            context["category"] = chosen or ""
            context["results"] = service.faq_entries(kb, category=chosen, lang=lang)
    return render(request, "selfservice/help.html", context)


HELPFUL_KEY = "help_voted"  # entries this page session already said were (not) helpful
READ_KEY = "help_read"  # entries this page session already counted as read


@router.get("/help/{entry_id}")
def help_entry(
    request: Request,
    session: SessionDep,
    entry_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")],
) -> Response:
    """One FAQ answer, whether it helped, and questions close to it."""
    request.state.customer = signed_in(request, session)
    kb = getattr(request.app.state, "kb", None)
    item = service.faq_entry(kb, entry_id) if kb is not None else None
    if item is None:
        raise NotFound("object.kb_entry")
    # One read per entry and page session: reloading the page does not make it popular.
    read = [v for v in request.session.get(READ_KEY) or [] if isinstance(v, str)]
    if item.id not in read:
        knowledge_service.record_read(session, entry_id=item.id)
        request.session[READ_KEY] = (read + [item.id])[-50:]
    voted = request.session.get(HELPFUL_KEY) or []
    context = _base(
        request,
        item=item,
        related=service.faq_related(kb, item),
        voted=item.id in voted,
    )
    return render(request, "selfservice/help_entry.html", context)


@router.post("/help/{entry_id}/feedback")
def help_feedback(
    request: Request,
    session: SessionDep,
    entry_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")],
    helpful: Annotated[str, Form(pattern="^(yes|no)$")],
) -> Response:
    """Record whether the answer helped (once per entry and page session)."""
    kb = getattr(request.app.state, "kb", None)
    if kb is None or kb.get(entry_id) is None:
        raise NotFound("object.kb_entry")
    voted = [v for v in request.session.get(HELPFUL_KEY) or [] if isinstance(v, str)]
    if entry_id not in voted:
        knowledge_service.record_feedback(
            session, entry_id=entry_id, helpful=helpful == "yes", source="help"
        )
        request.session[HELPFUL_KEY] = (voted + [entry_id])[-50:]
    flash(request, "ok", t("my.help.thanks", "zh"), t("my.help.thanks", "en"))
    return see_other(f"/my/help/{entry_id}")


# ---------------------------------------------------------------- a new request


def _form_context(
    request: Request,
    session: Session,
    customer: Customer,
    *,
    type_: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    described = {d["type"]: d for d in intake.describe()}
    template = described.get(type_) or described["repair"]
    required = [group for group in template["to_create"] if group != ["phone"]]
    shown = {name for group in template["to_create"] for name in group}
    extras = [f for f in service.EXTRA_FIELDS if f not in shown]
    errors = errors or {}
    on_form = shown | set(extras)
    anchors = [key.split("|")[0] for key in errors]
    return _base(
        request,
        types=list(described),
        type_labels=TICKET_TYPE_LABELS,
        type=template["type"],
        required=required,
        extras=extras,
        urgencies=service.URGENCIES,
        values={"phone": customer.phone, **(values or {})},
        # The customer's registered units (choosing one fills product, model and serial
        # number) and the catalogue's products the product field suggests.
        units=[
            (unit, service.unit_address(unit, customer))
            for unit in service.my_units(session, customer_id=customer.id)
        ],
        products=products.offered(session),
        asks_product="product" in shown,
        errors=errors,
        # The summary at the top: each error once, linked to its field (a group's first).
        error_list=[
            (anchor if anchor in on_form else "", message)
            for anchor, message in zip(anchors, errors.values(), strict=True)
        ],
        request_key=uuid.uuid4().hex,
    )


def _names_a_product(value: str) -> bool:
    """A product name: two characters at least, a letter or a Han character among them."""
    return len(value) >= 2 and any(ch.isalpha() for ch in value)


def _finds_the_door(value: str) -> bool:
    """An address an engineer could follow: five characters at least, not only numbers."""
    compact = "".join(value.split())
    return len(compact) >= 5 and any(ch.isalpha() for ch in compact)


def _window_error(reason: WindowErrorReason | None, lang: Lang) -> str:
    """Why a preferred time cannot be booked; one it cannot read names what it reads."""
    if reason in (None, "unparsed"):
        # A date two days ahead, so the example is always one that would be taken.
        example = f"{now_local() + timedelta(days=2):%Y-%m-%d} 14:00"
        return t("my.request.bad_time", lang, example=example)
    return t(f"console.error.window_{reason}", lang)


def _read_product(session: Session, values: dict[str, str], lang: Lang) -> dict[str, str]:
    """The typed product read against the catalogue: replaced in `values` by the catalogue's
    name it reads as; else why not (it could be several, or is none we service)."""
    typed = values.get("product", "")
    reading = products.read_product(session, typed) if typed else None
    if reading is None:
        return {}
    if reading.product is not None:
        values["product"] = reading.product
        return {}
    comma = "、" if lang == "zh" else ", "
    if reading.candidates:
        named = comma.join(reading.candidates)
        return {"product": t("my.request.product_which", lang, typed=typed, candidates=named)}
    known = comma.join(category_filter({"lang": lang}, c) for c in reading.categories)
    return {"product": t("my.request.product_unknown", lang, typed=typed, known=known)}


def _read_request(
    values: dict[str, str], lang: Lang, found: dict[str, str] | None = None
) -> tuple[TicketCreate | None, dict[str, str]]:
    """The ticket the form asks for, or every reason it cannot be opened, in form order.

    Errors are keyed by field; a group of which any one will do (product, model, serial
    number) is keyed by the group ("product|model_code|serial_number"). A preferred time is
    read as the bot and the desk read it and stored as the window dispatch books. `found`:
    errors already found (the product read against the catalogue).
    """
    errors: dict[str, str] = dict(found or {})
    template = intake.TEMPLATES.get(values.get("type", "repair"))
    for group in intake.missing(values, template.to_create) if template else []:
        first = group.split("|")[0]
        if "|" in group:
            errors[group] = t("my.request.no_product", lang)
        else:
            errors[first] = t("validation.missing", lang, field=first)
    product, address = values.get("product", ""), values.get("address", "")
    if product and not _names_a_product(product):
        errors.setdefault("product", t("my.request.bad_product", lang))
    if address and not _finds_the_door(address):
        errors["address"] = t("my.request.bad_address", lang)
    window: VisitWindow | None = None
    if values.get("preferred_time"):
        window, reason = find_window(values["preferred_time"])
        if window is None:
            errors["preferred_time"] = _window_error(reason, lang)
    read = {**values, "channel": "portal"}
    if window is not None:
        read["preferred_time"] = window.canonical
    data: TicketCreate | None = None
    try:
        data = TicketCreate.model_validate(read)
    except ValidationError as exc:
        for e in validation_errors([dict(e) for e in exc.errors()]):
            errors.setdefault(e["field"], e["message_zh" if lang == "zh" else "message_en"])

    def place(key: str) -> int:
        first = key.split("|")[0]
        return FORM_FIELDS.index(first) if first in FORM_FIELDS else len(FORM_FIELDS)

    ordered = {key: errors[key] for key in sorted(errors, key=place)}
    return (None if ordered else data), ordered


@router.get("/request")
def request_form(
    request: Request,
    session: SessionDep,
    principal: CustomerPage,
    type: Annotated[str, Query(max_length=32)] = "repair",
    unit: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> Response:
    """The intake form of a ticket type: the same structured templates the bot fills,
    starting from the customer's usual address; `unit`, one of their registered units,
    fills its product, model and serial number (the picker, without script)."""
    customer: Customer = request.state.customer
    values = {"address": service.usual_address(session, customer=customer)}
    chosen = next(
        (u for u in service.my_units(session, customer_id=customer.id) if u.id == unit), None
    )
    if chosen is not None:
        values |= {
            "product": chosen.model.product.name,
            "model_code": chosen.model.code,
            "serial_number": chosen.serial_number,
        }
        values["address"] = service.unit_address(chosen, customer) or values["address"]
    values = {k: v for k, v in values.items() if v}
    context = _form_context(request, session, customer, type_=type, values=values)
    context["unit"] = chosen.id if chosen is not None else None
    return render(request, "selfservice/request.html", context)


@router.post("/request")
async def submit_request(
    request: Request, session: SessionDep, principal: CustomerPage
) -> Response:
    """Open a ticket for the signed-in customer; a double submit opens it once."""
    customer: Customer = request.state.customer
    form = await request.form()
    values = {k: str(form.get(k) or "").strip()[:2000] for k in FORM_FIELDS if form.get(k)}
    type_ = values.get("type", "repair")
    key = str(form.get("request_key") or "")
    lang = request_lang(request)

    def again(errors: dict[str, str]) -> Response:
        context = _form_context(
            request, session, customer, type_=type_, values=values, errors=errors
        )
        return render(request, "selfservice/request.html", context, 422)

    data, errors = _read_request(values, lang, _read_product(session, values, lang))
    if data is None:
        return again(errors)
    idempotency_key = f"selfservice:{customer.id}:{key}" if REQUEST_KEY.fullmatch(key) else None
    try:
        ticket, _created = tickets.create_ticket(
            session,
            data=data,
            actor=principal.actor,
            idempotency_key=idempotency_key,
            customer=customer,
        )
    except Invalid as exc:
        return again({exc.field or "": exc.message_zh if lang == "zh" else exc.message_en})
    flash(
        request,
        "ok",
        t("my.request.done", "zh", number=ticket.number),
        t("my.request.done", "en", number=ticket.number),
    )
    return see_other(f"/my/tickets/{ticket.number}")


# ---------------------------------------------------------------- my tickets


@router.get("/tickets")
def my_tickets(request: Request, session: SessionDep, principal: CustomerPage) -> Response:
    """The customer's tickets, newest first."""
    rows, total = tickets.list_tickets(session, principal=principal, page_size=100)
    views = [service.ticket_view(session, ticket) for ticket in rows]
    return render(request, "selfservice/tickets.html", _base(request, views=views, total=total))


def _own_ticket(session: Session, number: str, principal: Principal) -> service.TicketView:
    if not re.fullmatch(r"SR\d{8}-\d{4,6}", number):
        raise NotFound("object.ticket")  # only numbers: an id would be guessable
    ticket = tickets.get_ticket(session, ref=number, principal=principal)
    return service.ticket_view(session, ticket)


@router.get("/tickets/{number}")
def ticket_page(
    number: str, request: Request, session: SessionDep, principal: CustomerPage
) -> Response:
    """One ticket: its progress (refreshed live), the engineer and ETA, and rating."""
    return _ticket_page(request, session, number, principal)


def _ticket_page(
    request: Request,
    session: Session,
    number: str,
    principal: Principal,
    *,
    visit_form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The ticket page; with `visit_form`, the visit form holds what was sent and why not."""
    view = _own_ticket(session, number, principal)
    money = service.money_view(session, view.ticket)
    visit = visits.visit_view(session, view.ticket)
    evidence = kept_evidence(request, number)
    context = _base(
        request,
        view=view,
        money=money,
        purchase_date=evidence["purchase_date"],
        evidence_error=evidence,
        visit=visit,
        visit_label=visits.statement(visit, request_lang(request)),
        complaint=complaints.asked_of(session, ticket_id=view.ticket.id),
        visit_parts=visits.PARTS,
        visit_form=visit_form
        or {
            "day": visits.default_day(visit).isoformat(),
            "part": visits.default_part(visit),
            "error": "",
        },
    )
    return render(request, "selfservice/ticket.html", context, status_code)


@router.get("/tickets/{number}/live")
def ticket_progress(
    number: str, request: Request, session: SessionDep, principal: CustomerPage
) -> Response:
    """The progress block alone, which the ticket page polls."""
    view = _own_ticket(session, number, principal)
    return render(request, "selfservice/_progress.html", _base(request, view=view))


@router.post("/tickets/{number}/rate")
def rate(
    number: str,
    request: Request,
    session: SessionDep,
    principal: CustomerPage,
    score: Annotated[int, Form(ge=1, le=5)],
    comment: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Rate a finished job (1–5 and an optional comment)."""
    settings: Settings = request.app.state.settings
    view = _own_ticket(session, number, principal)
    try:
        tickets.transition(
            session,
            ticket=view.ticket,
            req=TransitionRequest(action="evaluate", score=score, comment=comment.strip()),
            principal=principal,
            reopen_window=timedelta(days=settings.reopen_window_days),
        )
    except PortalError as exc:  # e.g. rated already, in another tab
        flash(request, "error", exc.message_zh, exc.message_en)
    else:
        flash(request, "ok", t("my.rate.thanks", "zh"), t("my.rate.thanks", "en"))
    return see_other(f"/my/tickets/{number}")


# ---------------------------------------------------------------- warranty, quotes, receipt


@router.post("/tickets/{number}/warranty")
async def give_evidence(
    number: str,
    request: Request,
    session: SessionDep,
    principal: CustomerPage,
    purchase_date: Annotated[str, Form(max_length=10)] = "",
    invoice: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """The customer's proof of purchase when no unit is registered: date and invoice photo."""
    settings: Settings = request.app.state.settings
    view = _own_ticket(session, number, principal)
    url = f"/my/tickets/{number}#warranty"
    try:
        bought = date.fromisoformat(purchase_date.strip()) if purchase_date.strip() else None
    except ValueError:
        bought = None
    data = await invoice.read(settings.upload_max_bytes + 1) if invoice else b""
    try:
        service.give_evidence(
            session,
            ticket=view.ticket,
            purchase_date=bought,
            invoice=data,
            filename=(invoice.filename if invoice else "") or "",
            principal=principal,
            root=settings.uploads_path,
            max_bytes=settings.upload_max_bytes,
        )
    except PortalError as exc:
        session.rollback()
        # The reason goes next to the field it is about (on a phone a message at the top of
        # the page is off-screen), with the date typed.
        request.session[EVIDENCE_DRAFT] = {
            "number": number,
            "purchase_date": purchase_date,
            "error_zh": exc.message_zh,
            "error_en": exc.message_en,
            "field": str(getattr(exc, "field", None) or ""),
        }
        return see_other(url)
    flash(request, "ok", t("my.warranty.saved", "zh"), t("my.warranty.saved", "en"))
    return see_other(url)


EVIDENCE_DRAFT = "my_evidence"


def kept_evidence(request: Request, number: str) -> dict[str, str]:
    """What a refused proof of purchase held (the date typed, never lost) and why it was
    refused: purchase_date, error (in the reader's language) and the field it is about."""
    kept = request.session.pop(EVIDENCE_DRAFT, None)
    if not (isinstance(kept, dict) and kept.get("number") == number):
        return {"purchase_date": "", "error": "", "field": ""}
    lang = request_lang(request)
    return {
        "purchase_date": str(kept.get("purchase_date") or ""),
        "error": str(kept.get("error_zh" if lang == "zh" else "error_en") or ""),
        "field": str(kept.get("field") or ""),
    }


@router.post("/tickets/{number}/quotes/{quote_id}")
def answer_quote(
    number: str,
    quote_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    request: Request,
    session: SessionDep,
    principal: CustomerPage,
    answer: Annotated[str, Form(pattern="^(accept|reject)$")],
) -> Response:
    """Accept or decline the engineer's quote."""
    view = _own_ticket(session, number, principal)
    quote = service.quote_of(session, ticket=view.ticket, quote_id=quote_id)
    try:
        settlement_flows.decide_quote(
            session, quote=quote, accept=answer == "accept", actor=principal.actor
        )
    except PortalError as exc:  # answered already (in the chat, in another tab)
        session.rollback()
        flash(request, "error", exc.message_zh, exc.message_en)
    else:
        key = "my.quote.done_accept" if answer == "accept" else "my.quote.done_reject"
        flash(request, "ok", t(key, "zh"), t(key, "en"))
    return see_other(f"/my/tickets/{number}#quote")


@router.get("/tickets/{number}/receipt")
def receipt(
    number: str, request: Request, session: SessionDep, principal: CustomerPage
) -> Response:
    """The service receipt (电子回执): the work, the parts, the fee, what was paid; printable."""
    view = _own_ticket(session, number, principal)
    money = service.money_view(session, view.ticket)
    if money.completed_at is None:
        raise NotFound("object.receipt")
    return render(request, "selfservice/receipt.html", _base(request, view=view, money=money))


# ---------------------------------------------------------------- the visit


@router.post("/tickets/{number}/visit")
def move_visit(
    number: str,
    request: Request,
    session: SessionDep,
    principal: CustomerPage,
    day: Annotated[str, Form(max_length=10)] = "",
    part: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Move the visit to another day and part of the day (until the engineer is on site)."""
    view = _own_ticket(session, number, principal)
    try:
        window = visits.reschedule(
            session, ticket=view.ticket, day=day, part=part, principal=principal
        )
    except PortalError as exc:
        session.rollback()
        message = exc.message_zh if request_lang(request) == "zh" else exc.message_en
        form = {"day": day, "part": part, "error": message}
        return _ticket_page(request, session, number, principal, visit_form=form, status_code=422)
    flash(
        request,
        "ok",
        t("my.visit.moved", "zh", window=window.label("zh")),
        t("my.visit.moved", "en", window=window.label("en")),
    )
    return see_other(f"/my/tickets/{number}#visit")


@router.post("/tickets/{number}/cancel")
def cancel_visit(
    number: str,
    request: Request,
    session: SessionDep,
    principal: CustomerPage,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Cancel the request (while the lifecycle lets a customer: before the engineer arrives)."""
    settings: Settings = request.app.state.settings
    view = _own_ticket(session, number, principal)
    try:
        tickets.transition(
            session,
            ticket=view.ticket,
            req=TransitionRequest(action="cancel", reason=reason.strip()),
            principal=principal,
            reopen_window=timedelta(days=settings.reopen_window_days),
        )
    except PortalError as exc:
        session.rollback()
        message = exc.message_zh if request_lang(request) == "zh" else exc.message_en
        form = {"day": "", "part": "", "error": message, "reason": reason}
        return _ticket_page(request, session, number, principal, visit_form=form, status_code=409)
    flash(request, "ok", t("my.visit.cancelled", "zh"), t("my.visit.cancelled", "en"))
    return see_other(f"/my/tickets/{number}")
