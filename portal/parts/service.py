"""Stock operations: goods in, transfers, counts, reservations, issue to vans, consumption,
returns and shortage orders, each through the movement ledger (`balances.move`). The
catalogue and the locations are in `catalogue`, the balances and the ledger in `balances`;
their names are importable from here too, where the rest of the portal looks for them.
Keyword-only; flushes, never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.database import utcnow
from portal.errors import Conflict, Invalid, NotFound
from portal.networks.models import Engineer
from portal.parts.balances import (
    KINDS,
    Effect,
    available,
    balance,
    balance_id,
    ledger_totals,
    low_stock,
    move,
    movements,
    positive,
    set_threshold,
    stock,
    take_low_crossings,
)
from portal.parts.catalogue import (
    CENTRAL_CODE,
    Networks,
    central,
    create_part,
    find_part,
    get_part,
    in_networks,
    list_locations,
    list_parts,
    network_location,
    van_location,
)
from portal.parts.models import (
    RETURN_DAYS,
    DefectiveReturn,
    Part,
    PartReservation,
    ShortageOrder,
    StockBalance,
    StockLocation,
    StockMovement,
)

__all__ = [
    "CENTRAL_CODE",
    "KINDS",
    "OPEN_RESERVATION",
    "available",
    "balance",
    "central",
    "create_part",
    "find_part",
    "get_part",
    "ledger_totals",
    "list_locations",
    "list_parts",
    "low_stock",
    "movements",
    "network_location",
    "set_threshold",
    "stock",
    "take_low_crossings",
    "van_location",
]

OPEN_RESERVATION = ("held", "issued")


# ---- operations --------------------------------------------------------------------------


def receive(
    session: Session,
    *,
    location: StockLocation,
    part: Part,
    quantity: int,
    actor: str,
    note: str = "",
    at: datetime | None = None,
) -> list[StockMovement]:
    """Goods in (a purchase or a supplier delivery) at a location."""
    positive(quantity)
    return move(
        session,
        kind="receive",
        part_id=part.id,
        effects=[Effect(location.id, on_hand=quantity)],
        actor=actor,
        note=note,
        at=at,
    )


def transfer(
    session: Session,
    *,
    source: StockLocation,
    target: StockLocation,
    part: Part,
    quantity: int,
    actor: str,
    kind: str = "transfer",
    note: str = "",
    at: datetime | None = None,
) -> list[StockMovement]:
    """Move free stock between locations (kind "issue" when it goes to a van)."""
    positive(quantity)
    if source.id == target.id:
        raise Invalid("parts.same_location", field="target_location_id")
    return move(
        session,
        kind=kind,
        part_id=part.id,
        effects=[
            Effect(source.id, on_hand=-quantity, counter_location_id=target.id),
            Effect(target.id, on_hand=quantity, counter_location_id=source.id),
        ],
        actor=actor,
        note=note,
        at=at,
    )


@dataclass(frozen=True, slots=True)
class Count:
    """A stock count (盘点) at one location: what the books said, what was counted, and the
    adjustment movement that brought the books in line (None when they already were)."""

    on_hand_before: int
    counted: int
    movement: StockMovement | None

    @property
    def delta(self) -> int:
        """Counted less booked: positive when more was found."""
        return self.counted - self.on_hand_before


def adjust_count(
    session: Session,
    *,
    location: StockLocation,
    part: Part,
    counted: int,
    reason: str,
    actor: str,
    at: datetime | None = None,
) -> Count:
    """Record a stock count (盘点调整): the good units found on the shelf become the on-hand
    figure through one "adjust" movement carrying the reason. A count under what is held
    for tickets is refused: release those reservations first."""
    if counted < 0:
        raise Invalid("parts.count_negative", field="counted")
    reason = reason.strip()
    if not reason:
        raise Invalid("validation.missing", field="reason")
    bid = balance_id(session, location_id=location.id, part_id=part.id)
    # FOR UPDATE (PostgreSQL): no movement slips in between the read and the adjustment.
    row = session.execute(
        select(StockBalance.on_hand, StockBalance.reserved)
        .where(StockBalance.id == bid)
        .with_for_update()
    ).one()
    if counted < row.reserved:
        raise Invalid(
            "parts.count_below_reserved", field="counted", reserved=row.reserved, part=part.name
        )
    delta = counted - row.on_hand
    if delta == 0:
        return Count(row.on_hand, counted, None)
    (movement,) = move(
        session,
        kind="adjust",
        part_id=part.id,
        effects=[Effect(location.id, on_hand=delta)],
        actor=actor,
        note=reason,
        at=at,
    )
    return Count(row.on_hand, counted, movement)


def held_for(
    session: Session, *, ticket_id: int, part_id: int | None = None
) -> list[PartReservation]:
    """The open reservations of a ticket (held at a store or issued to a van)."""
    stmt = (
        select(PartReservation)
        .where(
            PartReservation.ticket_id == ticket_id,
            PartReservation.status.in_(OPEN_RESERVATION),
        )
        .order_by(PartReservation.id)
    )
    if part_id is not None:
        stmt = stmt.where(PartReservation.part_id == part_id)
    return list(session.scalars(stmt))


def reserve(
    session: Session,
    *,
    ticket_id: int,
    location: StockLocation,
    part: Part,
    quantity: int,
    actor: str,
    partial: bool = True,
    at: datetime | None = None,
) -> int:
    """Hold up to `quantity` of the free stock for the ticket; returns how many were held
    (all or nothing when `partial` is False)."""
    positive(quantity)
    bid = balance_id(session, location_id=location.id, part_id=part.id)
    for _attempt in range(5):
        # FOR UPDATE (PostgreSQL): the read and the write below see the same row version.
        row = session.execute(
            select(StockBalance.on_hand, StockBalance.reserved)
            .where(StockBalance.id == bid)
            .with_for_update()
        ).one()
        free = row.on_hand - row.reserved
        take = min(free, quantity) if partial else (quantity if free >= quantity else 0)
        if take <= 0:
            return 0
        try:
            move(
                session,
                kind="reserve",
                part_id=part.id,
                effects=[Effect(location.id, reserved=take)],
                actor=actor,
                ticket_id=ticket_id,
                at=at,
            )
        except Conflict:
            continue  # someone took stock between the read and the write (SQLite): re-read
        session.add(
            PartReservation(
                ticket_id=ticket_id,
                part_id=part.id,
                location_id=location.id,
                quantity=take,
                status="held",
                created_at=at or utcnow(),
                updated_at=at or utcnow(),
            )
        )
        session.flush()
        return take
    return 0


def release(
    session: Session, *, reservation: PartReservation, actor: str, at: datetime | None = None
) -> None:
    """Give a held (or issued) reservation back to the free stock where it lies."""
    if reservation.status not in OPEN_RESERVATION:
        raise Conflict("parts.reservation_closed")
    move(
        session,
        kind="release",
        part_id=reservation.part_id,
        effects=[Effect(reservation.location_id, reserved=-reservation.quantity)],
        actor=actor,
        ticket_id=reservation.ticket_id,
        at=at,
    )
    reservation.status = "released"
    session.flush()


def issue(
    session: Session,
    *,
    reservation: PartReservation,
    van: StockLocation,
    actor: str,
    at: datetime | None = None,
) -> None:
    """Hand a held reservation to the engineer: it moves to the van, still held for the ticket."""
    if reservation.status != "held":
        raise Conflict("parts.reservation_closed")
    q = reservation.quantity
    move(
        session,
        kind="issue",
        part_id=reservation.part_id,
        effects=[
            Effect(reservation.location_id, on_hand=-q, reserved=-q, counter_location_id=van.id),
            Effect(van.id, on_hand=q, reserved=q, counter_location_id=reservation.location_id),
        ],
        actor=actor,
        ticket_id=reservation.ticket_id,
        at=at,
    )
    reservation.location_id = van.id
    reservation.status = "issued"
    session.flush()


def consume(
    session: Session,
    *,
    ticket_id: int,
    part: Part,
    quantity: int,
    fallback: Sequence[StockLocation],
    actor: str,
    engineer_id: int | None = None,
    return_to: StockLocation | None = None,
    at: datetime | None = None,
) -> list[StockMovement]:
    """Fit parts on the ticket: first what was reserved for it, then free stock from the
    `fallback` locations in order (the van, then the store). A returnable part opens a
    defective return (旧件返还) to `return_to`."""
    positive(quantity)
    left = quantity
    out: list[StockMovement] = []
    for res in held_for(session, ticket_id=ticket_id, part_id=part.id):
        if left == 0:
            break
        use = min(left, res.quantity)
        out += move(
            session,
            kind="consume",
            part_id=part.id,
            effects=[Effect(res.location_id, on_hand=-use, reserved=-use)],
            actor=actor,
            ticket_id=ticket_id,
            at=at,
        )
        if use == res.quantity:
            res.status = "consumed"
        else:
            # Part of a reservation used: the rest stays held as its own reservation.
            res.quantity -= use
            session.add(
                PartReservation(
                    ticket_id=ticket_id,
                    part_id=part.id,
                    location_id=res.location_id,
                    quantity=use,
                    status="consumed",
                )
            )
        left -= use
    for loc in fallback:
        if left == 0:
            break
        use = min(left, available(session, location_id=loc.id, part_id=part.id))
        if use <= 0:
            continue
        out += move(
            session,
            kind="consume",
            part_id=part.id,
            effects=[Effect(loc.id, on_hand=-use)],
            actor=actor,
            ticket_id=ticket_id,
            at=at,
        )
        left -= use
    if left:
        raise Conflict("parts.insufficient", part=part.name)
    if part.returnable:
        target = return_to or central(session)
        session.add(
            DefectiveReturn(
                ticket_id=ticket_id,
                part_id=part.id,
                engineer_id=engineer_id,
                to_location_id=target.id,
                quantity=quantity,
                status="awaiting",
                created_at=at or utcnow(),
            )
        )
    session.flush()
    return out


def consumed_on(session: Session, *, ticket_id: int) -> dict[int, int]:
    """part id -> units consumed on the ticket (net of nothing: consumption is final)."""
    rows = session.execute(
        select(StockMovement.part_id, func.sum(-StockMovement.on_hand_delta))
        .where(StockMovement.ticket_id == ticket_id, StockMovement.kind == "consume")
        .group_by(StockMovement.part_id)
    )
    return {part_id: int(q) for part_id, q in rows if q}


def return_good(
    session: Session,
    *,
    van: StockLocation,
    target: StockLocation,
    part: Part,
    quantity: int,
    actor: str,
    at: datetime | None = None,
) -> list[StockMovement]:
    """An unused part goes back from the van to the store."""
    return transfer(
        session,
        source=van,
        target=target,
        part=part,
        quantity=quantity,
        actor=actor,
        kind="return_good",
        at=at,
    )


def get_return(session: Session, *, return_id: int) -> DefectiveReturn:
    """A defective return by id."""
    row = session.get(DefectiveReturn, return_id)
    if row is None:
        raise NotFound("object.defective_return")
    return row


def store_held(session: Session, *, ticket_id: int) -> list[tuple[str, int, str]]:
    """(part, quantity, location) held for the ticket at a store rather than a van: what the
    engineer collects (领料) before fitting it."""
    rows = session.execute(
        select(Part.name, PartReservation.quantity, StockLocation.name)
        .join(Part, Part.id == PartReservation.part_id)
        .join(StockLocation, StockLocation.id == PartReservation.location_id)
        .where(
            PartReservation.ticket_id == ticket_id,
            PartReservation.status == "held",
            StockLocation.kind != "van",
        )
        .order_by(PartReservation.id)
    ).all()
    return [(name, int(qty), where) for name, qty, where in rows]


def list_returns(
    session: Session,
    *,
    status: str | None = None,
    engineer_id: int | None = None,
    network_id: Networks = None,
    overdue: bool = False,
) -> list[DefectiveReturn]:
    """Defective returns, oldest first (the overdue ones lead); with `overdue` only those
    still not shipped RETURN_DAYS after they were raised."""
    stmt = select(DefectiveReturn).order_by(DefectiveReturn.created_at, DefectiveReturn.id)
    if status:
        stmt = stmt.where(DefectiveReturn.status == status)
    if overdue:
        stmt = stmt.where(
            DefectiveReturn.status == "awaiting",
            DefectiveReturn.created_at < utcnow() - timedelta(days=RETURN_DAYS),
        )
    if engineer_id is not None:
        stmt = stmt.where(DefectiveReturn.engineer_id == engineer_id)
    if network_id is not None:
        stmt = stmt.join(Engineer, Engineer.id == DefectiveReturn.engineer_id).where(
            in_networks(Engineer.network_id, network_id)
        )
    return list(session.scalars(stmt))


RETURN_STEPS: dict[str, tuple[str, ...]] = {
    "ship": ("awaiting",),
    "receive": ("awaiting", "shipped"),
    "repair": ("received",),
    "scrap": ("received",),
}


def advance_return(
    session: Session,
    *,
    ret: DefectiveReturn,
    step: str,
    actor: str,
    tracking: str = "",
    at: datetime | None = None,
) -> DefectiveReturn:
    """Move a defective return on: ship, receive (its arrival puts it in the defective
    bucket), repair (back into good stock) or scrap."""
    if step not in RETURN_STEPS:
        raise Invalid("error.unknown_action", field="step", action=step)
    if ret.status not in RETURN_STEPS[step]:
        raise Conflict("parts.return_state", status=ret.status, step=step)
    when = at or utcnow()
    q = ret.quantity
    if step == "ship":
        ret.status, ret.shipped_at, ret.tracking = "shipped", when, tracking
    elif step == "receive":
        move(
            session,
            kind="return_defective",
            part_id=ret.part_id,
            effects=[Effect(ret.to_location_id, defective=q)],
            actor=actor,
            ticket_id=ret.ticket_id,
            at=when,
        )
        ret.status, ret.received_at = "received", when
    elif step == "repair":
        move(
            session,
            kind="repair",
            part_id=ret.part_id,
            effects=[Effect(ret.to_location_id, defective=-q, on_hand=q)],
            actor=actor,
            ticket_id=ret.ticket_id,
            at=when,
        )
        ret.status, ret.disposed_at = "repaired", when
    else:
        move(
            session,
            kind="scrap",
            part_id=ret.part_id,
            effects=[Effect(ret.to_location_id, defective=-q)],
            actor=actor,
            ticket_id=ret.ticket_id,
            at=when,
        )
        ret.status, ret.disposed_at = "scrapped", when
    session.flush()
    return ret


# ---- shortage orders ---------------------------------------------------------------------


def _number(prefix: str, at: datetime) -> str:
    return f"{prefix}{at:%Y%m%d}-{uuid.uuid4().hex[:6].upper()}"


def raise_shortage(
    session: Session,
    *,
    ticket_id: int,
    location: StockLocation,
    part: Part,
    quantity: int,
    at: datetime | None = None,
) -> ShortageOrder:
    """Open a shortage order (缺件订单) for the ticket at the location."""
    positive(quantity)
    when = at or utcnow()
    order = ShortageOrder(
        number=_number("QJ", when),
        ticket_id=ticket_id,
        part_id=part.id,
        location_id=location.id,
        quantity=quantity,
        status="open",
        created_at=when,
    )
    session.add(order)
    session.flush()
    return order


def open_shortages(
    session: Session,
    *,
    ticket_id: int | None = None,
    location_id: int | None = None,
    part_id: int | None = None,
) -> list[ShortageOrder]:
    """Open shortage orders, oldest first (the order they are served in)."""
    stmt = (
        select(ShortageOrder)
        .where(ShortageOrder.status == "open")
        .order_by(ShortageOrder.created_at, ShortageOrder.id)
    )
    if ticket_id is not None:
        stmt = stmt.where(ShortageOrder.ticket_id == ticket_id)
    if location_id is not None:
        stmt = stmt.where(ShortageOrder.location_id == location_id)
    if part_id is not None:
        stmt = stmt.where(ShortageOrder.part_id == part_id)
    return list(session.scalars(stmt))


def list_shortages(
    session: Session, *, status: str | None = None, network_id: Networks = None
) -> list[ShortageOrder]:
    """Shortage orders, newest first."""
    stmt = select(ShortageOrder).order_by(ShortageOrder.id.desc())
    if status:
        stmt = stmt.where(ShortageOrder.status == status)
    if network_id is not None:
        stmt = stmt.join(StockLocation, StockLocation.id == ShortageOrder.location_id).where(
            in_networks(StockLocation.network_id, network_id)
        )
    return list(session.scalars(stmt))


def get_shortage(session: Session, *, shortage_id: int) -> ShortageOrder:
    """A shortage order by id."""
    row = session.get(ShortageOrder, shortage_id)
    if row is None:
        raise NotFound("object.shortage")
    return row
