"""The asset page for the service desk: the unit, its warranty and its service history."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from portal.assets import service
from portal.customers.service import get_customer
from portal.database import SessionDep
from portal.ids import IdPath
from portal.templating import PAGE_ROUTER_OPTIONS, Desk, render, shanghai_today

router = APIRouter(**PAGE_ROUTER_OPTIONS)


@router.get("/assets/{asset_id}", response_class=Response)
def asset_detail(request: Request, asset_id: IdPath, session: SessionDep, user: Desk) -> Response:
    """One installed unit with every ticket on it."""
    asset = service.get_asset(session, asset_id=asset_id)
    customer = get_customer(session, customer_id=asset.customer_id)
    address = next((a for a in customer.addresses if a.id == asset.address_id), None)
    return render(
        request,
        "assets/detail.html",
        {
            "asset": asset,
            "customer": customer,
            "address": address,
            "history": service.service_history(session, asset_id=asset.id),
            "today": shanghai_today(),
        },
    )
