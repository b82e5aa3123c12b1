"""Parts pages: stock by location and part, movement history, shortage orders, and an
engineer's van on the phone. Thin; the rules live in service and flows."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select

from portal.database import SessionDep
from portal.errors import Forbidden, NotFound, PortalError
from portal.i18n import both
from portal.networks.models import Engineer
from portal.parts import flows, service
from portal.parts.models import Part, StockLocation
from portal.parts.schemas import StockCountRequest
from portal.parts.views import van_read
from portal.security import Principal
from portal.templating import (
    PAGE_ROUTER_OPTIONS,
    Staff,
    flash,
    flash_error,
    flash_invalid,
    render,
    see_other,
)
from portal.tickets.models import Ticket

router = APIRouter(**PAGE_ROUTER_OPTIONS)

STOCK_ROLES = frozenset({"admin", "dispatcher", "finance", "network_manager"})
COUNT_ROLES = frozenset({"admin", "dispatcher", "network_manager"})  # finance only reads
IdQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


def stock_staff(user: Staff) -> Principal:
    """Whoever reads stock: the parts desk, finance, a network manager (their network's)."""
    if user.role not in STOCK_ROLES:
        raise Forbidden("error.forbidden")
    return user


StockUser = Annotated[Principal, Depends(stock_staff)]


def _scope(user: Principal) -> int | None:
    if user.role == "network_manager":
        return user.network_id if user.network_id is not None else -1
    return None


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
    location_id: IdQuery = None,
    part_id: IdQuery = None,
    low: bool = False,
) -> Response:
    """Stock by location and part, low-stock alerts first."""
    rows = service.stock(
        session, location_id=location_id, part_id=part_id, network_id=_scope(user), low_only=low
    )
    alerts = service.low_stock(session, network_id=_scope(user))
    return render(
        request,
        "parts/stock.html",
        {
            "rows": rows,
            "alerts": alerts,
            "location_id": location_id,
            "part_id": part_id,
            "low": low,
            "tab": "stock",
            "may_count": user.role in COUNT_ROLES,
            **_choices(session, user),
        },
    )


@router.post("/parts/stock/count", response_class=Response)
def count_stock(
    request: Request,
    session: SessionDep,
    user: StockUser,
    location_id: Annotated[str, Form(max_length=12)] = "",
    part_id: Annotated[str, Form(max_length=12)] = "",
    counted: Annotated[str, Form(max_length=12)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """A stock count (盘点调整) from the stock page: the books follow the shelf."""
    if user.role not in COUNT_ROLES:
        raise Forbidden("error.forbidden")
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
    if location is None or (
        user.role == "network_manager" and location.network_id != user.network_id
    ):
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
    location_id: IdQuery = None,
    part_id: IdQuery = None,
    ticket_id: IdQuery = None,
) -> Response:
    """The movement ledger, newest first."""
    rows = service.movements(
        session,
        location_id=location_id,
        part_id=part_id,
        ticket_id=ticket_id,
        network_id=_scope(user),
        limit=300,
    )
    ids = {m.ticket_id for m in rows if m.ticket_id} | {
        m.counter_location_id for m in rows if m.counter_location_id
    }
    numbers = dict(
        session.execute(select(Ticket.id, Ticket.number).where(Ticket.id.in_(ids))).tuples().all()
    )
    names = dict(
        session.execute(
            select(StockLocation.id, StockLocation.name).where(StockLocation.id.in_(ids))
        )
        .tuples()
        .all()
    )
    return render(
        request,
        "parts/movements.html",
        {
            "rows": rows,
            "numbers": numbers,
            "names": names,
            "location_id": location_id,
            "part_id": part_id,
            "ticket_id": ticket_id,
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
        )
        .tuples()
        .all()
    )
    free = {
        r.id: service.available(session, location_id=r.location_id, part_id=r.part_id) for r in rows
    }
    central = service.central(session)
    central_free = {
        r.id: service.available(session, location_id=central.id, part_id=r.part_id) for r in rows
    }
    returns = service.list_returns(
        session, network_id=user.network_id if user.role == "network_manager" else None
    )
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
    user: StockUser,
) -> Response:
    """Serve a shortage order from the local stock, or ship it from the central warehouse."""
    order = service.get_shortage(session, shortage_id=shortage_id)
    location = session.get_one(StockLocation, order.location_id)
    allowed = user.role in ("admin", "dispatcher") or (
        how == "fulfil"
        and user.role == "network_manager"
        and location.network_id == user.network_id
    )
    if not allowed:
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
    request: Request, session: SessionDep, user: Staff, engineer_id: IdQuery = None
) -> Response:
    """An engineer's van stock, made for a phone (an engineer sees their own)."""
    if user.role == "engineer":
        engineer_id = user.engineer_id
    elif user.role not in STOCK_ROLES:
        raise Forbidden("error.forbidden")
    engineer = session.get(Engineer, engineer_id) if engineer_id is not None else None
    if engineer is None or (
        user.role == "network_manager" and engineer.network_id != user.network_id
    ):
        raise NotFound("object.engineer")
    return render(request, "parts/van.html", van_context(session, engineer))


def van_context(session: SessionDep, engineer: Engineer) -> dict[str, Any]:
    """A van page's context: the van, and the ticket numbers and part names its lines show
    (the stock pages here and the engineer's own page in portal/field)."""
    van = van_read(session, engineer=engineer)
    ids = {r.ticket_id for r in van.reservations} | {r.ticket_id for r in van.returns}
    numbers = dict(
        session.execute(select(Ticket.id, Ticket.number).where(Ticket.id.in_(ids))).tuples().all()
    )
    part_ids = {r.part_id for r in van.reservations} | {r.part_id for r in van.returns}
    part_names = dict(
        session.execute(select(Part.id, Part.name).where(Part.id.in_(part_ids))).tuples().all()
    )
    return {"engineer": engineer, "van": van, "numbers": numbers, "part_names": part_names}
