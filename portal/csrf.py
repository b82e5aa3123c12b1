"""CSRF protection for every write a session cookie authenticates: one random token per
session.

The token lives in the signed session cookie; every form carries it in a hidden field
(`csrf_token`) and script requests send it in the `X-CSRF-Token` header. A page router
lists `protect` among its dependencies, so no POST route of it can forget the check; the JSON
API checks the header whenever the caller is the session cookie rather than a bearer token
(`require_header`, called where the API resolves its caller), so a script on another site
cannot write with a staff member's or a customer's cookie even where SameSite=Lax lets it by.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request

from portal.errors import Forbidden

SESSION_KEY = "csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def token(request: Request) -> str:
    """This session's token, made on first use."""
    value = request.session.get(SESSION_KEY)
    if not isinstance(value, str) or not value:
        value = secrets.token_urlsafe(32)
        request.session[SESSION_KEY] = value
    return value


def _matches(expected: str, sent: object) -> bool:
    return isinstance(sent, str) and hmac.compare_digest(expected.encode(), sent.encode())


def cookie_authenticated(request: Request) -> bool:
    """Whether the request's caller can only be its session cookie (no bearer token)."""
    return not request.headers.get("authorization", "").lower().startswith("bearer ")


def require_header(request: Request) -> None:
    """A state-changing JSON request on the session cookie must carry the token (403)."""
    if request.method in SAFE_METHODS or not cookie_authenticated(request):
        return
    expected = request.session.get(SESSION_KEY) if "session" in request.scope else None
    if not isinstance(expected, str) or not expected:
        raise Forbidden("error.csrf")
    if not _matches(expected, request.headers.get(HEADER)):
        raise Forbidden("error.csrf")


async def protect(request: Request) -> None:
    """Refuse a state-changing request that does not carry this session's token (403)."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get(SESSION_KEY)
    if not isinstance(expected, str) or not expected:
        raise Forbidden("error.csrf")
    if _matches(expected, request.headers.get(HEADER)):
        return
    # FastAPI has already parsed (and cached) the form when the route takes form fields.
    form = await request.form()
    if not _matches(expected, form.get(FIELD)):
        raise Forbidden("error.csrf")
