"""Health endpoints: `/healthz` (every part of the stack), `/readyz` (may this worker take
traffic?) and `/livez` (is the process alive?)."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from portal.config import Settings
from portal.conversations.rasa import rasa_auth_headers
from portal.health.service import database_ok, http_ok, migrations_ok
from portal.i18n import both

router = APIRouter(tags=["health"])


def _rasa_status_url(settings: Settings) -> str:
    # /status needs Rasa's token (a JWT in the header, never in the URL), so this also proves
    # the portal holds the right one.
    return f"{settings.rasa_url.rstrip('/')}/status"


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    """The state of the database, Rasa and the action server; 200 only when all are up."""
    settings: Settings = request.app.state.settings
    http: httpx.AsyncClient = request.app.state.http
    timeout = settings.health_timeout_s
    database, rasa, actions = await asyncio.gather(
        run_in_threadpool(database_ok, request.app.state.db),
        http_ok(http, _rasa_status_url(settings), timeout, rasa_auth_headers(settings.rasa_token)),
        http_ok(http, f"{settings.action_server_url.rstrip('/')}/health", timeout),
    )
    checks = {"database": database, "rasa": rasa, "action_server": actions}
    healthy = all(c["status"] == "up" for c in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status_code=200 if healthy else 503,
    )


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """200 when the database answers, is migrated to head and Rasa (if configured) answers;
    503 with the reasons otherwise, so a load balancer sends this worker no traffic."""
    settings: Settings = request.app.state.settings
    http: httpx.AsyncClient = request.app.state.http
    db = request.app.state.db
    checks: dict[str, dict[str, object]] = {
        "database": await run_in_threadpool(database_ok, db),
    }
    if checks["database"]["status"] == "up":
        checks["migrations"] = await run_in_threadpool(migrations_ok, db)
    if settings.rasa_url:
        checks["rasa"] = await http_ok(
            http,
            _rasa_status_url(settings),
            settings.health_timeout_s,
            rasa_auth_headers(settings.rasa_token),
        )
    reasons = []
    for name, check in checks.items():
        if check["status"] != "up":
            zh, en = both(f"health.not_ready.{name}", error=check.get("error", ""))
            reasons.append({"check": name, "message_zh": zh, "message_en": en})
    ready = not reasons
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks, "reasons": reasons},
        status_code=200 if ready else 503,
    )


@router.get("/livez")
async def livez() -> dict[str, str]:
    """200 while the process can answer at all; checks no dependency, so a slow database
    never gets a healthy worker restarted."""
    return {"status": "alive"}
