"""The administrators' page of customers' erasure requests: confirm (anonymise now) or decline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from portal.config import Settings
from portal.customers.models import Customer
from portal.database import SessionDep, utcnow
from portal.errors import PortalError
from portal.i18n import t
from portal.ids import IdPath
from portal.privacy import service
from portal.privacy.policies import AdminPage
from portal.templating import PAGE_ROUTER_OPTIONS, flash, flash_error, render, see_other

router = APIRouter(**PAGE_ROUTER_OPTIONS)

RequestId = IdPath


Admin = AdminPage


@router.get("/privacy/erasures", response_class=Response)
def erasure_list(request: Request, session: SessionDep, _admin: Admin) -> Response:
    """Pending erasure requests, and the latest decided ones."""
    pending = service.list_requests(session, status="pending")
    decided = (
        service.list_requests(session, status="done")[-20:]
        + service.list_requests(session, status="rejected")[-20:]
    )
    customers = {r.customer_id: session.get(Customer, r.customer_id) for r in [*pending, *decided]}
    return render(
        request,
        "privacy/erasures.html",
        {
            "pending": pending,
            "decided": sorted(decided, key=lambda r: r.decided_at or r.requested_at, reverse=True),
            "customers": customers,
            "section": "privacy",
        },
    )


@router.post("/privacy/erasures/{request_id}/confirm", response_class=Response)
def confirm(request: Request, request_id: RequestId, session: SessionDep, admin: Admin) -> Response:
    """Erase the customer now (anonymised; tickets stay for the accounts)."""
    settings: Settings = request.app.state.settings
    try:
        service.confirm_erasure(
            session,
            request_id=request_id,
            actor=admin.actor,
            uploads=settings.uploads_path,
            now=utcnow(),
        )
    except PortalError as exc:
        flash_error(request, exc)
    else:
        flash(request, "ok", t("ui.privacy.erased", "zh"), t("ui.privacy.erased", "en"))
    return see_other("/privacy/erasures")


@router.post("/privacy/erasures/{request_id}/reject", response_class=Response)
def reject(
    request: Request,
    request_id: RequestId,
    session: SessionDep,
    admin: Admin,
    note: Annotated[str, Form(min_length=1, max_length=500)],
) -> Response:
    """Decline the request, saying why (the customer sees the reason on /my/privacy)."""
    try:
        service.reject_erasure(
            session, request_id=request_id, actor=admin.actor, note=note.strip(), now=utcnow()
        )
    except PortalError as exc:
        flash_error(request, exc)
    else:
        flash(request, "ok", t("ui.privacy.rejected", "zh"), t("ui.privacy.rejected", "en"))
    return see_other("/privacy/erasures")
