"""The customer's own data under /my/privacy: download it (JSON, or a page to read and print)
and ask for it to be erased. Staff confirm erasure on /privacy/erasures (portal.privacy.pages).
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from portal import csrf
from portal.config import Settings
from portal.customers.models import Customer
from portal.database import SessionDep, utcnow
from portal.i18n import t
from portal.privacy import service as privacy
from portal.selfservice.pages import CustomerPage, SelfServiceRoute, _base
from portal.templating import flash, render, see_other

router = APIRouter(
    prefix="/my/privacy",
    route_class=SelfServiceRoute,
    dependencies=[Depends(csrf.protect)],
    include_in_schema=False,
)


def _customer(request: Request) -> Customer:
    customer: Customer = request.state.customer
    return customer


def _download_name(customer: Customer, ext: str) -> str:
    return f"my-data-{customer.id}-{utcnow():%Y%m%d}.{ext}"


@router.get("")
def privacy_page(request: Request, session: SessionDep, _c: CustomerPage) -> Response:
    """What we keep about the customer and for how long; download; ask for erasure."""
    settings: Settings = request.app.state.settings
    customer = _customer(request)
    latest = privacy.latest_request(session, customer_id=customer.id)
    return render(
        request,
        "selfservice/privacy.html",
        _base(
            request,
            pending=latest if latest is not None and latest.status == "pending" else None,
            declined=latest if latest is not None and latest.status == "rejected" else None,
            retention=settings,
        ),
    )


@router.get("/export.json")
def export_json(request: Request, session: SessionDep, _c: CustomerPage) -> Response:
    """Everything we hold about the signed-in customer, as a JSON file."""
    customer = _customer(request)
    data = privacy.export_customer(session, customer=customer)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        media_type="application/json; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{_download_name(customer, "json")}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/export")
def export_page(request: Request, session: SessionDep, _c: CustomerPage) -> Response:
    """The same data as a page to read, print or save."""
    customer = _customer(request)
    data = privacy.export_customer(session, customer=customer)
    response = render(request, "selfservice/privacy_export.html", _base(request, data=data))
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/erase")
def ask_erasure(
    request: Request,
    session: SessionDep,
    _c: CustomerPage,
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Ask for the customer's personal data to be erased (staff confirm it)."""
    if confirm != "yes":
        flash(
            request,
            "error",
            t("my.privacy.confirm_needed", "zh"),
            t("my.privacy.confirm_needed", "en"),
        )
        return see_other("/my/privacy")
    privacy.request_erasure(session, customer=_customer(request), now=utcnow())
    flash(request, "ok", t("my.privacy.requested", "zh"), t("my.privacy.requested", "en"))
    return see_other("/my/privacy")
