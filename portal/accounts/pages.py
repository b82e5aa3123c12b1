"""Login and logout pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from channels.rest.client_ip import request_address
from portal import csrf
from portal.accounts import service
from portal.database import SessionDep
from portal.errors import TooManyRequests
from portal.i18n import t
from portal.staff import signin
from portal.staff.signin import safe_next as _safe_next
from portal.templating import request_lang, templates

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "") -> HTMLResponse:
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
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Check the credentials (throttled) and start a page session, or the login's next step
    (the 2-step verification code, a new password)."""
    settings = request.app.state.settings
    # The client's address as a configured proxy forwards it, not the proxy's own.
    ip = request_address(request, settings.proxies)
    limits = service.LoginLimits.from_settings(settings)
    try:
        user = service.login(session, username=username, password=password, ip=ip, limits=limits)
    except TooManyRequests as exc:
        message = exc.message_zh if request_lang(request) == "zh" else exc.message_en
        return _form_error(request, next, username, message, 429)
    if user is None:
        message = t("error.bad_credentials", request_lang(request))
        return _form_error(request, next, username, message, 401)
    return signin.begin(request, user, next)


def _form_error(request: Request, next: str, username: str, error: str, code: int) -> Response:
    return templates.TemplateResponse(
        request,
        "accounts/login.html",
        {"next": _safe_next(next), "error": error, "username": username},
        status_code=code,
    )


@router.post("/logout", dependencies=[Depends(csrf.protect)])
def logout(request: Request) -> RedirectResponse:
    """End the page session."""
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
