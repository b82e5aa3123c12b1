"""Details a customer volunteers in passing: `空调不制冷，地址上海市浦东新区张杨路500号，
电话13800138000，明天下午来` names the address, the phone and the visit time besides the
fault. The intake forms take each of them whenever it comes, asked for or not."""

from __future__ import annotations

import re

from .fault_text import normalize_phone
from .parsing import looks_like_address
from .time_windows import WindowError, parse_window

# Clauses: punctuation, and the spaces people type instead (洗衣机漏水 电话137… 地址…).
_CLAUSES = re.compile(r"[，,。；;！!？?\s]+")
_LABEL = re.compile(
    r"^(?:我的|我家|上门)?(?:地址|住址|电话|手机号?|联系方式|号码|时间)(?:是|为|在)?[:：]?\s*"
)
_LIVES = re.compile(r"^(?:我家在|我住在|住在|家在|人在|在)\s*")
_PHONE = re.compile(r"(?:\+?86[-\s]?)?1[3-9]\d(?:[-\s]?\d){8}")
# A clause that names a time has one of these; 500号 alone is a house number, not a date.
_TIME_WORDS = re.compile(
    r"今天|明天|后天|大后天|今晚|明晚|明早|周[一二三四五六日天]|星期|礼拜|下周|这周|本周|月\d+[号日]"
    r"|\d+月|上午|下午|中午|晚上|早上|傍晚|\d+点|[一二三四五六七八九十]+点|tomorrow|today|morning|afternoon|evening",
    re.IGNORECASE,
)
_COME_CLAUSE = re.compile(r"(?:过来|来修|来人|上门|来一趟|来吧|来)(?=$|[，,。；;！!])")


def _clauses(text: str) -> list[str]:
    return [c.strip() for c in _CLAUSES.split(text or "") if c.strip()]


# Volunteered in passing, an address names an area and a number (张杨路500号, 3栋1201):
# 卧室空调室内机 has 室 twice and is no address.
_AREA = re.compile(r"省|市|区|县|镇|乡|村|路|街|道|巷|弄|胡同|小区|花园|公寓|大厦|苑")
_NUMBER = re.compile(r"\d|[一二三四五六七八九十百]+[号栋幢楼]")


def address_in(text: str) -> str | None:
    """The address clause of `text` (labels like 地址/我家在 removed), or None."""
    for clause in _clauses(text):
        cleaned = _LIVES.sub("", _LABEL.sub("", clause)).strip()
        if _PHONE.search(cleaned) or _TIME_WORDS.search(cleaned):
            continue
        if looks_like_address(cleaned) and _AREA.search(cleaned) and _NUMBER.search(cleaned):
            return cleaned[:255]
    return None


def window_in(text: str, *, sender: str) -> str | None:
    """The canonical visit window `text` names somewhere (…明天下午来), or None: the
    portal reads it, and only when time words are there at all."""
    if not _TIME_WORDS.search(text or ""):
        return None
    try:
        return parse_window(_COME_CLAUSE.sub("", text), sender=sender).canonical
    except WindowError:
        return None


def phone_in(text: str) -> str | None:
    """The mobile number in `text`, digits only, or None."""
    match = _PHONE.search(text or "")
    return normalize_phone(match.group(0)) if match else None


# When a fault began, as customers say it: 昨天开始, 从前天起, 三天了, 一周前, 刚刚.
_STARTED = re.compile(
    r"((?:今天|昨天|前天|大前天|上周|上个月|刚才|刚刚|早上|晚上|昨晚|前几天|这几天|最近|"
    r"[一二三四五六七八九十两几\d]+(?:天|周|个星期|个月|年)(?:前|了|多了)?)"
    r"(?:开始|起|以来|就)?)"
)


def started_in(text: str) -> str | None:
    """When the fault began, if `text` says so (昨天开始不制冷 -> 昨天开始)."""
    match = _STARTED.search(text or "")
    return match.group(1)[:32] if match else None


def volunteered(text: str, *, sender: str) -> dict[str, str]:
    """Address, phone and visit window found in `text` (only those present)."""
    found: dict[str, str] = {}
    for slot, value in (
        ("address", address_in(text)),
        ("phone", phone_in(text)),
        ("preferred_time", window_in(text, sender=sender)),
    ):
        if value:
            found[slot] = value
    return found


# 昨天开始 says when the fault began, not when to come: that clause stays in the fault.
_STARTED_ONLY = re.compile(
    r"(?:昨天|前天|今天|刚才|刚刚|早上|昨晚|[一二三四五六七八九十两几\d]+(?:天|周|个月))(?:开始|起|以来|就|了)"
)


def without_details(text: str) -> str:
    """`text` without the clauses that gave an address, a phone or a time: the fault itself."""
    kept = []
    for clause in _clauses(text):
        bare = _LIVES.sub("", _LABEL.sub("", clause))
        if _PHONE.search(clause) or address_in(bare):
            continue
        if _TIME_WORDS.search(clause) and not _STARTED_ONLY.search(clause):
            continue
        kept.append(clause)
    return "，".join(kept) or text
