"""Staff API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from portal.accounts import service
from portal.database import SessionDep
from portal.errors import Unauthorized, error_response
from portal.security import issue_token

router = APIRouter(prefix="/auth", tags=["auth"])


class TokenRead(BaseModel):
    """A bearer token for the API."""

    access_token: str
    token_type: str = "bearer"


@router.post(
    "/token",
    response_model=TokenRead,
    responses={401: {"description": "Wrong credentials"}, 429: {"description": "Throttled"}},
)
def token(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=200)],
) -> TokenRead | JSONResponse:
    """Exchange a staff username and password for a bearer token (throttled)."""
    ip = request.client.host if request.client else ""
    user = service.login(session, username=username, password=password, ip=ip)
    if user is None:
        # Answered, not raised, so the failed attempt is committed and counts.
        return error_response(Unauthorized("error.bad_credentials"))
    return TokenRead(access_token=issue_token(request.app.state.settings, user))
