"""Reads of service networks and engineers."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.networks.models import Engineer, ServiceNetwork
from portal.places.service import city_key


def list_networks(session: Session, *, network_id: int | None = None) -> list[ServiceNetwork]:
    """Service networks by id (only that one when `network_id` is given)."""
    stmt = select(ServiceNetwork).order_by(ServiceNetwork.id)
    if network_id is not None:
        stmt = stmt.where(ServiceNetwork.id == network_id)
    return list(session.scalars(stmt).all())


def networks_in(session: Session, *, cities: Collection[str]) -> list[int]:
    """Ids of the networks in these cities, however either side writes the city's name."""
    keys = {city_key(c) for c in cities if c}
    rows = session.execute(select(ServiceNetwork.id, ServiceNetwork.city)).all()
    return [nid for nid, city in rows if city_key(city) in keys]


def list_engineers(
    session: Session,
    *,
    city: str | None = None,
    network_id: int | None = None,
    ids: Collection[int] | None = None,
) -> list[Engineer]:
    """Engineers of a city's networks (上海市, 上海 and 沪 are one city), of one network, or
    with these ids; by name."""
    stmt = select(Engineer).join(ServiceNetwork, Engineer.network_id == ServiceNetwork.id)
    if city:
        stmt = stmt.where(ServiceNetwork.id.in_(networks_in(session, cities=[city])))
    if network_id is not None:
        stmt = stmt.where(Engineer.network_id == network_id)
    if ids is not None:
        stmt = stmt.where(Engineer.id.in_(list(ids)))
    return list(session.scalars(stmt.order_by(Engineer.name, Engineer.id)).all())


OUTLET = "sub"  # 伞下店: a sub-outlet under `parent_id`, settled and stocked through its parent


def settling_network(session: Session, *, network_id: int) -> tuple[int, ServiceNetwork | None]:
    """The network a job of `network_id` settles on, and the outlet when it is one: a 伞下店's
    jobs go on its parent's statement (it has none of its own), any other network's on its own."""
    net = session.get(ServiceNetwork, network_id)
    if net is None or net.kind != OUTLET or net.parent_id is None:
        return network_id, None
    return net.parent_id, net
