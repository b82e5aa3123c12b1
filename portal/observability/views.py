"""`/metrics`: the Prometheus text exposition."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from portal.config import Settings, prometheus_multiproc_dir
from portal.errors import Unauthorized, error_response
from portal.observability.exposition import CONTENT_TYPE, render

router = APIRouter(tags=["health"], include_in_schema=False)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Every metric of this process (or of all workers in multiprocess mode) and the DB's."""
    settings: Settings = request.app.state.settings
    if settings.metrics_token:
        given = request.headers.get("authorization", "")
        if not secrets.compare_digest(given, f"Bearer {settings.metrics_token}"):
            return error_response(Unauthorized("error.unauthorized"))
    payload = await run_in_threadpool(
        render, request.app.state.db, multiprocess_dir=prometheus_multiproc_dir()
    )
    return Response(payload, media_type=CONTENT_TYPE)
