"""`/healthz`: is every part of the stack up?"""

from __future__ import annotations

import asyncio

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from portal.config import Settings
from portal.database import Database

router = APIRouter(tags=["health"])


def _database_ok(db: Database) -> dict[str, str]:
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "up"}
    except Exception as exc:  # any driver error means down; the reason is reported
        return {"status": "down", "error": str(exc)[:200]}


async def _http_ok(http: httpx.AsyncClient, url: str, timeout: float) -> dict[str, str]:
    try:
        response = await http.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        return {"status": "down", "error": type(exc).__name__}
    if response.status_code != 200:
        return {"status": "down", "error": f"HTTP {response.status_code}"}
    return {"status": "up"}


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    """The state of the database, Rasa and the action server; 200 only when all are up."""
    settings: Settings = request.app.state.settings
    http: httpx.AsyncClient = request.app.state.http
    timeout = settings.health_timeout_s
    database, rasa, actions = await asyncio.gather(
        run_in_threadpool(_database_ok, request.app.state.db),
        # /status needs Rasa's token, so this also proves the portal holds the right one.
        _http_ok(
            http, f"{settings.rasa_url.rstrip('/')}/status?token={settings.rasa_token}", timeout
        ),
        _http_ok(http, f"{settings.action_server_url.rstrip('/')}/health", timeout),
    )
    checks = {"database": database, "rasa": rasa, "action_server": actions}
    healthy = all(c["status"] == "up" for c in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status_code=200 if healthy else 503,
    )
