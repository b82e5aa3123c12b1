"""Mounts every router. Every JSON route needs auth, except the ones listed here:

- `POST /api/v1/auth/token` (it is how one gets a token),
- `POST /api/v1/customer-auth/code` and `/verify` (customers prove their phone there),
- `GET /api/v1/ticket-templates` (the intake forms are public),
- `GET /healthz`, `/readyz`, `/livez` and `/metrics` (its own optional token, METRICS_TOKEN),
- the customer channels under `/channels/` (customers are anonymous there; the widget checks
  its site key, WeChat its signature).
"""

from __future__ import annotations

from fastapi import APIRouter

from portal.accounts import pages as account_pages
from portal.accounts import views as account_views
from portal.analytics import boards_pages as analytics_boards
from portal.analytics import pages as analytics_pages
from portal.analytics import views as analytics_views
from portal.assets import pages as asset_pages
from portal.assets import views as asset_views
from portal.audit import pages as audit_pages
from portal.audit import views as audit_views
from portal.botapi import views as bot_views
from portal.complaints import pages as complaint_pages
from portal.complaints import views as complaint_views
from portal.console import pages as console_pages
from portal.console import socket as console_socket
from portal.console import views as console_views
from portal.consults import pages as consult_pages
from portal.consults import socket as consult_socket
from portal.conversations import views as conversation_views
from portal.costs import pages as cost_pages
from portal.customers import pages as customer_pages
from portal.customers import views as customer_views
from portal.dispatch import pages as dispatch_pages
from portal.dispatch import views as dispatch_views
from portal.field import pages as field_pages
from portal.golive import pages as golive_pages
from portal.health import views as health_views
from portal.intake import views as intake_views
from portal.knowledge import pages as knowledge_pages
from portal.knowledge import views as knowledge_views
from portal.maintenance import pages as maintenance_pages
from portal.maintenance import views as maintenance_views
from portal.masterdata import pages as masterdata_pages
from portal.masterdata import views as masterdata_views
from portal.networks import views as network_views
from portal.notifications import pages as notification_pages
from portal.notifications import views as notification_views
from portal.pages import router as shared_pages_router
from portal.parts import pages as parts_pages
from portal.parts import views as parts_views
from portal.privacy import pages as privacy_pages
from portal.selfservice import answers as selfservice_answers
from portal.selfservice import pages as selfservice_pages
from portal.selfservice import privacy as selfservice_privacy
from portal.settlement import pages as settlement_pages
from portal.settlement import views as settlement_views
from portal.sla import pages as sla_pages
from portal.sla import views as sla_views
from portal.sop import pages as sop_pages
from portal.sop import views as sop_views
from portal.staff import pages as staff_pages
from portal.staff import signin as staff_signin
from portal.staff import views as staff_views
from portal.tickets import pages as ticket_pages
from portal.tickets import views as ticket_views
from portal.website import pages as website_pages
from portal.wechat import views as wechat_views

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(analytics_views.router)
api_router.include_router(account_views.router)
api_router.include_router(ticket_views.router)
api_router.include_router(ticket_views.templates_router)
api_router.include_router(bot_views.router)
api_router.include_router(customer_views.router)
api_router.include_router(customer_views.auth_router)
api_router.include_router(asset_views.router)
api_router.include_router(network_views.router)
api_router.include_router(masterdata_views.router)
api_router.include_router(audit_views.router)
api_router.include_router(conversation_views.router)
api_router.include_router(console_views.router)
api_router.include_router(notification_views.router)
api_router.include_router(sla_views.router)
api_router.include_router(dispatch_views.router)
api_router.include_router(parts_views.router)
api_router.include_router(settlement_views.router)
api_router.include_router(maintenance_views.router)
api_router.include_router(sop_views.router)
api_router.include_router(wechat_views.router)
api_router.include_router(knowledge_views.router)
api_router.include_router(complaint_views.router)
api_router.include_router(intake_views.router)
api_router.include_router(staff_views.router)
api_router.include_router(staff_views.account_router)

page_router = APIRouter(include_in_schema=False)
page_router.include_router(analytics_pages.router)
page_router.include_router(analytics_boards.router)
page_router.include_router(dispatch_pages.router)
page_router.include_router(website_pages.router)
page_router.include_router(account_pages.router)
page_router.include_router(ticket_pages.router)
page_router.include_router(console_pages.router)
page_router.include_router(console_socket.router)
page_router.include_router(consult_pages.router)
page_router.include_router(consult_socket.router)
page_router.include_router(customer_pages.router)
page_router.include_router(asset_pages.router)
page_router.include_router(field_pages.router)
page_router.include_router(cost_pages.router)
page_router.include_router(parts_pages.router)
page_router.include_router(settlement_pages.router)
page_router.include_router(shared_pages_router)
page_router.include_router(selfservice_privacy.router)
page_router.include_router(selfservice_pages.router)
page_router.include_router(selfservice_answers.router)
page_router.include_router(privacy_pages.router)
page_router.include_router(golive_pages.router)
page_router.include_router(knowledge_pages.router)
page_router.include_router(maintenance_pages.router)
page_router.include_router(masterdata_pages.router)
page_router.include_router(audit_pages.router)
page_router.include_router(notification_pages.router)
page_router.include_router(sop_pages.router)
page_router.include_router(complaint_pages.router)
page_router.include_router(staff_signin.router)
page_router.include_router(staff_pages.router)
page_router.include_router(sla_pages.router)

health_router = health_views.router
