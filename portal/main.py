"""The app factory: settings, database, hub, channels, routers, middleware, error handlers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from urllib.parse import quote

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from channels.rest.adapter import RestPolicy
from channels.rest.adapter import build_router as build_rest_router
from channels.web import VisitorSockets
from channels.web import build_router as build_web_router
from knowledge_base import KnowledgeBase
from portal import wiring
from portal.api import api_router, health_router, page_router
from portal.config import ROOT, Settings, get_settings
from portal.conversations.flows import ConversationHub
from portal.conversations.rasa import RasaClient
from portal.conversations.redis_backend import Scaling
from portal.conversations.wiring import forward_web_frames, register_web_channel, web_relay
from portal.errors import install_handlers
from portal.headers import SecurityHeadersMiddleware
from portal.i18n import both
from portal.knowledge import flows as knowledge
from portal.notifications.widget import WidgetDelivery
from portal.observability.wiring import install as install_observability
from portal.page_errors import install as install_page_errors
from portal.parts.flows import StockPlanner
from portal.security import LoginRequired
from portal.tasks import stop_task
from portal.wechat.flows import mount as mount_wechat

log = logging.getLogger(__name__)


def rest_policy(settings: Settings) -> RestPolicy:
    """Who may call /channels/rest/webhook and how often: REST_INTEGRATION_KEYS; open to
    anyone only in demo mode without keys (to try the product); limited in every mode."""
    keys = settings.rest_keys
    return RestPolicy(
        keys=None if settings.demo_mode and not keys else keys,
        sender_per_min=settings.rest_rate_sender_per_min,
        key_per_min=settings.rest_rate_key_per_min,
        ip_per_min=settings.rest_rate_ip_per_min,
        proxies=settings.proxies,
        messages={
            "integration_key": both("error.integration_key"),
            "rate_limited": both("error.rate_limited"),
        },
    )


def create_app(
    settings: Settings | None = None,
    *,
    http_transport: httpx.AsyncBaseTransport | None = None,
    kb: KnowledgeBase | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> FastAPI:
    """Build the portal for these settings (the environment's by default).

    `http_transport` replaces the network for outbound HTTP (Rasa, health checks) in tests;
    `kb` is an already loaded knowledge base (tests share one), else it loads at startup;
    `clock` is the handoff queue's (offers, presence), which tests step instead of waiting.
    """
    settings = settings or get_settings()
    # Outside demo mode a default or short secret stops the portal here, naming each one.
    settings.check_secrets()
    # Dispatch reserves parts from the networks' stock through the inventory's planner; the
    # lifecycle's subscribers (portal.wiring) use the same one.
    planner = StockPlanner()
    db = wiring.database(settings, planner=planner)
    http = httpx.AsyncClient(transport=http_transport)
    # REDIS_URL set: several workers share live events, turn locks, presence, rate limits.
    scaling = (
        Scaling(
            settings.redis_url,
            prefix=settings.redis_prefix,
            heartbeat_timeout_s=settings.handoff_heartbeat_timeout_s,
            router_lease_s=settings.handoff_router_lease_s,
            tick_s=settings.handoff_tick_s,
        )
        if settings.redis_url
        else None
    )
    hub = ConversationHub(
        db=db,
        rasa=RasaClient(
            base_url=settings.rasa_url,
            http=http,
            timeout_s=settings.rasa_timeout_s,
            token=settings.rasa_token,
        ),
        settings=settings,
        broker=scaling.broker if scaling else None,
        locks=scaling.locks if scaling else None,
        presence=scaling.presence if scaling else None,
        router=scaling.router if scaling else None,
        clock=clock,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        relay: asyncio.Task[None] | None = None
        if scaling is not None:
            await scaling.start()
            relay = asyncio.create_task(forward_web_frames(scaling.broker, app.state.web_sockets))
        hub.start()  # the handoff queue's clock: escalations, offers, disconnected agents
        widget_outbox.start()  # widget notifications: pushed where the sockets are
        if wechat is not None:
            wechat.outbox.start()  # WeChat replies and turn recovery, from the outbox
        await knowledge.start(_app)  # the FAQ index, and a watch on its files
        yield
        await knowledge.stop(_app)
        if wechat is not None:
            await wechat.outbox.stop()
        await widget_outbox.stop()
        await hub.stop()
        if scaling is not None:
            await stop_task(relay)
            await scaling.stop()
        await http.aclose()
        db.dispose()

    app = FastAPI(
        title="After-sales service portal / 售后服务门户",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.db = db
    app.state.http = http
    app.state.hub = hub
    # The FAQ knowledge base (knowledge.flows); None until loaded, or when switched off.
    app.state.kb = kb
    app.state.kb_error = ""
    app.state.parts_planner = planner
    # Open widget sockets, so staff replies can be pushed to a visitor later.
    app.state.web_sockets = VisitorSockets(
        relay=web_relay(scaling.broker) if scaling is not None else None
    )
    register_web_channel(hub, app.state.web_sockets)
    widget_outbox = WidgetDelivery(db=db, sockets=app.state.web_sockets, settings=settings)
    app.state.widget_outbox = widget_outbox

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="aftersales_session",
        same_site="lax",
        https_only=settings.public_url.startswith("https://"),
    )
    # CSP, frame-ancestors, nosniff, Referrer-Policy, HSTS on every response (portal/headers).
    app.add_middleware(SecurityHeadersMiddleware, settings=settings)
    install_handlers(app)
    install_page_errors(app)
    # Outermost: request ids and latency cover sessions, errors and every route.
    install_observability(app, settings)
    if settings.demo_mode:
        log.warning("%s", " / ".join(both("config.demo_mode")))

    @app.exception_handler(LoginRequired)
    async def _to_login(_request: Request, exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse(f"/login?next={quote(str(exc))}", status_code=303)

    app.mount("/static", StaticFiles(directory=str(ROOT / "portal" / "static")), name="static")
    app.include_router(health_router)
    app.include_router(api_router)
    app.include_router(page_router)
    app.include_router(
        build_rest_router(
            hub,
            rest_policy(settings),
            limits=scaling.limit if scaling is not None else None,
        )
    )
    app.include_router(
        build_web_router(
            hub,
            site_keys=settings.site_keys,
            sockets=app.state.web_sockets,
            visitor_rate_per_min=settings.widget_rate_visitor_per_min,
            site_rate_per_min=settings.widget_rate_site_per_min,
            limits=scaling.limit if scaling is not None else None,
        )
    )
    # /channels/wechat when a callback token is configured; registers its sender with the hub.
    wechat = mount_wechat(app, settings=settings, db=db, hub=hub)
    log.info("portal built on %s", db.engine.url.render_as_string())
    return app
