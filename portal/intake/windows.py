"""Visit windows: the one definition of service hours and parts of the day, and the reader
that turns a customer's words (明天下午, 周六上午, 后天9点, "tomorrow afternoon") into a
window an engineer can be booked for, in Asia/Shanghai.

jionlp's rule-based time reader finds and reads the words, also inside a longer message; the
rules here shape what it found:
- a part of the day becomes that part as `DAY_PARTS` says (dispatch reads the same table);
  a whole day becomes 09:00–18:00;
- a point in time (9点, 三点半) becomes a two-hour window starting then; 1–7 点 without
  早/上午/凌晨 is read as the afternoon, the way customers mean it;
- windows in the past, starting within the hour, beyond 30 days, longer than a day or
  outside service hours are refused with a reason the bot can explain.
"""

from __future__ import annotations

import re
import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from portal.i18n import Lang, t
from portal.places.jio import extract_time, time_candidates

ZONE = ZoneInfo("Asia/Shanghai")

WindowErrorReason = Literal["past", "too_soon", "too_far", "too_long", "off_hours", "unparsed"]


@dataclass(frozen=True, slots=True)
class DayPart:
    """A part of the day as customers name it, and the hours it means for a visit."""

    key: str  # i18n: visit.part.<key>
    word: str
    start: time
    end: time


# The one table of parts of the day: the intake reader and dispatch both use it.
DAY_PARTS: tuple[DayPart, ...] = (
    DayPart("morning", "上午", time(8, 0), time(12, 0)),
    DayPart("noon", "中午", time(11, 0), time(14, 0)),
    DayPart("afternoon", "下午", time(13, 0), time(18, 0)),
    DayPart("dusk", "傍晚", time(17, 0), time(20, 0)),
    DayPart("evening", "晚上", time(18, 0), time(20, 0)),
)
SERVICE_HOURS = (time(8, 0), time(20, 0))
WHOLE_DAY = (time(9, 0), time(18, 0))
MAX_AHEAD = timedelta(days=30)
LEAD_TIME = timedelta(hours=1)
POINT_WINDOW = timedelta(hours=2)

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
_DAYS_EN = {
    "mon": "一",
    "tues": "二",
    "wednes": "三",
    "thurs": "四",
    "fri": "五",
    "satur": "六",
    "sun": "日",
}


def _clock_words(m: re.Match[str]) -> str:
    hour, minute, half = int(m["h"]), m["m"], (m["ap"] or "").lower()
    if hour > 23:
        return m[0]
    prefix = "下午" if half == "p" and hour < 12 else "上午" if half == "a" else ""
    return f"{prefix}{hour}点" + (f"{int(minute)}分" if minute and int(minute) else "")


_PARTS_EN = {"morning": "上午", "afternoon": "下午", "evening": "晚上"}
# Simple English, put into the Chinese words jionlp reads ("tomorrow afternoon" → 明天下午).
_ENGLISH: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), repl)
    for pattern, repl in (
        (r"\bday after tomorrow\b", "后天"),
        (r"\btomorrow\b", "明天"),
        (r"\btonight\b", "今天晚上"),
        (r"\bthis (morning|afternoon|evening)\b", lambda m: "今天" + _PARTS_EN[m[1].lower()]),
        (r"\btoday\b", "今天"),
        (r"\bnext week\b", "下周"),
        (
            r"\bnext (mon|tues|wednes|thurs|fri|satur|sun)day\b",
            lambda m: "下周" + _DAYS_EN[m[1].lower()],
        ),
        (
            r"\b(?:on |this )?(mon|tues|wednes|thurs|fri|satur|sun)day\b",
            lambda m: "周" + _DAYS_EN[m[1].lower()],
        ),
        (r"\b(?:this )?weekend\b", "周末"),
        (r"\b(?:at )?(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ap>[ap])\.?m\b\.?", _clock_words),
        (r"\bat (?P<h>\d{1,2})(?::(?P<m>\d{2}))?(?P<ap>)\b", _clock_words),
        (r"\b(?:in the )?morning\b", "上午"),
        (r"\b(?:noon|midday|lunchtime)\b", "中午"),
        (r"\b(?:in the )?afternoon\b", "下午"),
        (r"\b(?:in the )?(?:evening|night)\b", "晚上"),
    )
)
_CJK = r"[\u4e00-\u9fff0-9]"
# "明天 下午" after the English is put into Chinese: one expression again.
_JOIN = re.compile(rf"(?<={_CJK})[\s,]+(?={_CJK})")
_MORNING_WORDS = re.compile(r"上午|早|凌晨")
_BEFORE = re.compile(r"(?:之|以)?前$")  # 十点前, 三点之前, 中午以前: until then, that day
_BARE_WEEKDAY = re.compile(r"(?:周|星期)[一二三四五六日]")  # not 上周五, 这周六, 下周三
# Time words jionlp could not read make "unparsed"; without any, the message names no time.
_TIME_WORDS = re.compile(
    r"今天|明天|后天|大后天|周[一二三四五六日末]|星期|上午|中午|下午|傍晚|晚上|凌晨|夜里|"
    r"下周|这周|本周|下星期|月底|月初|下个月|随时|几点|什么时候|哪天|"
    r"[0-9一二三四五六七八九十两]+\s*(?:点|时)(?:半|[0-9一二三四五六七八九十]+分?)?|"
    r"[0-9]{1,2}\s*[:：]\s*[0-9]{2}|[0-9一二三四五六七八九十]+\s*月\s*[0-9一二三四五六七八九十]+\s*[日号]"
)
# Candidates and how much of each jionlp reads: its search is quadratic in a candidate's
# length and runs once per expression it finds, so "明天下午" said 500 times in a row would
# take minutes. A real time expression is shorter (2026年12月10日下午两点到四点: 18).
MAX_CANDIDATES = 6
MAX_CANDIDATE = 24
# A number glued to a code (SR20200101-9999) or an address (张杨路5号, 3号楼) is no date.
_CODE_CHARS = re.compile(r"[0-9A-Za-z\-_/]")
_ADDRESS_BEFORE = set("路街巷弄村道区号栋幢楼层室")
_ADDRESS_AFTER = set("楼栋幢室单元层")
_DIGITS_ONLY = re.compile(r"[0-9\s]+")


class WindowError(ValueError):
    """Why a time cannot be booked: past, too_soon, too_far, too_long, off_hours, unparsed."""

    def __init__(self, reason: WindowErrorReason) -> None:
        super().__init__(reason)
        self.reason: WindowErrorReason = reason


@dataclass(frozen=True, slots=True)
class VisitWindow:
    """A visit window, in Asia/Shanghai."""

    start: datetime
    end: datetime

    @property
    def canonical(self) -> str:
        """How a ticket stores it (details.preferred_time): 2026-11-24 13:00-18:00."""
        return f"{self.start:%Y-%m-%d %H:%M}-{self.end:%H:%M}"

    def label(self, lang: Lang = "zh") -> str:
        """As the customer reads it: 12月7日（周一）下午 13:00–18:00."""
        part = part_of(self)
        return t(
            "visit.window",
            lang,
            month=t(f"visit.month.{self.start.month}", lang),
            day=self.start.day,
            weekday=t(f"handoff.weekday.{self.start.isoweekday()}", lang),
            part=f"{t(f'visit.part.{part}', lang)} " if part else "",
            start=f"{self.start:%H:%M}",
            end=f"{self.end:%H:%M}",
        )


def part_of(window: VisitWindow) -> str | None:
    """The key of the part of the day the window is (or lies in, the smallest such)."""
    span = (window.start.time(), window.end.time())
    if span == WHOLE_DAY:
        return "all_day"
    inside = [p for p in DAY_PARTS if p.start <= span[0] and span[1] <= p.end]
    exact = [p for p in inside if (p.start, p.end) == span]
    if exact:
        return exact[0].key
    inside.sort(key=lambda p: _minutes(p.end) - _minutes(p.start))
    return inside[0].key if inside else None


def _minutes(at: time) -> int:
    return at.hour * 60 + at.minute


def now_local() -> datetime:
    """The current time where customers and engineers are."""
    return datetime.now(ZONE)


def read_canonical(value: str) -> VisitWindow | None:
    """A window stored as VisitWindow.canonical, read back; None for anything else."""
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2})-(\d{2}:\d{2})", (value or "").strip())
    if not match:
        return None
    day, a, b = match.groups()
    try:
        start = datetime.strptime(f"{day} {a}", "%Y-%m-%d %H:%M").replace(tzinfo=ZONE)
        end = datetime.strptime(f"{day} {b}", "%Y-%m-%d %H:%M").replace(tzinfo=ZONE)
    except ValueError:
        return None
    return VisitWindow(start, end) if start < end else None


def find_window(
    text: str, now: datetime | None = None
) -> tuple[VisitWindow | None, WindowErrorReason | None]:
    """The visit window a message names, or why it names none that can be booked.

    (window, None); (None, reason) when time words were there but give no bookable window;
    (None, None) when the message names no time. Of several times, the first bookable wins;
    when none is, a reason other than "past" (a past time is most likely when the fault
    started, not the visit).
    """
    now = (now or now_local()).astimezone(ZONE)
    words = _rewrite(text or "")
    reasons: list[WindowErrorReason] = []
    for start, end, definition, said in _expressions(words, now):
        week = timedelta(days=7) if _BARE_WEEKDAY.match(said) else None
        try:
            return _check(_shape(start, end, definition, said), now), None
        except WindowError as exc:
            reason = exc.reason
        if reason == "past" and week is not None:
            # jionlp reads 周六 as this week's; said on a Sunday it means the coming one.
            try:
                return _check(_shape(start + week, end + week, definition, said), now), None
            except WindowError as exc:
                reason = exc.reason
        reasons.append(reason)
    if reasons:
        return None, next((r for r in reasons if r != "past"), reasons[0])
    if _TIME_WORDS.search(words):
        return None, "unparsed"
    return None, None


def _rewrite(text: str) -> str:
    out = text
    english = False
    for pattern, repl in _ENGLISH:
        out, n = pattern.subn(repl, out)
        english = english or n > 0
    if english:
        out = _JOIN.sub("", out)
    for old, new in _REWRITES:
        out = out.replace(old, new)
    return out


def _expressions(text: str, now: datetime) -> list[tuple[datetime, datetime, str, str]]:
    """Each time expression jionlp finds: start, end, its definition (accurate/blur), words."""
    # jionlp reads a timestamp through the machine's local time; mktime undoes exactly that,
    # so the customer's wall-clock time goes in whatever zone this server runs in.
    base = clock.mktime(now.replace(tzinfo=None).timetuple())
    out = []
    for candidate in time_candidates(text)[:MAX_CANDIDATES]:
        offset = candidate["offset"][0]
        part = candidate["time_candidate"][:MAX_CANDIDATE]
        try:
            found = extract_time(part, time_base=base)
        except Exception:  # jionlp raises ValueError and others for text it cannot read
            continue
        for entity in found:
            a, b = (offset + entity["offset"][0], offset + entity["offset"][1])
            if _not_a_time(text, a, b):
                continue
            detail = entity.get("detail") or {}
            if detail.get("type") not in ("time_point", "time_span"):
                continue
            try:
                start, end = (datetime.strptime(v, "%Y-%m-%d %H:%M:%S") for v in detail["time"])
            except (KeyError, TypeError, ValueError):
                continue
            out.append((start, end, str(detail.get("definition") or ""), text[a:b]))
    return out


def _not_a_time(text: str, a: int, b: int) -> bool:
    said = text[a:b]
    before = text[a - 1] if a > 0 else ""
    after = text[b] if b < len(text) else ""
    if _DIGITS_ONLY.fullmatch(said):
        return True  # 2000, 20200101: a number, not a year or a day
    if (before and _CODE_CHARS.fullmatch(before)) or (after and _CODE_CHARS.fullmatch(after)):
        return True
    return said[:1].isdigit() and (before in _ADDRESS_BEFORE or after in _ADDRESS_AFTER)


def _shape(start: datetime, end: datetime, definition: str, said: str) -> VisitWindow:
    if _BEFORE.search(said) and start.date() != end.date():
        # jionlp reads 周三十点前 as from now until the end of Wednesday's 10 o'clock hour; a
        # customer means Wednesday, from the start of service until the time named.
        day = end.replace(hour=0, minute=0, second=0, microsecond=0)
        part = next((p for p in DAY_PARTS if p.word in said), None)
        if definition == "accurate" or part is None:
            until = end.replace(minute=0, second=0) if end.minute == 59 else end
        else:
            until = datetime.combine(day, part.start)
        opens = datetime.combine(day, SERVICE_HOURS[0])
        return VisitWindow(opens.replace(tzinfo=ZONE), until.replace(tzinfo=ZONE))
    if end.second == 59:
        # jionlp ends a span on its last second: 17:59:59 for an hour, 16:00:59 for a minute.
        end = end + timedelta(seconds=1) if end.minute == 59 else end.replace(second=0)
    # 两点到四点 in the afternoon comes back as 14:00–04:00.
    if end < start and end.date() == start.date() and end.hour + 12 < 24:
        end = end + timedelta(hours=12)
    if end - start > timedelta(days=1):
        raise WindowError("too_long")
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    part = next((p for p in DAY_PARTS if p.word in said), None) if definition == "blur" else None
    if part is not None:
        start, end = datetime.combine(day, part.start), datetime.combine(day, part.end)
    elif start == day and end - start == timedelta(days=1):
        start, end = datetime.combine(day, WHOLE_DAY[0]), datetime.combine(day, WHOLE_DAY[1])
    elif definition == "accurate" and end - start <= timedelta(hours=1):
        if 1 <= start.hour < SERVICE_HOURS[0].hour and not _MORNING_WORDS.search(said):
            start = start + timedelta(hours=12)
        end = start + POINT_WINDOW
    else:
        start = max(start, datetime.combine(day, SERVICE_HOURS[0]))
        end = min(end, datetime.combine(day, SERVICE_HOURS[1]))
    return VisitWindow(start.replace(tzinfo=ZONE), end.replace(tzinfo=ZONE))


def _check(window: VisitWindow, now: datetime) -> VisitWindow:
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
    opens, closes = SERVICE_HOURS
    day_end = datetime.combine(start.date(), closes, tzinfo=ZONE)
    if start.time() < opens or day_end - start < timedelta(hours=1):
        raise WindowError("off_hours")
    return VisitWindow(start, min(end, day_end))


def bookable(window: VisitWindow, now: datetime | None = None) -> VisitWindow:
    """The window as it can be booked now (what is left of it today), or `WindowError`."""
    return _check(window, (now or now_local()).astimezone(ZONE))
