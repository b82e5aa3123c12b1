"""Stock balances and the movement ledger that keeps them.

Every change of stock is `move`: one conditional UPDATE of the (location, part) balance row
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
from portal.errors import Conflict, Invalid
from portal.parts.catalogue import Networks, in_networks
from portal.parts.models import Part, StockBalance, StockLocation, StockMovement

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
# The low-stock threshold a (location, part) gets when it first moves there: a store or the
# warehouse running out of free stock is worth knowing; a van carries single units, so its
# every fitting would cry wolf. Set per pair with `set_threshold`.
DEFAULT_MIN_LEVEL = {"central": 1, "network": 1, "van": 0}
# session.info key: balances that fell under their threshold in this transaction, waiting
# for `flows.alert_low_stock` to tell the people who refill them.
LOW_CROSSINGS = "parts.low_crossings"


def balance_id(session: Session, *, location_id: int, part_id: int) -> int:
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


def track_low(session: Session, *, balance_id: int, at: datetime, alert: bool = True) -> None:
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


def move(
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
        bid = balance_id(session, location_id=eff.location_id, part_id=part_id)
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
            track_low(session, balance_id=bid, at=when)
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


def positive(quantity: int) -> None:
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
    bid = balance_id(session, location_id=location_id, part_id=part_id)
    session.execute(
        update(StockBalance)
        .where(StockBalance.id == bid)
        .values(min_level=min_level)
        .execution_options(synchronize_session=False)
    )
    _expire_balance(session, bid)
    # A new threshold is not a movement: the page shows the state, and only the next fall
    # under it (after a recovery) alerts.
    track_low(session, balance_id=bid, at=utcnow(), alert=False)
    session.flush()


def stock(
    session: Session,
    *,
    location_id: int | None = None,
    part_id: int | None = None,
    network_id: Networks = None,
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
        stmt = stmt.where(in_networks(StockLocation.network_id, network_id))
    if low_only:
        stmt = stmt.where(
            StockBalance.min_level > 0,
            StockBalance.on_hand - StockBalance.reserved < StockBalance.min_level,
        )
    return list(session.scalars(stmt))


def low_stock(session: Session, *, network_id: Networks = None) -> list[StockBalance]:
    """Low-stock alerts: balances whose free stock is under their threshold."""
    return stock(session, network_id=network_id, low_only=True)


def movements(
    session: Session,
    *,
    location_id: int | None = None,
    part_id: int | None = None,
    ticket_id: int | None = None,
    network_id: Networks = None,
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
            in_networks(StockLocation.network_id, network_id)
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
