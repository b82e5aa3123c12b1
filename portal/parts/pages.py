"""Parts pages: stock by location and part, movement history, shortage orders, and an
engineer's van on the phone. Thin; the rules live in service and flows."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select

from portal.accounts.service import actor_names
from portal.database import SessionDep, utcnow
from portal.errors import Forbidden, Invalid, NotFound, PortalError
from portal.i18n import both, t
from portal.ids import MAX_ID, MIN_ID, IdPath, IdQuery
from portal.networks.models import Engineer, ServiceNetwork
from portal.parts import export, flows, policies, service
from portal.parts.models import DefectiveReturn, Part, StockLocation
from portal.parts.policies import StockPage, VanPage
from portal.parts.schemas import StockCountRequest
from portal.parts.views import van_read
from portal.security import Principal
from portal.templating import (
    DISPLAY_ZONE,
    PAGE_ROUTER_OPTIONS,
    flash,
    flash_error,
    flash_invalid,
    render,
    request_lang,
    see_other,
)
from portal.tickets.models import Ticket

router = APIRouter(**PAGE_ROUTER_OPTIONS)


# A filter's id as its select sends it: the "all" option is an empty value (no filter).
# Text, as the ticket list's network filter, so "" is not a 422; `_id` bounds it.
FilterId = Annotated[str, Query(max_length=10, pattern=r"^\d*$")]


def _id(text: str, field: str) -> int | None:
    """A filter's id, or None for none; one no id column can hold is a 422 naming it."""
    if not text:
        return None
    value = int(text)
    if value < MIN_ID:
        raise Invalid("validation.at_least", field=field, limit=MIN_ID)
    if value > MAX_ID:
        raise Invalid("validation.at_most", field=field, limit=MAX_ID)
    return value


# Who reads stock (the nav's links follow it) and who may count it: the parts policies.
STOCK_ROLES = policies.STOCK.roles
StockUser = StockPage


def _scope(user: Principal) -> tuple[int, ...] | None:
    return policies.network_filter(policies.STOCK.scope(user))


def _choices(session: SessionDep, user: Principal) -> dict[str, object]:
    scope = _scope(user)
    return {
        "locations": service.list_locations(session, network_id=scope),
        "parts": service.list_parts(session),
    }


@router.get("/parts", response_class=Response)
def parts_home(user: StockUser) -> Response:
    """The parts section opens on the stock."""
    return see_other("/parts/stock")


@router.get("/parts/stock", response_class=Response)
def stock_page(
    request: Request,
    session: SessionDep,
    user: StockUser,
    location_id: FilterId = "",
    part_id: FilterId = "",
    low: bool = False,
) -> Response:
    """Stock by location and part, low-stock alerts first."""
    location, part = _id(location_id, "location_id"), _id(part_id, "part_id")
    rows = service.stock(
        session, location_id=location, part_id=part, network_id=_scope(user), low_only=low
    )
    alerts = service.low_stock(session, network_id=_scope(user))
    return render(
        request,
        "parts/stock.html",
        {
            "rows": rows,
            "alerts": alerts,
            "location_id": location,
            "part_id": part,
            "low": low,
            "tab": "stock",
            "may_count": policies.MOVE.allows(user),
            # The export takes the filters the page shows.
            "export_query": urlencode(
                [(k, v) for k, v in (("location_id", location), ("part_id", part)) if v is not None]
                + ([("low", "true")] if low else [])
            ),
            **_choices(session, user),
        },
    )


@router.post("/parts/stock/count", response_class=Response)
def count_stock(
    request: Request,
    session: SessionDep,
    user: Annotated[Principal, policies.MOVE.page],
    location_id: Annotated[str, Form(max_length=12)] = "",
    part_id: Annotated[str, Form(max_length=12)] = "",
    counted: Annotated[str, Form(max_length=12)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """A stock count (盘点调整) from the stock page: the books follow the shelf."""
    back = "/parts/stock"
    try:
        data = StockCountRequest.model_validate(
            {"location_id": location_id, "part_id": part_id, "counted": counted, "reason": reason}
        )
    except ValidationError as exc:
        flash_invalid(request, exc.errors())
        return see_other(back)
    back = f"/parts/stock?location_id={data.location_id}&part_id={data.part_id}"
    location = session.get(StockLocation, data.location_id)
    if location is None or not policies.location_visible(policies.MOVE.scope(user), location):
        raise NotFound("object.stock_location")
    try:
        with session.begin_nested():
            done = flows.count_stock(
                session,
                location=location,
                part=service.get_part(session, part_id=data.part_id),
                counted=data.counted,
                reason=data.reason,
                principal=user,
            )
    except PortalError as exc:
        flash_error(request, exc)
        return see_other(back)
    zh, en = both("parts.counted", counted=done.counted, delta=f"{done.delta:+d}")
    flash(request, "ok", zh, en)
    return see_other(back)


@router.get("/parts/movements", response_class=Response)
def movements_page(
    request: Request,
    session: SessionDep,
    user: StockUser,
    location_id: FilterId = "",
    part_id: FilterId = "",
    ticket_id: FilterId = "",
) -> Response:
    """The movement ledger, newest first."""
    location, part = _id(location_id, "location_id"), _id(part_id, "part_id")
    ticket = _id(ticket_id, "ticket_id")
    rows = service.movements(
        session,
        location_id=location,
        part_id=part,
        ticket_id=ticket,
        network_id=_scope(user),
        limit=300,
    )
    ids = {m.ticket_id for m in rows if m.ticket_id} | {
        m.counter_location_id for m in rows if m.counter_location_id
    }
    numbers = dict(
        session.execute(select(Ticket.id, Ticket.number).where(Ticket.id.in_(ids))).all()
    )
    names = dict(
        session.execute(
            select(StockLocation.id, StockLocation.name).where(StockLocation.id.in_(ids))
        ).all()
    )
    return render(
        request,
        "parts/movements.html",
        {
            "rows": rows,
            "actors": actor_names(session, [m.actor for m in rows], request_lang(request)),
            "numbers": numbers,
            "names": names,
            "location_id": location,
            "part_id": part,
            "ticket_id": ticket,
            "tab": "movements",
            **_choices(session, user),
        },
    )


@router.get("/parts/shortages", response_class=Response)
def shortages_page(
    request: Request,
    session: SessionDep,
    user: StockUser,
    status: Annotated[str | None, Query(pattern=r"^(open|fulfilled|cancelled)$")] = "open",
) -> Response:
    """Shortage orders (缺件订单) with what each location has free."""
    rows = service.list_shortages(session, status=status, network_id=_scope(user))
    numbers = dict(
        session.execute(
            select(Ticket.id, Ticket.number).where(Ticket.id.in_({r.ticket_id for r in rows}))
        ).all()
    )
    free = {
        r.id: service.available(session, location_id=r.location_id, part_id=r.part_id) for r in rows
    }
    central = service.central(session)
    central_free = {
        r.id: service.available(session, location_id=central.id, part_id=r.part_id) for r in rows
    }
    returns = service.list_returns(session, network_id=_scope(user))
    return render(
        request,
        "parts/shortages.html",
        {
            "rows": rows,
            "numbers": numbers,
            "free": free,
            "central_free": central_free,
            "status": status,
            "returns": [r for r in returns if r.status in ("awaiting", "shipped")],
            "tab": "shortages",
        },
    )


@router.post("/parts/shortages/{shortage_id}/{how}", response_class=Response)
def serve_shortage(
    request: Request,
    shortage_id: IdPath,
    how: Annotated[str, Path(pattern=r"^(fulfil|ship)$")],
    session: SessionDep,
    user: Annotated[Principal, policies.MOVE.page],
) -> Response:
    """Serve a shortage order from the local stock, or ship it from the central warehouse."""
    order = service.get_shortage(session, shortage_id=shortage_id)
    location = session.get_one(StockLocation, order.location_id)
    if not policies.location_visible(policies.MOVE.scope(user), location):
        raise NotFound("object.shortage")
    if how == "ship" and not policies.CENTRAL.allows(user):
        raise Forbidden("error.forbidden")
    try:
        with session.begin_nested():
            if how == "ship":
                done = flows.ship_from_central(session, order=order, principal=user)
            else:
                done = flows.fulfil(session, order=order, actor=user)
    except PortalError as exc:
        flash_error(request, exc)
        return see_other("/parts/shortages")
    key = "parts.fulfilled" if done else "parts.still_short"
    zh, en = both(key, number=order.number)
    flash(request, "ok" if done else "error", zh, en)
    return see_other("/parts/shortages")


@router.get("/parts/van", response_class=Response)
def van_page(
    request: Request, session: SessionDep, user: VanPage, engineer_id: IdQuery = None
) -> Response:
    """An engineer's van stock, made for a phone (an engineer sees their own)."""
    scope = policies.VAN.scope(user)
    if scope.engineer_id is not None:
        engineer_id = scope.engineer_id
    engineer = session.get(Engineer, engineer_id) if engineer_id is not None else None
    if engineer is None or not policies.engineer_visible(scope, engineer):
        raise NotFound("object.engineer")
    return render(request, "parts/van.html", van_context(session, engineer))


def van_context(session: SessionDep, engineer: Engineer) -> dict[str, Any]:
    """A van page's context: the van, and the ticket numbers and parts its lines show (by
    their name in the reader's language; the stock pages here and the engineer's own page
    in portal/field)."""
    van = van_read(session, engineer=engineer)
    ids = {r.ticket_id for r in van.reservations} | {r.ticket_id for r in van.returns}
    numbers = dict(
        session.execute(select(Ticket.id, Ticket.number).where(Ticket.id.in_(ids))).all()
    )
    part_ids = {r.part_id for r in van.reservations} | {r.part_id for r in van.returns}
    part_names = {p.id: p for p in session.scalars(select(Part).where(Part.id.in_(part_ids)))}
    return {"engineer": engineer, "van": van, "numbers": numbers, "part_names": part_names}


# ---- stock export ------------------------------------------------------------------------


@router.get("/parts/stock/export", response_class=Response)
def export_stock(
    request: Request,
    session: SessionDep,
    user: StockUser,
    format: Annotated[str, Query(pattern=r"^(csv|xlsx)$")] = "xlsx",
    location_id: FilterId = "",
    part_id: FilterId = "",
    low: bool = False,
) -> Response:
    """The stock the page shows, with the same filters, as an Excel workbook or CSV."""
    rows = service.stock(
        session,
        location_id=_id(location_id, "location_id"),
        part_id=_id(part_id, "part_id"),
        network_id=_scope(user),
        low_only=low,
    )
    lang = request_lang(request)
    if format == "xlsx":
        body, media = export.stock_xlsx(rows, lang), export.XLSX
    else:
        body, media = export.stock_csv(rows, lang), "text/csv; charset=utf-8"
    stamp = utcnow().astimezone(DISPLAY_ZONE).strftime("%Y%m%d-%H%M")
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="stock-{stamp}.{format}"'},
    )


# ---- defective returns (旧件返还) -----------------------------------------------------------

RETURN_STATUSES = ("awaiting", "shipped", "received", "repaired", "scrapped")
# What the list shows first: the returns still on their way (not yet inspected).
OPEN_RETURNS = ("awaiting", "shipped", "received")
ReturnsPage = Annotated[Principal, policies.RETURNS.page]
ReturnWorker = Annotated[Principal, policies.TICKET.page]


def _returns_context(
    session: SessionDep, user: Principal, status: str, typed: dict[int, str] | None = None
) -> dict[str, Any]:
    """The returns the caller sees with the given step (open: every one not yet inspected),
    who holds each, and which steps the caller may take on each."""
    scope = policies.RETURNS.scope(user)
    if scope.nothing:
        every: list[DefectiveReturn] = []
    else:
        engineer_id = scope.engineer_id
        network_id = None if scope.everything or engineer_id is not None else scope.network_ids
        every = service.list_returns(session, engineer_id=engineer_id, network_id=network_id)
    counts = {s: sum(1 for r in every if r.status == s) for s in RETURN_STATUSES}
    counts["open"] = sum(counts[s] for s in OPEN_RETURNS)
    counts["overdue"] = sum(1 for r in every if r.overdue)
    counts["all"] = len(every)
    wanted = OPEN_RETURNS if status == "open" else RETURN_STATUSES if status == "all" else (status,)
    if status == "overdue":
        rows = [r for r in every if r.overdue]
    else:
        rows = [r for r in every if r.status in wanted]
    engineers = {
        e.id: e
        for e in session.scalars(
            select(Engineer).where(Engineer.id.in_({r.engineer_id for r in rows if r.engineer_id}))
        )
    }
    network_ids = {e.network_id for e in engineers.values() if e.network_id}
    ship_scope = policies.TICKET.scope(user)
    may_ship = {
        r.id
        for r in rows
        if r.status == "awaiting"
        and policies.TICKET.allows(user)
        and (
            ship_scope.everything
            or (
                r.engineer_id in engineers
                and policies.engineer_visible(ship_scope, engineers[r.engineer_id])
            )
        )
    }
    today = utcnow()
    return {
        "rows": rows,
        "status": status,
        "statuses": ("open", "overdue", *RETURN_STATUSES, "all"),
        "counts": counts,
        "numbers": dict(
            session.execute(
                select(Ticket.id, Ticket.number).where(Ticket.id.in_({r.ticket_id for r in rows}))
            ).all()
        ),
        "engineers": engineers,
        "networks": dict(
            session.execute(
                select(ServiceNetwork.id, ServiceNetwork.name).where(
                    ServiceNetwork.id.in_(network_ids)
                )
            ).all()
        ),
        "locations": dict(
            session.execute(
                select(StockLocation.id, StockLocation.name).where(
                    StockLocation.id.in_({r.to_location_id for r in rows})
                )
            ).all()
        ),
        "age": {r.id: (today - r.created_at).days for r in rows},
        "late": {r.id: r.days_overdue(today) for r in rows if r.overdue},
        "may_ship": may_ship,
        "may_desk": policies.CENTRAL.allows(user) and policies.TICKET.allows(user),
        "may_stock": policies.STOCK.allows(user),
        "typed": typed or {},
        "tab": "returns",
    }


@router.get("/parts/returns", response_class=Response)
def returns_page(
    request: Request,
    session: SessionDep,
    user: ReturnsPage,
    status: Annotated[
        str, Query(pattern=r"^(open|overdue|all|awaiting|shipped|received|repaired|scrapped)$")
    ] = "open",
) -> Response:
    """Defective parts on their way back (旧件返还), oldest first, by step: awaiting, shipped
    (with the tracking number), received at the warehouse, inspected (repaired or scrapped);
    or the overdue ones (not shipped by their due time)."""
    return render(request, "parts/returns.html", _returns_context(session, user, status))


@router.post("/parts/returns/{return_id}", response_class=Response)
def advance_return(
    request: Request,
    return_id: IdPath,
    session: SessionDep,
    user: ReturnWorker,
    step: Annotated[str, Form(pattern=r"^(ship|receive|repair|scrap)$")],
    tracking: Annotated[str, Form(max_length=200)] = "",
    back: Annotated[
        str, Form(pattern=r"^(open|overdue|all|awaiting|shipped|received|repaired|scrapped)$")
    ] = "open",
) -> Response:
    """Move a return on: the engineer or their network ships it with the courier's tracking
    number; the parts desk receives it, then inspects it (repaired into stock, or scrapped)."""
    ret = service.get_return(session, return_id=return_id)
    engineer = session.get(Engineer, ret.engineer_id) if ret.engineer_id else None
    scope = policies.TICKET.scope(user)
    if not scope.everything and (
        engineer is None or not policies.engineer_visible(scope, engineer)
    ):
        raise NotFound("object.defective_return")
    if step != "ship" and not policies.CENTRAL.allows(user):
        raise Forbidden("error.forbidden")
    tracking = tracking.strip()
    try:
        if step == "ship" and not tracking:
            raise Invalid("ui.returns.tracking_needed", field="tracking")
        if len(tracking) > 64:
            raise Invalid("validation.too_long", field="tracking")
        with session.begin_nested():
            service.advance_return(session, ret=ret, step=step, actor=user.actor, tracking=tracking)
    except PortalError as exc:
        session.refresh(ret)
        context = _returns_context(session, user, back, typed={ret.id: tracking})
        in_zh = request_lang(request) == "zh"
        context["error"] = {"id": ret.id, "message": exc.message_zh if in_zh else exc.message_en}
        return render(request, "parts/returns.html", context, status_code=422)
    key = f"ui.returns.done.{step}"
    zh = t(key, "zh", part=ret.part.label("zh"), number=ret.id)
    flash(request, "ok", zh, t(key, "en", part=ret.part.label("en"), number=ret.id))
    return see_other(f"/parts/returns?status={back}")
