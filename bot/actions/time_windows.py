"""Chinese dates and times (明天下午, 周六上午, 后天9点) turned into concrete visit windows.

jionlp's rule-based time parser (offline, pinned in requirements.txt) reads the words; the
rules here turn what it found into a window an engineer can be booked for:
- a part of the day becomes that part of the service day (08:00–20:00): 上午 08–12,
  下午 13–18, 晚上 18–20; a whole day becomes 09:00–18:00;
- a point in time (9点, 三点半) becomes a two-hour window starting then; 1–7 点 without
  早/上午/凌晨 is read as the afternoon, the way customers mean it;
- windows in the past, starting within the hour, beyond 30 days, longer than a day or
  outside service hours are refused with a reason the bot can explain.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Optional, Union
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Asia/Shanghai")
DAY_START, DAY_END = 8, 20  # service hours
WHOLE_DAY = (9, 18)
MAX_AHEAD = timedelta(days=30)
LEAD_TIME = timedelta(hours=1)
POINT_WINDOW = timedelta(hours=2)
WEEKDAYS = "一二三四五六日"

# Words jionlp does not know, or reads differently from what customers mean.
_REWRITES = (
    ("明早", "明天上午"),
    ("明晚", "明天晚上"),
    ("今早", "今天上午"),
    ("今晚", "今天晚上"),
    ("早上", "上午"),
    ("早晨", "上午"),
    ("一早", "上午"),
    ("礼拜天", "周日"),
    ("礼拜日", "周日"),
    ("礼拜", "周"),
    ("星期天", "周日"),
    ("周天", "周日"),
)
# English, as visitors write it: turned into the Chinese words the parser reads.
_ENGLISH = (
    ("day after tomorrow", "后天"), ("tomorrow", "明天"), ("tonight", "今天晚上"),
    ("today", "今天"), ("this morning", "今天上午"), ("this afternoon", "今天下午"),
    ("this evening", "今天晚上"), ("next week", "下周"), ("morning", "上午"),
    ("afternoon", "下午"), ("evening", "晚上"), ("monday", "周一"), ("tuesday", "周二"),
    ("wednesday", "周三"), ("thursday", "周四"), ("friday", "周五"), ("saturday", "周六"),
    ("sunday", "周日"), ("next ", "下"), ("in the ", ""), ("on ", ""), ("at ", ""),
)
_MORNING_WORDS = re.compile(r"上午|早|凌晨")
_NOISE = re.compile(r"的时候|都可以|可以|都行|有空|在家|方便|来吧|[\s,，。.!！?？~～吧吗呢啊呀哈的]")


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
        return f"{self.start.month}月{self.start.day}日（周{weekday}）{self.start:%H:%M}-{self.end:%H:%M}"


def now_local() -> datetime:
    """The current time where customers and engineers are."""
    return datetime.now(ZONE)


def parse_window(text: str, now: Optional[datetime] = None) -> Window:
    """The visit window `text` names, or WindowError saying why there is none."""
    now = (now or now_local()).astimezone(ZONE)
    cleaned = _clean(text)
    if not cleaned:
        raise WindowError("unparsed")
    start, end, definition = _jionlp(cleaned, now)
    start, end = _shape(start, end, definition, cleaned)
    return _check(Window(start.replace(tzinfo=ZONE), end.replace(tzinfo=ZONE)), now)


def parse_canonical(value: str) -> Optional[Window]:
    """Read back Window.canonical (as stored in a slot)."""
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2})-(\d{2}:\d{2})", value or "")
    if not match:
        return None
    day, a, b = match.groups()
    start = datetime.strptime(f"{day} {a}", "%Y-%m-%d %H:%M").replace(tzinfo=ZONE)
    end = datetime.strptime(f"{day} {b}", "%Y-%m-%d %H:%M").replace(tzinfo=ZONE)
    return Window(start, end)


def _clean(text: str) -> str:
    out = text.strip()
    if re.search(r"[A-Za-z]{3,}", out):
        out = out.lower()
        for old, new in _ENGLISH:
            out = out.replace(old, new)
        out = re.sub(r"(\d{1,2})\s*(?:am|o'clock)", r"上午\1点", out)
        out = re.sub(r"(\d{1,2})\s*pm", r"下午\1点", out)
    for old, new in _REWRITES:
        out = out.replace(old, new)
    return _NOISE.sub("", out)


def _jionlp(text: str, now: datetime) -> tuple[datetime, datetime, str]:
    import jionlp  # imported on first use: it loads dictionaries for a second or so

    naive_now = now.replace(tzinfo=None)
    # jionlp reads a timestamp through the machine's local time; mktime undoes exactly that,
    # so the customer's wall-clock time goes in whatever zone this server runs in.
    base = time.mktime(naive_now.timetuple())
    try:
        result: Any = jionlp.parse_time(text, time_base=base)
    except Exception as exc:  # jionlp raises ValueError and others for text it cannot read
        raise WindowError("unparsed") from exc
    if not isinstance(result, dict) or result.get("type") not in ("time_point", "time_span"):
        raise WindowError("unparsed")
    try:
        start, end = (datetime.strptime(v, "%Y-%m-%d %H:%M:%S") for v in result["time"])
    except (KeyError, TypeError, ValueError) as exc:
        raise WindowError("unparsed") from exc
    return start, end, str(result.get("definition") or "")


def _shape(start: datetime, end: datetime, definition: str, text: str) -> tuple[datetime, datetime]:
    end = end + timedelta(seconds=1) if end.second == 59 else end
    # 两点到四点 in the afternoon comes back as 14:00–04:00.
    if end <= start and end.date() == start.date() and end.hour + 12 < 24:
        end = end + timedelta(hours=12)
    if end - start > timedelta(days=1):
        raise WindowError("too_long")
    if start.time() == datetime.min.time() and end - start == timedelta(days=1):
        day = start.replace(hour=0, minute=0)
        return day.replace(hour=WHOLE_DAY[0]), day.replace(hour=WHOLE_DAY[1])
    if definition == "accurate" and end - start <= timedelta(hours=1):
        if 1 <= start.hour < DAY_START and not _MORNING_WORDS.search(text):
            start = start + timedelta(hours=12)
        return start, start + POINT_WINDOW
    day = start.replace(hour=0, minute=0, second=0)
    return max(start, day.replace(hour=DAY_START)), min(end, day.replace(hour=DAY_END))


def _check(window: Window, now: datetime) -> Window:
    start, end = window.start, window.end
    if end <= start:
        raise WindowError("off_hours")
    if end <= now:
        raise WindowError("past")
    if start > now + MAX_AHEAD:
        raise WindowError("too_far")
    earliest = now + LEAD_TIME
    if start < earliest:
        # Later today: book what is left of the window, if an hour of it remains.
        start = (earliest + timedelta(minutes=59)).replace(minute=0, second=0, microsecond=0)
        if end - start < timedelta(hours=1):
            raise WindowError("too_soon")
    day_end = start.replace(hour=DAY_END, minute=0, second=0, microsecond=0)
    if start.hour < DAY_START or day_end - start < timedelta(hours=1):
        raise WindowError("off_hours")
    end = min(end, day_end)
    return Window(start, end)


def describe(value: Union[str, None]) -> str:
    """A stored canonical window as the customer reads it (the value itself if unreadable)."""
    window = parse_canonical(value or "")
    return window.shown if window else (value or "")
