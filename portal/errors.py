"""PortalError and its kinds; one handler turns them (and validation errors) into JSON."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError

from portal.i18n import Term, both, field_label

log = logging.getLogger(__name__)


class PortalError(Exception):
    """A failure a service reports; views never raise HTTPException themselves."""

    status_code = 400

    def __init__(self, key: str, **params: object) -> None:
        self.key = key
        self.params = params
        self.message_zh, self.message_en = both(key, **params)
        super().__init__(self.message_en)


class NotFound(PortalError):
    """The object does not exist, or the caller may not know that it does."""

    status_code = 404

    def __init__(self, what: str = "object.ticket") -> None:
        super().__init__("error.not_found", what=Term.key(what))


class Conflict(PortalError):
    """The request clashes with the current state."""

    status_code = 409


class Forbidden(PortalError):
    """Known caller, not allowed."""

    status_code = 403


class Unauthorized(PortalError):
    """No valid credentials."""

    status_code = 401


class TooManyRequests(PortalError):
    """Too many attempts in a short time; `retry_after` (seconds) becomes Retry-After."""

    status_code = 429

    def __init__(self, key: str, *, retry_after: int = 300, **params: object) -> None:
        super().__init__(key, **params)
        self.retry_after = max(1, int(retry_after))


class Invalid(PortalError):
    """Input that passed the schema but breaks a rule; `field` names the culprit."""

    status_code = 422

    def __init__(self, key: str, *, field: str | None = None, **params: object) -> None:
        self.field = field
        if field is not None and "field_name" not in params:
            # The field is named once, by its code; the message shows its label.
            params["field_name"] = Term(*field_label(field))
        super().__init__(key, **params)


def _body(key: str, zh: str, en: str, **extra: Any) -> dict[str, Any]:
    return {"error": key, "message": f"{zh} / {en}", "message_zh": zh, "message_en": en, **extra}


def error_response(exc: PortalError) -> JSONResponse:
    """The JSON answer for a PortalError (also for routes that must answer without raising)."""
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    if isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after)}
    extra: dict[str, Any] = {}
    if isinstance(exc, Invalid) and exc.field:
        extra["errors"] = [
            {
                "field": exc.field,
                "loc": [exc.field],
                "type": exc.key.rsplit(".", 1)[-1],
                "message_zh": exc.message_zh,
                "message_en": exc.message_en,
            }
        ]
    return JSONResponse(
        _body(exc.key, exc.message_zh, exc.message_en, **extra),
        status_code=exc.status_code,
        headers=headers,
    )


async def _portal_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PortalError)
    return error_response(exc)


def validation_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic errors as a list naming each field, in Chinese and English."""
    out = []
    for err in errors:
        parts = list(err.get("loc", ()))
        # Drop only the leading location: a field may itself be called "body" (a comment's).
        if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
            parts = parts[1:]
        loc = [str(p) for p in parts]
        field = loc[-1] if loc else ""
        name = Term(*field_label(field))
        kind = err.get("type", "")
        key = {
            "missing": "validation.missing",
            "phone_invalid": "validation.phone_invalid",
            "string_too_long": "validation.too_long",
            "string_too_short": "validation.too_short",
        }.get(kind, "validation.invalid")
        zh, en = both(key, field_name=name)
        limit = (err.get("ctx") or {}).get(
            {"less_than_equal": "le", "greater_than_equal": "ge"}.get(kind, "")
        )
        if isinstance(limit, int) and (field == "id" or field.endswith("_id")):
            # An id out of range (past every id column) says the range it must be in.
            bound = "validation.at_most" if kind == "less_than_equal" else "validation.at_least"
            zh, en = both(bound, field_name=name, limit=limit)
        out.append({"field": field, "loc": loc, "type": kind, "message_zh": zh, "message_en": en})
    return out


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(list(exc.errors()))
    zh, en = both("error.invalid_request")
    if errors:
        zh = f"{zh}：" + "；".join(e["message_zh"] for e in errors)
        en = f"{en}: " + "; ".join(e["message_en"] for e in errors)
    return JSONResponse(_body("invalid_request", zh, en, errors=errors), status_code=422)


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database could not be reached (not a bug in a query)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError | InterfaceError | SATimeoutError)


def nul_in_text(exc: BaseException) -> bool:
    """Whether the database refused text holding a NUL character (PostgreSQL does; SQLite
    stores it): bad input wherever it came from (a form, a query string, a path)."""
    return isinstance(exc, DataError) and "NUL" in str(exc.orig)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    if nul_in_text(exc):
        zh, en = both("error.nul_character")
        return JSONResponse(_body("invalid_request", zh, en), status_code=422)
    if not database_unavailable(exc):
        return await _unexpected(request, exc)
    # A dropped or restarting database: tell the client to retry, not a 500 traceback.
    # The pool's pre-ping replaces the dead connections, so the next request recovers.
    log.warning("database unavailable: %s", exc.__class__.__name__)
    zh, en = both("error.db_unavailable")
    return JSONResponse(
        _body("db_unavailable", zh, en), status_code=503, headers={"Retry-After": "5"}
    )


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    zh, en = both("error.internal")
    return JSONResponse(_body("internal", zh, en), status_code=500)


def install_handlers(app: FastAPI) -> None:
    """Register the one handler per error family."""
    app.add_exception_handler(PortalError, _portal_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(SATimeoutError, _database_error)
    app.add_exception_handler(Exception, _unexpected)
