"""Parts JSON routes under /api/v1/parts: thin; the rules live in service and flows.

Who may do what: the dispatcher (the platform's parts desk) everything; finance reads; a
network manager reads and moves the stock of their own network (its store and vans); an
engineer sees their van and works the parts of their own tickets. A record outside the
caller's scope answers 404, as one that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy import select

from portal.database import SessionDep
from portal.dispatch.parts import PartLine, Reservation
from portal.errors import Forbidden, NotFound
from portal.ids import IdPath, IdQuery
from portal.networks.models import Engineer
from portal.parts import flows, policies, service
from portal.parts.models import (
    DefectiveReturn,
    Part,
    PartReservation,
    StockBalance,
    StockLocation,
)
from portal.parts.policies import (
    Cataloguer,
    Mover,
    Reader,
    ReturnsReader,
    StockReader,
    TicketWorker,
)
from portal.parts.schemas import (
    BalanceRead,
    ConsumeRequest,
    CountRead,
    LocationRead,
    MovementRead,
    PartCreate,
    PartLineRead,
    PartRead,
    PartsRequest,
    ReceiveRequest,
    ReservationRead,
    ReservationResult,
    ReturnRead,
    ReturnStep,
    ShortageRead,
    StockCountRead,
    StockCountRequest,
    ThresholdRequest,
    TransferRequest,
    VanRead,
)
from portal.security import Principal
from portal.tickets import service as tickets

router = APIRouter(prefix="/parts", tags=["parts"])

RefPath = Annotated[str, Path(min_length=1, max_length=32)]

Readers = Reader
StockReaders = StockReader
Movers = Mover
Desk = Cataloguer
TicketWorkers = TicketWorker


def _network_scope(principal: Principal) -> tuple[int, ...] | None:
    """The networks a stock reader is held to: theirs and its 伞下店 (None: all; (-1,): none)."""
    return policies.network_filter(policies.STOCK.scope(principal))


def _location(session: SessionDep, principal: Principal, location_id: int) -> StockLocation:
    """A location the caller may move stock at; 404 (as for none) otherwise."""
    loc = session.get(StockLocation, location_id)
    if loc is None or not policies.location_visible(policies.MOVE.scope(principal), loc):
        raise NotFound("object.stock_location")
    return loc


def balance_read(b: StockBalance) -> BalanceRead:
    """The API shape of a balance."""
    return BalanceRead(
        location_id=b.location_id,
        location_code=b.location.code,
        location_name=b.location.name,
        part_id=b.part_id,
        part_code=b.part.code,
        part_name=b.part.name,
        part_name_en=b.part.name_en,
        on_hand=b.on_hand,
        reserved=b.reserved,
        available=b.available,
        defective=b.defective,
        min_level=b.min_level,
        low=b.low,
        low_since=b.low_since,
    )


def _result(result: Reservation, status: str) -> ReservationResult:
    def lines(items: tuple[PartLine, ...]) -> list[dict[str, object]]:
        return [{"part_code": p.part_code, "quantity": p.quantity, "name": p.name} for p in items]

    return ReservationResult.model_validate(
        {
            "reserved": lines(result.reserved),
            "shortages": lines(result.shortages),
            "ticket_status": status,
        }
    )


# ---- catalogue and locations -------------------------------------------------------------


@router.get("/catalogue", response_model=list[PartRead])
def catalogue(
    session: SessionDep,
    principal: Readers,
    category: Annotated[str | None, Query(max_length=32)] = None,
    q: Annotated[str | None, Query(max_length=64)] = None,
) -> list[Part]:
    """The parts catalogue: part number, name, compatible models, cost, price, returnable."""
    return service.list_parts(session, category=category, q=q)


@router.post("/catalogue", response_model=PartRead, status_code=201)
def add_part(data: PartCreate, session: SessionDep, principal: Desk) -> Part:
    """Add a part to the catalogue."""
    return service.create_part(session, part=Part(**data.model_dump(), active=True))


@router.get("/locations", response_model=list[LocationRead])
def locations(session: SessionDep, principal: Readers) -> list[StockLocation]:
    """Stock locations the caller may see (central, network stores, vans)."""
    scope = policies.READ.scope(principal)
    rows = service.list_locations(session, network_id=policies.network_filter(scope))
    return [r for r in rows if policies.location_visible(scope, r)]


# ---- stock and movements -----------------------------------------------------------------


@router.get("/stock", response_model=list[BalanceRead])
def stock(
    session: SessionDep,
    principal: StockReaders,
    location_id: IdQuery = None,
    part_id: IdQuery = None,
    low: bool = False,
) -> list[BalanceRead]:
    """Stock by location and part (`low=true`: only what is under its threshold)."""
    rows = service.stock(
        session,
        location_id=location_id,
        part_id=part_id,
        network_id=_network_scope(principal),
        low_only=low,
    )
    return [balance_read(b) for b in rows]


@router.get("/alerts", response_model=list[BalanceRead])
def alerts(session: SessionDep, principal: StockReaders) -> list[BalanceRead]:
    """Low-stock alerts: free stock under the location's threshold for the part."""
    return [
        balance_read(b) for b in service.low_stock(session, network_id=_network_scope(principal))
    ]


@router.post("/thresholds", response_model=BalanceRead)
def threshold(data: ThresholdRequest, session: SessionDep, principal: Movers) -> BalanceRead:
    """Set the low-stock threshold of a part at a location."""
    loc = _location(session, principal, data.location_id)
    part = service.get_part(session, part_id=data.part_id)
    service.set_threshold(session, location_id=loc.id, part_id=part.id, min_level=data.min_level)
    row = service.balance(session, location_id=loc.id, part_id=part.id)
    assert row is not None
    return balance_read(row)


@router.post("/counts", response_model=StockCountRead, status_code=201)
def count(data: StockCountRequest, session: SessionDep, principal: Movers) -> StockCountRead:
    """Record a stock count (盘点调整): the books follow the shelf through one adjustment
    movement with the reason; a count under what is held for tickets is refused (422)."""
    loc = _location(session, principal, data.location_id)
    part = service.get_part(session, part_id=data.part_id)
    done = flows.count_stock(
        session,
        location=loc,
        part=part,
        counted=data.counted,
        reason=data.reason,
        principal=principal,
    )
    row = service.balance(session, location_id=loc.id, part_id=part.id)
    assert row is not None
    return StockCountRead(
        on_hand_before=done.on_hand_before,
        counted=done.counted,
        delta=done.delta,
        movement=MovementRead.model_validate(done.movement) if done.movement else None,
        balance=balance_read(row),
    )


@router.get("/movements", response_model=list[MovementRead])
def movements(
    session: SessionDep,
    principal: StockReaders,
    location_id: IdQuery = None,
    part_id: IdQuery = None,
    ticket_id: IdQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[object]:
    """The movement history (append-only), newest first."""
    return list(
        service.movements(
            session,
            location_id=location_id,
            part_id=part_id,
            ticket_id=ticket_id,
            network_id=_network_scope(principal),
            limit=limit,
        )
    )


@router.post("/receipts", response_model=list[ShortageRead], status_code=201)
def receive(data: ReceiveRequest, session: SessionDep, principal: Movers) -> list[object]:
    """Goods in at a location; answers the shortage orders it served."""
    loc = _location(session, principal, data.location_id)
    part = service.get_part(session, part_id=data.part_id)
    return list(
        flows.receive(
            session,
            location=loc,
            part=part,
            quantity=data.quantity,
            principal=principal,
            note=data.note,
        )
    )


@router.post("/transfers", response_model=list[ShortageRead], status_code=201)
def transfer(data: TransferRequest, session: SessionDep, principal: Movers) -> list[object]:
    """Move free stock (to a van: an issue); answers the shortage orders it served."""
    source = _location(session, principal, data.source_location_id)
    target = _location(session, principal, data.target_location_id)
    part = service.get_part(session, part_id=data.part_id)
    return list(
        flows.transfer(
            session,
            source=source,
            target=target,
            part=part,
            quantity=data.quantity,
            principal=principal,
        )
    )


# ---- a ticket's parts --------------------------------------------------------------------


@router.get("/tickets/{ref}", response_model=list[ReservationRead])
def ticket_parts(ref: RefPath, session: SessionDep, principal: TicketWorkers) -> list[object]:
    """What is held for the ticket (open reservations)."""
    ticket = tickets.get_ticket(session, ref=ref, principal=principal)
    return list(service.held_for(session, ticket_id=ticket.id))


@router.get("/tickets/{ref}/suggestions", response_model=list[PartLineRead])
def suggestions(ref: RefPath, session: SessionDep, principal: TicketWorkers) -> list[object]:
    """The parts the ticket will probably need."""
    ticket = tickets.get_ticket(session, ref=ref, principal=principal)
    return [
        {"part_code": p.part_code, "quantity": p.quantity, "name": p.name}
        for p in flows.suggest_parts(session, ticket=ticket)
    ]


@router.post("/tickets/{ref}/requests", response_model=ReservationResult)
def request_parts(
    ref: RefPath, data: PartsRequest, session: SessionDep, principal: TicketWorkers
) -> ReservationResult:
    """Hold parts for the ticket at its network; what is short is ordered (缺件订单) and the
    ticket waits for parts until it arrives."""
    ticket = tickets.get_ticket(session, ref=ref, principal=principal)
    lines = [PartLine(x.part_code, x.quantity) for x in data.lines]
    result = flows.request_parts(session, ticket=ticket, lines=lines, principal=principal)
    return _result(result, ticket.status)


@router.post("/tickets/{ref}/issue", response_model=CountRead)
def issue(ref: RefPath, session: SessionDep, principal: TicketWorkers) -> CountRead:
    """The engineer collects the ticket's held parts into their van (领料)."""
    ticket = tickets.get_ticket(session, ref=ref, principal=principal)
    return CountRead(count=flows.issue_to_engineer(session, ticket=ticket, principal=principal))


@router.post("/tickets/{ref}/consumption", response_model=CountRead)
def consume(
    ref: RefPath, data: ConsumeRequest, session: SessionDep, principal: TicketWorkers
) -> CountRead:
    """Record the parts fitted (by default everything held for the ticket)."""
    ticket = tickets.get_ticket(session, ref=ref, principal=principal)
    lines = None
    if data.lines is not None:
        lines = [PartLine(x.part_code, x.quantity) for x in data.lines]
    units = flows.consume_for_ticket(session, ticket=ticket, lines=lines, principal=principal)
    return CountRead(count=units)


@router.post("/tickets/{ref}/release", response_model=CountRead)
def release(ref: RefPath, session: SessionDep, principal: Movers) -> CountRead:
    """Give back everything held for the ticket and cancel its shortage orders."""
    ticket = tickets.get_ticket(session, ref=ref, principal=principal)
    return CountRead(count=flows.release_ticket(session, ticket=ticket, actor=principal.actor))


# ---- shortages and returns ---------------------------------------------------------------


@router.get("/shortages", response_model=list[ShortageRead])
def shortages(
    session: SessionDep,
    principal: StockReaders,
    status: Annotated[str | None, Query(pattern=r"^(open|fulfilled|cancelled)$")] = None,
) -> list[object]:
    """Shortage orders (缺件订单), newest first."""
    return list(
        service.list_shortages(session, status=status, network_id=_network_scope(principal))
    )


@router.post("/shortages/{shortage_id}/fulfil", response_model=ShortageRead)
def fulfil(shortage_id: IdPath, session: SessionDep, principal: Movers) -> object:
    """Serve a shortage order from its location's stock (resumes the waiting ticket)."""
    order = service.get_shortage(session, shortage_id=shortage_id)
    _location(session, principal, order.location_id)
    flows.fulfil(session, order=order, actor=principal)
    return order


@router.post("/shortages/{shortage_id}/ship", response_model=ShortageRead)
def ship(shortage_id: IdPath, session: SessionDep, principal: Desk) -> object:
    """Send a shortage order's parts from the central warehouse and serve it."""
    order = service.get_shortage(session, shortage_id=shortage_id)
    flows.ship_from_central(session, order=order, principal=principal)
    return order


@router.get("/returns", response_model=list[ReturnRead])
def returns(
    session: SessionDep,
    principal: ReturnsReader,
    status: Annotated[
        str | None, Query(pattern=r"^(awaiting|shipped|received|repaired|scrapped)$")
    ] = None,
    overdue: bool = False,
) -> list[object]:
    """Defective parts to come back (旧件返还), oldest first; `overdue`: only those not
    shipped back by their due time."""
    scope = policies.RETURNS.scope(principal)
    if scope.nothing:
        return []
    engineer_id = scope.engineer_id
    network_id = None if scope.everything or engineer_id is not None else scope.network_ids
    return list(
        service.list_returns(
            session,
            status=status,
            engineer_id=engineer_id,
            network_id=network_id,
            overdue=overdue,
        )
    )


@router.post("/returns/{return_id}", response_model=ReturnRead)
def advance_return(
    return_id: IdPath, data: ReturnStep, session: SessionDep, principal: TicketWorkers
) -> DefectiveReturn:
    """Ship (the engineer or their network), receive, repair or scrap (the parts desk)."""
    ret = service.get_return(session, return_id=return_id)
    engineer = session.get(Engineer, ret.engineer_id) if ret.engineer_id else None
    scope = policies.TICKET.scope(principal)
    if not scope.everything and (
        engineer is None or not policies.engineer_visible(scope, engineer)
    ):
        raise NotFound("object.defective_return")
    if data.step != "ship" and not policies.CENTRAL.allows(principal):
        raise Forbidden("error.forbidden")
    return service.advance_return(
        session, ret=ret, step=data.step, actor=principal.actor, tracking=data.tracking
    )


# ---- an engineer's van -------------------------------------------------------------------


@router.get("/van", response_model=VanRead)
def van(
    session: SessionDep,
    principal: TicketWorkers,
    engineer_id: IdQuery = None,
) -> VanRead:
    """An engineer's van stock (an engineer: their own; a manager: one of their network's)."""
    scope = policies.TICKET.scope(principal)
    if scope.engineer_id is not None:
        engineer_id = scope.engineer_id
    engineer = session.get(Engineer, engineer_id) if engineer_id is not None else None
    if engineer is None or not policies.engineer_visible(scope, engineer):
        raise NotFound("object.engineer")
    return van_read(session, engineer=engineer)


def van_read(session: SessionDep, *, engineer: Engineer) -> VanRead:
    """Everything about one van."""
    loc = service.van_location(session, engineer=engineer)
    held = session.scalars(
        select(PartReservation)
        .where(
            PartReservation.location_id == loc.id,
            PartReservation.status.in_(service.OPEN_RESERVATION),
        )
        .order_by(PartReservation.id)
    )
    return VanRead(
        location=LocationRead.model_validate(loc),
        stock=[balance_read(b) for b in service.stock(session, location_id=loc.id)],
        reservations=[ReservationRead.model_validate(r) for r in held],
        returns=[
            ReturnRead.model_validate(r)
            for r in service.list_returns(session, engineer_id=engineer.id)
            if r.status in ("awaiting", "shipped")
        ],
    )
