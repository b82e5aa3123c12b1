"""Customer pages for the service desk: search, and one customer's profile."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from portal.assets.service import list_assets
from portal.customers import service
from portal.database import SessionDep
from portal.ids import IdPath
from portal.templating import PAGE_ROUTER_OPTIONS, Desk, render, shanghai_today
from portal.tickets.service import list_tickets

router = APIRouter(**PAGE_ROUTER_OPTIONS)

PAGE_SIZE = 20


@router.get("/customers", response_class=Response)
def customer_list(
    request: Request,
    session: SessionDep,
    user: Desk,
    q: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Customers found by name or phone."""
    rows, total = service.list_customers(
        session, q=q.strip() or None, page=page, page_size=PAGE_SIZE
    )
    return render(
        request,
        "customers/list.html",
        {
            "customers": rows,
            "total": total,
            "q": q,
            "page": page,
            "pages": max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        },
    )


@router.get("/customers/{customer_id}", response_class=Response)
def customer_detail(
    request: Request, customer_id: IdPath, session: SessionDep, user: Desk
) -> Response:
    """One customer: phones, addresses, assets with their warranty, and tickets."""
    customer = service.get_customer(session, customer_id=customer_id)
    tickets, total = list_tickets(session, principal=user, customer_id=customer.id, page_size=50)
    return render(
        request,
        "customers/detail.html",
        {
            "customer": customer,
            "assets": list_assets(session, customer_id=customer.id),
            "tickets": tickets,
            "tickets_total": total,
            "today": shanghai_today(),
        },
    )
