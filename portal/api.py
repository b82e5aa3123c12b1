"""Mounts every router. Every JSON route needs auth, except the ones listed here:

- `POST /api/v1/auth/token` (it is how one gets a token),
- `GET /healthz`,
- the customer channels under `/channels/` (customers are anonymous there; the widget checks
  its site key, WeChat its signature).
"""

from __future__ import annotations

from fastapi import APIRouter

from portal.accounts import pages as account_pages
from portal.accounts import views as account_views
from portal.conversations import views as conversation_views
from portal.health import views as health_views
from portal.tickets import pages as ticket_pages
from portal.tickets import views as ticket_views
from portal.website import pages as website_pages

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(account_views.router)
api_router.include_router(ticket_views.router)
api_router.include_router(conversation_views.router)

page_router = APIRouter(include_in_schema=False)
page_router.include_router(website_pages.router)
page_router.include_router(account_pages.router)
page_router.include_router(ticket_pages.router)

health_router = health_views.router
