"""Ticket pages for staff."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from portal.database import SessionDep
from portal.security import PageUser
from portal.templating import templates
from portal.tickets import service

router = APIRouter()


@router.get("/tickets", response_class=HTMLResponse)
def ticket_list(
    request: Request,
    session: SessionDep,
    user: PageUser,
    status: Annotated[str | None, Query(max_length=32)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """The ticket list, newest first."""
    rows, total = service.list_tickets(session, status=status or None, page=page, page_size=50)
    return templates.TemplateResponse(
        request,
        "tickets/list.html",
        {"user": user, "tickets": rows, "total": total, "status": status or "", "page": page},
    )


@router.get("/tickets/{ref}", response_class=HTMLResponse)
def ticket_detail(request: Request, ref: str, session: SessionDep, user: PageUser) -> HTMLResponse:
    """One ticket with its timeline."""
    ticket = service.get_ticket(session, ref=ref)
    return templates.TemplateResponse(
        request, "tickets/detail.html", {"user": user, "ticket": ticket}
    )
