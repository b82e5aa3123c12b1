"""CSRF protection for the staff pages: one random token per page session.

The token lives in the signed session cookie; every form carries it in a hidden field
(`csrf_token`) and script requests may send it in the `X-CSRF-Token` header. A page router
lists `protect` among its dependencies, so no POST route of it can forget the check.
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
