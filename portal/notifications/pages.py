"""The staff notification centre: the bell in every staff page's top bar (its unread count,
loaded and refreshed by htmx), the list of one's notifications, mark one or all read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from portal.database import SessionDep
from portal.field import policies as field_policies
from portal.i18n import both
from portal.ids import IdPath
from portal.notifications import service
from portal.notifications.flows import render as render_text
from portal.notifications.policies import RecipientPage
from portal.security import Principal
from portal.templating import PAGE_ROUTER_OPTIONS, flash, render, safe_path, see_other

router = APIRouter(**PAGE_ROUTER_OPTIONS)

PAGE_SIZE = 20


def _user_id(user: Principal) -> int:
    # Page callers are staff with an account (portal.security.page_user).
    assert user.user_id is not None
    return user.user_id


def unread_count(session: SessionDep, user: Principal) -> int:
    """How many of the caller's notifications are unread."""
    _rows, _total, unread = service.list_mine(session, user_id=_user_id(user), page_size=1)
    return unread


@router.get("/notifications", response_class=Response)
def notifications_page(
    request: Request,
    session: SessionDep,
    user: RecipientPage,
    unread: bool = False,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    """One's notifications, newest first (only the unread ones with unread=true)."""
    rows, total, unread_total = service.list_mine(
        session, user_id=_user_id(user), unread_only=unread, page=page, page_size=PAGE_SIZE
    )
    # An engineer reads them on the phone, in the field app's frame.
    field = field_policies.ENGINEER.allows(user)
    items = []
    for n in rows:
        zh, en = render_text(n.template, n.payload)
        number = n.payload.get("number")
        path = n.payload.get("path")
        # Where "open" leads: the page named in the payload (a consult), else the ticket (an
        # engineer's job in the field app).
        ticket_page = f"/field/jobs/{number}" if field else f"/tickets/{number}"
        target = safe_path(str(path), "") if path else (ticket_page if number else "")
        items.append(
            {
                "row": n,
                "zh": zh,
                "en": en,
                "number": str(number) if number else None,
                "target": target or None,
            }
        )
    return render(
        request,
        "notifications/list.html",
        {
            "items": items,
            "total": total,
            "unread_total": unread_total,
            "unread_only": unread,
            "page": page,
            "pages": max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
            "bell_unread": unread_total,
            "layout": "field/base.html" if field else "base.html",
        },
    )


@router.get("/notifications/bell", response_class=Response)
def bell(request: Request, session: SessionDep, user: RecipientPage) -> Response:
    """The bell with the unread count: the top bar loads it, then refreshes it each minute."""
    return render(request, "notifications/_bell.html", {"unread": unread_count(session, user)})


@router.post("/notifications/read-all", response_class=Response)
def read_all(request: Request, session: SessionDep, user: RecipientPage) -> Response:
    """Mark every notification of the caller read."""
    done = service.mark_all_read(session, user_id=_user_id(user))
    zh, en = both("ui.notifications.all_read", n=done)
    flash(request, "ok", zh, en)
    return see_other("/notifications")


@router.post("/notifications/{notification_id}/read", response_class=Response)
def read_one(
    notification_id: IdPath,
    session: SessionDep,
    user: RecipientPage,
    next: Annotated[str, Form(max_length=500)] = "/notifications",
) -> Response:
    """Mark one of the caller's notifications read (anyone else's is a 404), then go on to
    `next`: back to the list, or the ticket it is about."""
    service.mark_read(session, user_id=_user_id(user), notification_id=notification_id)
    return see_other(safe_path(next, "/notifications"))
