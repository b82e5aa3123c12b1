"""Asset JSON routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select

from portal.assets import policies, service
from portal.assets.models import Asset
from portal.assets.policies import READ, Reader, Registrar
from portal.assets.schemas import AssetCreate, AssetRead
from portal.database import SessionDep, utcnow
from portal.errors import NotFound
from portal.ids import IdPath, IdQuery
from portal.security import Principal
from portal.tickets.schemas import TicketPage
from portal.tickets.views import to_read as ticket_read

router = APIRouter(prefix="/assets", tags=["assets"])


def to_read(asset: Asset) -> AssetRead:
    """The API shape of an asset."""
    return AssetRead(
        id=asset.id,
        serial_number=asset.serial_number,
        model_code=asset.model.code,
        model_name=asset.model.name,
        product_category=asset.model.product.category,
        customer_id=asset.customer_id,
        address_id=asset.address_id,
        install_date=asset.install_date,
        warranty_end=asset.warranty_end,
        in_warranty=asset.in_warranty(utcnow().date()),
    )


def _visible(session: SessionDep, asset_id: int, principal: Principal) -> Asset:
    """The asset, if the caller's scope holds it; 404 (as for none) otherwise."""
    stmt = policies.visible_to(select(Asset).where(Asset.id == asset_id), READ.scope(principal))
    asset = session.scalars(stmt).first()
    if asset is None:
        raise NotFound("object.asset")
    return asset


@router.get("", response_model=list[AssetRead])
def list_assets(
    session: SessionDep,
    principal: Reader,
    customer_id: IdQuery = None,
    serial: Annotated[str | None, Query(max_length=64)] = None,
) -> list[AssetRead]:
    """Assets by customer or serial number; customers get only their own."""
    scope = READ.scope(principal)
    if not scope.everything:
        if scope.customer_id is None:
            return []
        customer_id = scope.customer_id
    return [
        to_read(a) for a in service.list_assets(session, customer_id=customer_id, serial=serial)
    ]


@router.post("", response_model=AssetRead, status_code=status.HTTP_201_CREATED)
def register(data: AssetCreate, session: SessionDep, _p: Registrar) -> AssetRead:
    """Register an installed unit for a customer."""
    return to_read(service.register(session, **data.model_dump()))


@router.get("/{asset_id}", response_model=AssetRead)
def get_asset(asset_id: IdPath, session: SessionDep, principal: Reader) -> AssetRead:
    """One asset."""
    return to_read(_visible(session, asset_id, principal))


@router.get("/{asset_id}/history", response_model=TicketPage)
def history(asset_id: IdPath, session: SessionDep, principal: Reader) -> TicketPage:
    """The asset's service history: every ticket on it that the caller may see."""
    _visible(session, asset_id, principal)
    rows = service.service_history(session, asset_id=asset_id, principal=principal)
    return TicketPage(
        items=[ticket_read(t, principal) for t in rows],
        total=len(rows),
        page=1,
        page_size=max(len(rows), 1),
    )
