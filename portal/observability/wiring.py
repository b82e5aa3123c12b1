"""Puts observability into an app: log format, middleware, /metrics."""

from __future__ import annotations

from fastapi import FastAPI

from portal.config import Settings
from portal.observability.logs import configure_logging
from portal.observability.middleware import ObservabilityMiddleware
from portal.observability.views import router


def install(app: FastAPI, settings: Settings) -> None:
    """Log format, the request-id and latency middleware, and `/metrics` for this app."""
    configure_logging(settings)
    app.add_middleware(ObservabilityMiddleware)
    app.include_router(router)
