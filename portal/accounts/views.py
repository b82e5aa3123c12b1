"""Staff API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel

from portal.database import SessionDep
from portal.errors import Unauthorized
from portal.security import authenticate, issue_token

router = APIRouter(prefix="/auth", tags=["auth"])


class TokenRead(BaseModel):
    """A bearer token for the API."""

    access_token: str
    token_type: str = "bearer"


@router.post("/token", response_model=TokenRead)
def token(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=200)],
) -> TokenRead:
    """Exchange a staff username and password for a bearer token."""
    user = authenticate(session, username=username, password=password)
    if user is None:
        raise Unauthorized("error.bad_credentials")
    return TokenRead(access_token=issue_token(request.app.state.settings, user))
