"""The Jinja2 environment shared by every page."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates

from portal.config import ROOT
from portal.i18n import CHANNEL_LABELS, STATUS_LABELS, TICKET_TYPE_LABELS, label, t

DISPLAY_ZONE = ZoneInfo("Asia/Shanghai")

templates = Jinja2Templates(directory=str(ROOT / "portal" / "templates"))


def _local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(DISPLAY_ZONE).strftime(fmt) if value else ""


templates.env.filters["local"] = _local
templates.env.globals.update(
    t=t,
    status_label=lambda code: label(STATUS_LABELS, code),
    type_label=lambda code: label(TICKET_TYPE_LABELS, code),
    channel_label=lambda code: label(CHANNEL_LABELS, code),
    STATUS_LABELS=STATUS_LABELS,
)
