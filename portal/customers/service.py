"""Reads and writes of customers."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.customers.models import Customer


def find_or_create_by_phone(session: Session, *, phone: str, name: str = "") -> Customer:
    """The customer with this phone, created on first contact."""
    customer = session.scalars(select(Customer).where(Customer.phone == phone)).first()
    if customer is None:
        customer = Customer(phone=phone, name=name)
        session.add(customer)
        session.flush()
    elif name and not customer.name:
        customer.name = name
    return customer
