"""Reads of service networks and engineers."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.networks.models import Engineer, ServiceNetwork


def list_networks(session: Session, *, network_id: int | None = None) -> list[ServiceNetwork]:
    """Service networks by id (only that one when `network_id` is given)."""
    stmt = select(ServiceNetwork).order_by(ServiceNetwork.id)
    if network_id is not None:
        stmt = stmt.where(ServiceNetwork.id == network_id)
    return list(session.scalars(stmt).all())


def list_engineers(
    session: Session,
    *,
    city: str | None = None,
    network_id: int | None = None,
    ids: Collection[int] | None = None,
) -> list[Engineer]:
    """Engineers of a city's networks, of one network, or with these ids; by name."""
    stmt = select(Engineer).join(ServiceNetwork, Engineer.network_id == ServiceNetwork.id)
    if city:
        stmt = stmt.where(ServiceNetwork.city == city)
    if network_id is not None:
        stmt = stmt.where(Engineer.network_id == network_id)
    if ids is not None:
        stmt = stmt.where(Engineer.id.in_(list(ids)))
    return list(session.scalars(stmt.order_by(Engineer.name, Engineer.id)).all())
