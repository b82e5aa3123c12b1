"""What a browser sees when no route answers: an address that does not exist (404) or one
that only takes a form post (405).

The API, the channels, health checks and static files keep FastAPI's JSON answer. A page
address gets the error page in the reader's language: the customers' one under /my, the
staff one elsewhere. A GET of an address that only takes a post is what a reload or the back
button does after a refused form (…/jobs/SR…/record): it goes back to the page the form
belongs to instead of answering "Method Not Allowed".
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from portal.i18n import t
from portal.selfservice.pages import _error_page as customer_error_page
from portal.templating import render, request_lang

# Addresses whose callers are programs, not people reading pages.
MACHINE_PREFIXES = ("/api/", "/channels/", "/static/", "/healthz", "/readyz", "/livez", "/metrics")


def _for_a_reader(request: Request) -> bool:
    path = request.url.path
    if path.startswith(MACHINE_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


def parent(path: str) -> str:
    """The page an address's form belongs to: /field/jobs/SR1/record → /field/jobs/SR1."""
    head = path.rstrip("/").rsplit("/", 1)[0]
    return head or "/"


async def http_error(request: Request, exc: Exception) -> Response:
    """The error page for a reader, FastAPI's JSON for everyone else."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code not in (404, 405) or not _for_a_reader(request):
        return await http_exception_handler(request, exc)
    if exc.status_code == 405 and request.method in ("GET", "HEAD"):
        return RedirectResponse(parent(request.url.path), status_code=303)
    message = t(f"ui.error.http_{exc.status_code}", request_lang(request))
    if request.url.path == "/my" or request.url.path.startswith("/my/"):
        return customer_error_page(request, exc.status_code, message)
    context = {"status": exc.status_code, "message": message}
    return render(request, "error.html", context, exc.status_code)


def install(app: FastAPI) -> None:
    """Answer unrouted requests this way."""
    app.add_exception_handler(StarletteHTTPException, http_error)
