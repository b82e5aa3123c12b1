"""Login and logout pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from portal.accounts import service
from portal.database import SessionDep
from portal.errors import TooManyRequests
from portal.i18n import t
from portal.templating import request_lang, templates

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
    """Check the credentials (throttled) and start a page session."""
    ip = request.client.host if request.client else ""
    try:
        user = service.login(session, username=username, password=password, ip=ip)
    except TooManyRequests as exc:
        message = exc.message_zh if request_lang(request) == "zh" else exc.message_en
        return _form_error(request, next, username, message, 429)
    if user is None:
        message = t("error.bad_credentials", request_lang(request))
        return _form_error(request, next, username, message, 401)
    request.session.clear()
    request.session["uid"] = user.id
    return RedirectResponse(_safe_next(next), status_code=303)


def _form_error(request: Request, next: str, username: str, error: str, code: int) -> Response:
    return templates.TemplateResponse(
        request,
        "accounts/login.html",
        {"next": _safe_next(next), "error": error, "username": username},
        status_code=code,
    )


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    """End the page session."""
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
