"""Reads and writes of assets."""

from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.assets.models import Asset, ProductModel
from portal.customers.models import Customer, CustomerAddress
from portal.errors import Conflict, Invalid, NotFound
from portal.security import Principal
from portal.tickets.models import Ticket
from portal.tickets.service import visible


def get_asset(session: Session, *, asset_id: int) -> Asset:
    """An asset by id."""
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise NotFound("object.asset")
    return asset


def list_assets(
    session: Session, *, customer_id: int | None = None, serial: str | None = None
) -> list[Asset]:
    """Assets of a customer or with a serial number."""
    stmt = select(Asset)
    if customer_id is not None:
        stmt = stmt.where(Asset.customer_id == customer_id)
    if serial:
        stmt = stmt.where(Asset.serial_number == serial)
    return list(session.scalars(stmt.order_by(Asset.id).limit(200)).all())


def register(
    session: Session,
    *,
    serial_number: str,
    model_code: str,
    customer_id: int,
    address_id: int | None,
    install_date: date | None,
) -> Asset:
    """Record an installed unit; its warranty runs from the install date."""
    model = session.scalars(select(ProductModel).where(ProductModel.code == model_code)).first()
    if model is None:
        raise Invalid("error.unknown_model", field="model_code")
    if session.get(Customer, customer_id) is None:
        raise Invalid("error.unknown_customer", field="customer_id")
    if address_id is not None:
        address = session.get(CustomerAddress, address_id)
        if address is None or address.customer_id != customer_id:
            raise Invalid("error.unknown_address", field="address_id")
    if session.scalars(select(Asset).where(Asset.serial_number == serial_number)).first():
        raise Conflict("error.serial_taken")
    asset = Asset(
        serial_number=serial_number,
        model_id=model.id,
        customer_id=customer_id,
        address_id=address_id,
        install_date=install_date,
        warranty_end=install_date + relativedelta(months=model.warranty_months)
        if install_date
        else None,
    )
    session.add(asset)
    session.flush()
    return asset


def service_history(
    session: Session, *, asset_id: int, principal: Principal | None = None
) -> list[Ticket]:
    """Every ticket on this asset (that the caller may see, when given), newest first."""
    stmt = select(Ticket).where(Ticket.asset_id == asset_id)
    if principal is not None:
        # Engineers and managers may see every asset, but not every ticket on it.
        stmt = visible(stmt, principal)
    return list(session.scalars(stmt.order_by(Ticket.created_at.desc())).all())
