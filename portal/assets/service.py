"""Reads and writes of assets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.assets.models import Asset, Product, ProductModel
from portal.customers.models import Customer, CustomerAddress
from portal.errors import Conflict, Invalid, NotFound
from portal.masterdata.models import WarrantyTerm
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


# --- warranty terms ---------------------------------------------------------------------

# The statutory year (三包) when master data has no terms for a category.
STATUTORY_MONTHS = 12


def category_of(session: Session, *, product: str) -> str:
    """The category a ticket's product names: a product line's ("滚筒洗衣机" → 洗衣机), else
    the word itself (the bot often names the category)."""
    name = product.strip()
    row = session.scalars(select(Product).where(Product.name == name)).first() if name else None
    return row.category if row is not None else name


def warranty_term(session: Session, *, category: str, product: str = "") -> WarrantyTerm | None:
    """The published terms of a product line, else of its category."""
    rows = list(
        session.scalars(select(WarrantyTerm).where(WarrantyTerm.product_category == category))
    )
    return next((r for r in rows if product and r.product == product), None) or next(
        (r for r in rows if not r.product), None
    )


def standard_months(session: Session, *, category: str, product: str = "") -> int:
    """The whole-unit warranty months of a category (or product line): its terms in master
    data, else the statutory year."""
    term = warranty_term(session, category=category, product=product)
    return term.unit_months if term is not None else STATUTORY_MONTHS


# --- a unit registered from the work record -------------------------------------------

# What a nameplate's serial looks like: letters, digits and inner dashes, 8 to 32 long,
# at least four digits (a model code or a word typed in by mistake has fewer).
SERIAL = re.compile(r"[A-Z0-9][A-Z0-9-]{6,30}[A-Z0-9]")
EARLIEST = date(1990, 1, 1)


def normalize_serial(text: str) -> str:
    """A serial as typed, upper-cased, without spaces (labels print it in groups)."""
    return re.sub(r"\s+", "", text).upper()


def check_serial(serial: str) -> str:
    """The serial normalised, or Invalid with what a serial looks like."""
    value = normalize_serial(serial)
    if not SERIAL.fullmatch(value) or sum(c.isdigit() for c in value) < 4:
        raise Invalid("assets.serial_format", field="serial_number")
    return value


@dataclass(frozen=True, slots=True)
class UnitEntry:
    """The unit as the engineer reads it on site."""

    model_code: str
    serial_number: str
    install_date: date | None
    purchase_date: date | None

    @property
    def empty(self) -> bool:
        """Nothing was entered (the engineer left the unit unregistered)."""
        return not (
            self.model_code or self.serial_number or self.install_date or self.purchase_date
        )


def _address_of(session: Session, ticket: Ticket) -> int | None:
    for address in session.scalars(
        select(CustomerAddress).where(CustomerAddress.customer_id == ticket.customer_id)
    ):
        if ticket.address and ticket.address.strip() == address.full.strip():
            return address.id
    return None


def register_from_work(
    session: Session, *, ticket: Ticket, entry: UnitEntry, actor: str, today: date
) -> Asset:
    """Register the ticket's unit from the work record and link the ticket to it: the
    model's warranty runs from the purchase day (else the install day). A serial the
    customer's units already hold links that unit; another customer's is a Conflict."""
    if ticket.asset_id is not None:
        raise Conflict("assets.already_registered")
    if not entry.model_code:
        raise Invalid("assets.model_missing", field="model_code")
    model = session.scalars(
        select(ProductModel).where(ProductModel.code == entry.model_code.strip().upper())
    ).first()
    if model is None:
        raise Invalid("error.unknown_model", field="model_code")
    wanted = category_of(session, product=ticket.product)
    if wanted and model.product.category != wanted and model.product.name != ticket.product:
        raise Invalid(
            "assets.model_other_category",
            field="model_code",
            model=model.code,
            category=wanted,
        )
    serial = check_serial(entry.serial_number)
    dates = (("purchase_date", entry.purchase_date), ("install_date", entry.install_date))
    for field_name, day in dates:
        if day is not None and not EARLIEST <= day <= today:
            raise Invalid("assets.bad_date", field=field_name)
    start = entry.purchase_date or entry.install_date
    if start is None:
        raise Invalid("assets.date_missing", field="purchase_date")
    if entry.purchase_date and entry.install_date and entry.install_date < entry.purchase_date:
        raise Invalid("assets.installed_before_bought", field="install_date")
    existing = session.scalars(select(Asset).where(Asset.serial_number == serial)).first()
    if existing is not None:
        if existing.customer_id != ticket.customer_id:
            raise Conflict("assets.serial_other_customer", serial=serial)
        if existing.model_id != model.id:
            raise Conflict("assets.serial_other_model", serial=serial, model=existing.model.code)
        asset = existing
    else:
        asset = Asset(
            serial_number=serial,
            model_id=model.id,
            customer_id=ticket.customer_id,
            address_id=_address_of(session, ticket),
            install_date=entry.install_date,
            purchase_date=entry.purchase_date,
            warranty_end=start + relativedelta(months=model.warranty_months),
            origin="work_record",
            registered_by=actor[:64],
        )
        session.add(asset)
        session.flush()
    ticket.asset_id = asset.id
    ticket.model_code = model.code
    ticket.serial_number = serial
    session.flush()
    return asset
