"""Reads and writes of stock: locations, the movement ledger and the balances it keeps.

Every change of stock is `_move`: one conditional UPDATE of the (location, part) balance row
that only matches when no bucket would drop below zero and nothing reserved would exceed what
is on hand, plus one append-only movement row. On PostgreSQL the UPDATE takes the row lock
and re-checks its condition once a concurrent writer commits, so two reservations of the last
unit cannot both succeed; SQLite serialises writers, and the table's CHECK constraints back
both up. Keyword-only; flushes, never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from portal.database import utcnow
from portal.errors import Conflict, Invalid, NotFound
from portal.networks.models import Engineer, ServiceNetwork
from portal.parts.models import (
    DefectiveReturn,
    Part,
    PartReservation,
    ShortageOrder,
    StockBalance,
    StockLocation,
    StockMovement,
)

CENTRAL_CODE = "CENTRAL"
KINDS = (
    "receive",
    "transfer",
    "reserve",
    "release",
    "issue",
    "consume",
    "return_good",
    "return_defective",
    "repair",
    "scrap",
    "adjust",
)
OPEN_RESERVATION = ("held", "issued")
# The low-stock threshold a (location, part) gets when it first moves there: a store or the
# warehouse running out of free stock is worth knowing; a van carries single units, so its
# every fitting would cry wolf. Set per pair with `set_threshold`.
DEFAULT_MIN_LEVEL = {"central": 1, "network": 1, "van": 0}
# session.info key: balances that fell under their threshold in this transaction, waiting
# for `flows.alert_low_stock` to tell the people who refill them.
LOW_CROSSINGS = "parts.low_crossings"


# ---- catalogue and locations -------------------------------------------------------------


def get_part(session: Session, *, part_id: int | None = None, code: str | None = None) -> Part:
    """A part by id or part number."""
    part = None
    if part_id is not None:
        part = session.get(Part, part_id)
    elif code is not None:
        part = session.scalars(select(Part).where(Part.code == code)).first()
    if part is None:
        raise NotFound("object.part")
    return part


def find_part(session: Session, *, ref: str, category: str = "") -> Part | None:
    """A part by its number, else by its name (within the category when one is given)."""
    part = session.scalars(select(Part).where(Part.code == ref)).first()
    if part is not None:
        return part
    stmt = select(Part).where(Part.name == ref, Part.active.is_(True)).order_by(Part.id)
    if category:
        stmt = stmt.where(Part.category == category)
    return session.scalars(stmt).first()


def list_parts(
    session: Session, *, category: str | None = None, q: str | None = None
) -> list[Part]:
    """The catalogue, by part number."""
    stmt = select(Part).order_by(Part.code)
    if category:
        stmt = stmt.where(Part.category == category)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(Part.code.ilike(like) | Part.name.ilike(like))
    return list(session.scalars(stmt))


def create_part(session: Session, *, part: Part) -> Part:
    """Add a part to the catalogue (409 when its number is taken)."""
    if session.scalars(select(Part.id).where(Part.code == part.code)).first() is not None:
        raise Conflict("parts.code_taken", code=part.code)
    if part.unit_price < part.unit_cost:
        raise Invalid("parts.price_below_cost", field="unit_price")
    session.add(part)
    session.flush()
    return part


def _location(
    session: Session,
    *,
    code: str,
    kind: str,
    name: str,
    network_id: int | None = None,
    engineer_id: int | None = None,
) -> StockLocation:
    row = session.scalars(select(StockLocation).where(StockLocation.code == code)).first()
    if row is None:
        row = StockLocation(
            code=code, kind=kind, name=name, network_id=network_id, engineer_id=engineer_id
        )
        session.add(row)
        session.flush()
    return row


def central(session: Session) -> StockLocation:
    """The central warehouse (made on first use)."""
    return _location(session, code=CENTRAL_CODE, kind="central", name="中心仓")


def network_location(session: Session, *, network: ServiceNetwork) -> StockLocation:
    """The network's store, named by `ServiceNetwork.stock_location` (made on first use)."""
    code = network.stock_location or f"NET-{network.code}"
    return _location(
        session, code=code, kind="network", name=f"{network.name}库", network_id=network.id
    )


def van_location(session: Session, *, engineer: Engineer) -> StockLocation:
    """The engineer's van stock (made on first use)."""
    existing = session.scalars(
        select(StockLocation).where(StockLocation.engineer_id == engineer.id)
    ).first()
    if existing is not None:
        return existing
    return _location(
        session,
        code=f"VAN-{engineer.id}",
        kind="van",
        name=f"{engineer.name}随车库",
        network_id=engineer.network_id,
        engineer_id=engineer.id,
    )


def get_location(session: Session, *, location_id: int) -> StockLocation:
    """A stock location by id."""
    row = session.get(StockLocation, location_id)
    if row is None:
        raise NotFound("object.stock_location")
    return row


def list_locations(session: Session, *, network_id: int | None = None) -> list[StockLocation]:
    """Stock locations (of one network, when given), central first."""
    stmt = select(StockLocation).order_by(StockLocation.kind, StockLocation.code)
    if network_id is not None:
        stmt = stmt.where(StockLocation.network_id == network_id)
    rows = list(session.scalars(stmt))
    order = {"central": 0, "network": 1, "van": 2}
    return sorted(rows, key=lambda r: (order.get(r.kind, 9), r.code))


# ---- balances and the movement ledger ----------------------------------------------------


def _balance_id(session: Session, *, location_id: int, part_id: int) -> int:
    """The balance row of the pair, inserted (race-free) when it is missing."""
    found = session.scalar(
        select(StockBalance.id).where(
            StockBalance.location_id == location_id, StockBalance.part_id == part_id
        )
    )
    if found is not None:
        return found
    kind = session.scalar(select(StockLocation.kind).where(StockLocation.id == location_id))
    values: dict[str, object] = {
        "location_id": location_id,
        "part_id": part_id,
        "on_hand": 0,
        "reserved": 0,
        "defective": 0,
        "min_level": DEFAULT_MIN_LEVEL.get(kind or "", 0),
    }
    # Nothing there yet is already under a threshold: low from the start, with no alert (the
    # stock did not fall; it never came).
    values["low_since"] = utcnow() if values["min_level"] else None
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(StockBalance).values(**values).on_conflict_do_nothing())
    return session.scalars(
        select(StockBalance.id).where(
            StockBalance.location_id == location_id, StockBalance.part_id == part_id
        )
    ).one()


def _expire_balance(session: Session, balance_id: int) -> None:
    cached = session.identity_map.get(identity_key(StockBalance, balance_id))
    if cached is not None:
        session.expire(cached)


def _track_low(session: Session, *, balance_id: int, at: datetime, alert: bool = True) -> None:
    """Keep `low_since` in step with the balance: set when its free stock falls under the
    threshold (and, with `alert`, queue one alert), cleared when it recovers."""
    b = StockBalance
    row = session.execute(
        select(b.on_hand, b.reserved, b.min_level, b.low_since).where(b.id == balance_id)
    ).one()
    low = row.min_level > 0 and row.on_hand - row.reserved < row.min_level
    if low == (row.low_since is not None):
        return
    session.execute(
        update(b)
        .where(b.id == balance_id)
        .values(low_since=at if low else None)
        .execution_options(synchronize_session=False)
    )
    _expire_balance(session, balance_id)
    if low and alert:
        session.info.setdefault(LOW_CROSSINGS, []).append((balance_id, at))


def take_low_crossings(session: Session) -> list[StockBalance]:
    """The balances that fell under their threshold since the last call and are still low
    from that same fall (a rolled-back movement's crossing is dropped)."""
    queued = session.info.pop(LOW_CROSSINGS, [])
    out: list[StockBalance] = []
    for balance_id, at in dict.fromkeys(queued):
        row = session.get(StockBalance, balance_id, populate_existing=True)
        if row is not None and row.low_since is not None and row.low_since == at:
            out.append(row)
    return out


@dataclass(frozen=True, slots=True)
class Effect:
    """What one movement does to one location's buckets."""

    location_id: int
    on_hand: int = 0
    reserved: int = 0
    defective: int = 0
    counter_location_id: int | None = None


def _move(
    session: Session,
    *,
    kind: str,
    part_id: int,
    effects: Sequence[Effect],
    actor: str,
    ticket_id: int | None = None,
    note: str = "",
    at: datetime | None = None,
) -> list[StockMovement]:
    """Apply the effects atomically, or raise Conflict (and change nothing this call can see:
    the caller's transaction is rolled back by the error)."""
    batch = str(uuid.uuid4())
    when = at or utcnow()
    rows = []
    for eff in effects:
        bid = _balance_id(session, location_id=eff.location_id, part_id=part_id)
        b = StockBalance
        result = session.execute(
            update(b)
            .where(
                b.id == bid,
                b.on_hand + eff.on_hand >= 0,
                b.reserved + eff.reserved >= 0,
                b.reserved + eff.reserved <= b.on_hand + eff.on_hand,
                b.defective + eff.defective >= 0,
            )
            .values(
                on_hand=b.on_hand + eff.on_hand,
                reserved=b.reserved + eff.reserved,
                defective=b.defective + eff.defective,
            )
            .execution_options(synchronize_session=False)
        )
        _expire_balance(session, bid)
        if result.rowcount != 1:  # type: ignore[attr-defined]
            part = session.get(Part, part_id)
            raise Conflict("parts.insufficient", part=part.name if part else part_id)
        if eff.on_hand or eff.reserved:
            _track_low(session, balance_id=bid, at=when)
        rows.append(
            StockMovement(
                batch=batch,
                kind=kind,
                part_id=part_id,
                location_id=eff.location_id,
                counter_location_id=eff.counter_location_id,
                on_hand_delta=eff.on_hand,
                reserved_delta=eff.reserved,
                defective_delta=eff.defective,
                ticket_id=ticket_id,
                actor=actor,
                note=note,
                created_at=when,
            )
        )
    session.add_all(rows)
    session.flush()
    return rows


def _positive(quantity: int) -> None:
    if quantity <= 0:
        raise Invalid("parts.quantity_positive", field="quantity")


def balance(session: Session, *, location_id: int, part_id: int) -> StockBalance | None:
    """The balance row of a part at a location, if it ever moved there."""
    return session.scalars(
        select(StockBalance).where(
            StockBalance.location_id == location_id, StockBalance.part_id == part_id
        )
    ).first()


def available(session: Session, *, location_id: int, part_id: int) -> int:
    """Free stock: on hand and not reserved."""
    row = balance(session, location_id=location_id, part_id=part_id)
    return row.available if row else 0


def set_threshold(session: Session, *, location_id: int, part_id: int, min_level: int) -> None:
    """The low-stock threshold of a part at a location."""
    if min_level < 0:
        raise Invalid("parts.quantity_positive", field="min_level")
    bid = _balance_id(session, location_id=location_id, part_id=part_id)
    session.execute(
        update(StockBalance)
        .where(StockBalance.id == bid)
        .values(min_level=min_level)
        .execution_options(synchronize_session=False)
    )
    _expire_balance(session, bid)
    # A new threshold is not a movement: the page shows the state, and only the next fall
    # under it (after a recovery) alerts.
    _track_low(session, balance_id=bid, at=utcnow(), alert=False)
    session.flush()


def stock(
    session: Session,
    *,
    location_id: int | None = None,
    part_id: int | None = None,
    network_id: int | None = None,
    low_only: bool = False,
) -> list[StockBalance]:
    """Balances by location and part."""
    stmt = (
        select(StockBalance)
        .join(StockLocation, StockLocation.id == StockBalance.location_id)
        .join(Part, Part.id == StockBalance.part_id)
        .order_by(StockLocation.kind, StockLocation.code, Part.code)
    )
    if location_id is not None:
        stmt = stmt.where(StockBalance.location_id == location_id)
    if part_id is not None:
        stmt = stmt.where(StockBalance.part_id == part_id)
    if network_id is not None:
        stmt = stmt.where(StockLocation.network_id == network_id)
    if low_only:
        stmt = stmt.where(
            StockBalance.min_level > 0,
            StockBalance.on_hand - StockBalance.reserved < StockBalance.min_level,
        )
    return list(session.scalars(stmt))


def low_stock(session: Session, *, network_id: int | None = None) -> list[StockBalance]:
    """Low-stock alerts: balances whose free stock is under their threshold."""
    return stock(session, network_id=network_id, low_only=True)


def movements(
    session: Session,
    *,
    location_id: int | None = None,
    part_id: int | None = None,
    ticket_id: int | None = None,
    network_id: int | None = None,
    limit: int = 200,
) -> list[StockMovement]:
    """The movement history, newest first."""
    stmt = select(StockMovement).order_by(StockMovement.id.desc()).limit(limit)
    if location_id is not None:
        stmt = stmt.where(StockMovement.location_id == location_id)
    if part_id is not None:
        stmt = stmt.where(StockMovement.part_id == part_id)
    if ticket_id is not None:
        stmt = stmt.where(StockMovement.ticket_id == ticket_id)
    if network_id is not None:
        stmt = stmt.join(StockLocation, StockLocation.id == StockMovement.location_id).where(
            StockLocation.network_id == network_id
        )
    return list(session.scalars(stmt))


def ledger_totals(session: Session) -> dict[tuple[int, int], tuple[int, int, int]]:
    """(location, part) -> the sums of every movement's deltas: what the balances must be."""
    rows = session.execute(
        select(
            StockMovement.location_id,
            StockMovement.part_id,
            func.sum(StockMovement.on_hand_delta),
            func.sum(StockMovement.reserved_delta),
            func.sum(StockMovement.defective_delta),
        ).group_by(StockMovement.location_id, StockMovement.part_id)
    )
    return {(loc, part): (int(a), int(b), int(c)) for loc, part, a, b, c in rows}


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
    _positive(quantity)
    return _move(
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
    _positive(quantity)
    if source.id == target.id:
        raise Invalid("parts.same_location", field="target_location_id")
    return _move(
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
        raise Invalid("validation.missing", field="reason", field_zh="原因", field_en="reason")
    bid = _balance_id(session, location_id=location.id, part_id=part.id)
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
    (movement,) = _move(
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
    _positive(quantity)
    bid = _balance_id(session, location_id=location.id, part_id=part.id)
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
            _move(
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
    _move(
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
    _move(
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
    _positive(quantity)
    left = quantity
    out: list[StockMovement] = []
    for res in held_for(session, ticket_id=ticket_id, part_id=part.id):
        if left == 0:
            break
        use = min(left, res.quantity)
        out += _move(
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
        out += _move(
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


def list_returns(
    session: Session,
    *,
    status: str | None = None,
    engineer_id: int | None = None,
    network_id: int | None = None,
) -> list[DefectiveReturn]:
    """Defective returns, oldest first (the overdue ones lead)."""
    stmt = select(DefectiveReturn).order_by(DefectiveReturn.created_at, DefectiveReturn.id)
    if status:
        stmt = stmt.where(DefectiveReturn.status == status)
    if engineer_id is not None:
        stmt = stmt.where(DefectiveReturn.engineer_id == engineer_id)
    if network_id is not None:
        stmt = stmt.join(Engineer, Engineer.id == DefectiveReturn.engineer_id).where(
            Engineer.network_id == network_id
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
        _move(
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
        _move(
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
        _move(
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
    _positive(quantity)
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
    session: Session, *, status: str | None = None, network_id: int | None = None
) -> list[ShortageOrder]:
    """Shortage orders, newest first."""
    stmt = select(ShortageOrder).order_by(ShortageOrder.id.desc())
    if status:
        stmt = stmt.where(ShortageOrder.status == status)
    if network_id is not None:
        stmt = stmt.join(StockLocation, StockLocation.id == ShortageOrder.location_id).where(
            StockLocation.network_id == network_id
        )
    return list(session.scalars(stmt))


def get_shortage(session: Session, *, shortage_id: int) -> ShortageOrder:
    """A shortage order by id."""
    row = session.get(ShortageOrder, shortage_id)
    if row is None:
        raise NotFound("object.shortage")
    return row
