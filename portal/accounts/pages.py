"""Login and logout pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from portal.database import SessionDep
from portal.i18n import t
from portal.security import authenticate
from portal.templating import templates

router = APIRouter()


def _safe_next(target: str) -> str:
    # Only local paths, so the login form cannot bounce anyone to another site.
    return target if target.startswith("/") and not target.startswith("//") else "/tickets"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/tickets") -> HTMLResponse:
    """The staff login form."""
    return templates.TemplateResponse(
        request, "accounts/login.html", {"next": _safe_next(next), "error": None}
    )


@router.post("/login", response_model=None)
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "/tickets",
) -> Response:
    """Check the credentials and start a page session."""
    user = authenticate(session, username=username, password=password)
    if user is None:
        return templates.TemplateResponse(
            request,
            "accounts/login.html",
            {"next": _safe_next(next), "error": t("error.bad_credentials"), "username": username},
            status_code=401,
        )
    request.session.clear()
    request.session["uid"] = user.id
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    """End the page session."""
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
