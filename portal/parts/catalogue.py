"""The parts catalogue and the stock locations (the central warehouse, each network's store,
each engineer's van), made on first use. Keyword-only; flushes, never commits."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from portal.errors import Conflict, Invalid, NotFound
from portal.networks.models import Engineer, ServiceNetwork
from portal.parts.models import Part, StockLocation

CENTRAL_CODE = "CENTRAL"


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


def location(
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
    return location(session, code=CENTRAL_CODE, kind="central", name="中心仓")


def network_location(session: Session, *, network: ServiceNetwork) -> StockLocation:
    """The network's store: the one `ServiceNetwork.stock_location` names, else the network's
    own store as a company's workbook imported it (warehouse type 网点库), else one made on
    first use."""
    if not network.stock_location:
        imported = session.scalars(
            select(StockLocation)
            .where(StockLocation.kind == "network", StockLocation.network_id == network.id)
            .order_by(StockLocation.id)
        ).first()
        if imported is not None:
            return imported
    code = network.stock_location or f"NET-{network.code}"
    return location(
        session, code=code, kind="network", name=f"{network.name}库", network_id=network.id
    )


def van_location(session: Session, *, engineer: Engineer) -> StockLocation:
    """The engineer's van stock (made on first use)."""
    existing = session.scalars(
        select(StockLocation).where(StockLocation.engineer_id == engineer.id)
    ).first()
    if existing is not None:
        return existing
    return location(
        session,
        code=f"VAN-{engineer.id}",
        kind="van",
        name=f"{engineer.name}随车库",
        network_id=engineer.network_id,
        engineer_id=engineer.id,
    )


Networks = int | Collection[int] | None
"""A network filter: one network, several (a parent network and its 伞下店), or None: all."""


def in_networks(column: Any, network_id: Networks) -> ColumnElement[bool]:
    """The WHERE clause of a network filter that is not None."""
    assert network_id is not None
    if isinstance(network_id, int):
        return column == network_id  # type: ignore[no-any-return]
    return column.in_(list(network_id))  # type: ignore[no-any-return]


def list_locations(session: Session, *, network_id: Networks = None) -> list[StockLocation]:
    """Stock locations (of one network, or several, when given), central first."""
    stmt = select(StockLocation).order_by(StockLocation.kind, StockLocation.code)
    if network_id is not None:
        stmt = stmt.where(in_networks(StockLocation.network_id, network_id))
    rows = list(session.scalars(stmt))
    order = {"central": 0, "network": 1, "van": 2}
    return sorted(rows, key=lambda r: (order.get(r.kind, 9), r.code))
