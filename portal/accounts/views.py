"""Staff API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from channels.rest.client_ip import request_address
from portal.accounts import service
from portal.database import SessionDep, utcnow
from portal.errors import Forbidden, Unauthorized, error_response
from portal.security import issue_token
from portal.staff import totp

router = APIRouter(prefix="/auth", tags=["auth"])


class TokenRead(BaseModel):
    """A bearer token for the API."""

    access_token: str
    token_type: str = "bearer"


@router.post(
    "/token",
    response_model=TokenRead,
    responses={
        401: {"description": "Wrong credentials or 2-step verification code"},
        403: {"description": "First log in on the page (new password, 2-step setup)"},
        429: {"description": "Throttled"},
    },
)
def token(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=200)],
    otp: Annotated[str, Form(max_length=32)] = "",
) -> TokenRead | JSONResponse:
    """Exchange a staff username and password for a bearer token (throttled); an account with
    2-step verification sends its current code (or a recovery code) as `otp`, throttled with
    the password attempts."""
    settings = request.app.state.settings
    # The client's address as a configured proxy forwards it, not the proxy's own.
    ip = request_address(request, settings.proxies)
    limits = service.LoginLimits.from_settings(settings)
    user = service.login(session, username=username, password=password, ip=ip, limits=limits)
    if user is None:
        # Answered, not raised, so the failed attempt is committed and counts.
        return error_response(Unauthorized("error.bad_credentials"))
    if user.totp_secret:
        if not otp:
            return error_response(Unauthorized("staff.code_needed"))
        sealing = totp.sealing_key(settings.secret_key)
        ok = service.login_code(
            session,
            username=username,
            ip=ip,
            verify=lambda: totp.second_factor(
                session, user=user, code=otp, now=utcnow(), key=sealing
            ),
            limits=limits,
        )
        if not ok:
            return error_response(Unauthorized("staff.code_wrong"))
    if user.must_change_password or (user.totp_required and not user.totp_secret):
        # A one-time password or a required 2-step setup is finished on the login page.
        return error_response(Forbidden("staff.finish_in_browser"))
    return TokenRead(access_token=issue_token(request.app.state.settings, user))
