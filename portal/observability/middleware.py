"""One ASGI middleware: a request id for every HTTP request and WebSocket (echoed in
`X-Request-ID`), the latency histogram by route template, and an access log line."""

from __future__ import annotations

import logging
import time

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal.observability.context import (
    accept_request_id,
    conversation_id_var,
    request_id_var,
)
from portal.observability.metrics import REQUEST_LATENCY

access_log = logging.getLogger("portal.access")

UNMATCHED = "<unmatched>"  # one label for every unknown path, so 404 scans add no series


def route_template(scope: Scope, *, root_path: str = "") -> str:
    """The path template of the route that answered (`/api/v1/tickets/{ref}`)."""
    # FastAPI keeps included routers unflattened: scope["route"] is the route as declared,
    # without the router's prefix; the full template is in its per-request route context.
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    template = getattr(context, "path_format", None)
    if template is None:
        template = getattr(scope.get("route"), "path_format", None)
    if template is None and scope.get("root_path", "") != root_path:
        template = f"{scope['root_path']}/{{path}}"  # a mounted app, e.g. /static/{path}
    return str(template or UNMATCHED)


class ObservabilityMiddleware:
    """Request id in the context and the response; latency and an access line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap one HTTP request or WebSocket session."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = accept_request_id(Headers(scope=scope).get("x-request-id"))
        rid_token = request_id_var.set(request_id)
        conv_token = conversation_id_var.set(None)
        status = 500  # what the client gets when the app raises before answering
        root_path = scope.get("root_path", "")
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            elif message["type"] == "websocket.accept":
                headers = list(message.get("headers") or [])
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http":
                elapsed = time.perf_counter() - start
                route = route_template(scope, root_path=root_path)
                REQUEST_LATENCY.labels(scope["method"], route, str(status)).observe(elapsed)
                access_log.info(
                    "%s %s %s %.1fms",
                    scope["method"],
                    scope["path"],
                    status,
                    elapsed * 1000,
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 1),
                    },
                )
            conversation_id_var.reset(conv_token)
            request_id_var.reset(rid_token)
