"""Visit windows (明天下午, 周六上午, 后天9点) as the bot keeps and shows them.

The words are read by the portal (POST /api/v1/intake/parse, portal/intake/windows.py):
one definition of the parts of the day, the service hours and what can be booked, for
the bot, the desk and dispatch. Here a window is only stored (2026-11-24 13:00-18:00)
and shown (11月24日（周二）13:00-18:00)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from .portal_client import PortalClient, PortalError

logger = logging.getLogger(__name__)

ZONE = ZoneInfo("Asia/Shanghai")
WEEKDAYS = "一二三四五六日"
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class WindowError(ValueError):
    """Why a time cannot be booked: unparsed, past, too_soon, too_far, too_long, off_hours."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Window:
    """A visit window in the customer's zone."""

    start: datetime
    end: datetime

    @property
    def canonical(self) -> str:
        """What is stored on the ticket: 2026-11-24 13:00-18:00."""
        return f"{self.start:%Y-%m-%d %H:%M}-{self.end:%H:%M}"

    @property
    def shown(self) -> str:
        """What the customer reads: 11月24日（周二）13:00-18:00."""
        weekday = WEEKDAYS[self.start.weekday()]
        day = f"{self.start.month}月{self.start.day}日（周{weekday}）"
        return f"{day}{self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def shown_en(self) -> str:
        """What an English-writing customer reads: Tue 24 Nov 13:00-18:00."""
        weekday = WEEKDAYS_EN[self.start.weekday()]
        return f"{weekday} {self.start.day} {self.start:%b} {self.start:%H:%M}-{self.end:%H:%M}"


def parse_window(text: str, *, sender: str, now: datetime | None = None) -> Window:
    """The visit window `text` (a message of conversation `sender`) names, anywhere in it,
    or WindowError saying why there is none: `unparsed` also when it names no time or the
    portal cannot be asked."""
    try:
        found = PortalClient.from_env().parse_intake(
            text, conversation_id=sender, now=now.isoformat() if now else None
        )
    except PortalError as exc:
        logger.warning("could not read a time: %s", exc)
        raise WindowError("unparsed") from exc
    window = found.get("window") or {}
    parsed = parse_canonical(str(window.get("canonical") or ""))
    if parsed is not None:
        return parsed
    raise WindowError(str(found.get("window_error") or "unparsed"))


def parse_canonical(value: str) -> Window | None:
    """Read back Window.canonical (as stored in a slot)."""
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2})-(\d{2}:\d{2})", value or "")
    if not match:
        return None
    day, a, b = match.groups()
    start = datetime.strptime(f"{day} {a}", "%Y-%m-%d %H:%M").replace(tzinfo=ZONE)
    end = datetime.strptime(f"{day} {b}", "%Y-%m-%d %H:%M").replace(tzinfo=ZONE)
    return Window(start, end)


def describe(value: str | None, lang: str = "zh") -> str:
    """A stored canonical window as the customer reads it (the value itself if unreadable)."""
    window = parse_canonical(value or "")
    if window is None:
        return value or ""
    return window.shown_en if lang == "en" else window.shown
