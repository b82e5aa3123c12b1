"""Addresses as dispatch compares them: official province, city and district names.

jionlp's `parse_location` reads 上海, 浦东, 广州天河 or 北京朝阳区建国路88号 into the
official names (上海市 / 上海市 / 浦东新区), so that a network in "上海" covering "浦东新区"
serves a ticket in "上海市", "浦东" or "沪". Names jionlp does not know compare as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from portal.places.jio import china_locations, parse_location

# The official one-character abbreviations of provincial divisions (沪, 京, 粤 …). jionlp
# knows only the full names and the short ones (上海); a field that holds just one of these
# means that province.
ABBREVIATIONS: dict[str, str] = {
    "京": "北京",
    "津": "天津",
    "沪": "上海",
    "渝": "重庆",
    "冀": "河北",
    "晋": "山西",
    "蒙": "内蒙古",
    "辽": "辽宁",
    "吉": "吉林",
    "黑": "黑龙江",
    "苏": "江苏",
    "浙": "浙江",
    "皖": "安徽",
    "闽": "福建",
    "赣": "江西",
    "鲁": "山东",
    "豫": "河南",
    "鄂": "湖北",
    "湘": "湖南",
    "粤": "广东",
    "桂": "广西",
    "琼": "海南",
    "川": "四川",
    "蜀": "四川",
    "贵": "贵州",
    "黔": "贵州",
    "云": "云南",
    "滇": "云南",
    "藏": "西藏",
    "陕": "陕西",
    "秦": "陕西",
    "甘": "甘肃",
    "陇": "甘肃",
    "青": "青海",
    "宁": "宁夏",
    "新": "新疆",
    "港": "香港",
    "澳": "澳门",
    "台": "台湾",
}

# Clauses of a message: an address never spans a comma or a full stop.
_CLAUSES = re.compile(r"[，,。;；！!？?、\n\r\t|]+")
_SPACE = re.compile(r"\s+")
# What a detail after a district looks like (a road, an estate, a house number); anything
# else after the district (浦东的冰箱坏了) is the rest of the sentence, not an address.
_DETAIL_UNIT = re.compile(
    r"(?:大道|街道|小区|花园|公寓|大厦|广场|新村|家园|社区|[路街巷弄村镇乡苑园院座号栋幢楼层室])"
    r"[0-9A-Za-z\-]*"
)
# A detail on its own, with no city or district: a numbered road, a building or flat number,
# or a named estate. Looser cues are words too often (知道, 家里) or dates (3号).
_NUMBER = "[0-9一二三四五六七八九十百]+"
_STRONG_DETAIL = re.compile(
    rf"[\u4e00-\u9fff]{{1,10}}(?:路|街|大道|巷|弄)\s*{_NUMBER}"
    rf"|{_NUMBER}\s*(?:栋|幢|单元|室|号楼)"
    r"|[\u4e00-\u9fff]{2,10}(?:小区|花园|公寓|大厦|新村|家园|广场)"
)
# Words that introduce an address (地址是…, 我家在…): not part of it.
_CUE = re.compile(
    r"^(?:.*?(?:地址|住址|位置)(?:是|为|在)?|.*?(?:住在|家在|位于|我在|人在)|在)[:：\s]*"
)
MAX_CLAUSES = 20  # a message longer than this is no address reply; bounds the work
MAX_CLAUSE = 120


@dataclass(frozen=True, slots=True)
class Place:
    """A place in official names; "" where unknown."""

    province: str = ""
    city: str = ""
    district: str = ""
    detail: str = ""

    @property
    def full(self) -> str:
        """The whole address, the province not repeated for 上海市 and the like."""
        province = "" if self.province == self.city else self.province
        return f"{province}{self.city}{self.district}{self.detail}"

    @property
    def known(self) -> bool:
        """Whether anything at all is known."""
        return bool(self.province or self.city or self.district or self.detail)


def _parse(text: str) -> tuple[str, str, str, str]:
    """jionlp's reading: province, city, county, detail ("" where none)."""
    result = parse_location(text)
    return (
        str(result.get("province") or ""),
        str(result.get("city") or ""),
        str(result.get("county") or ""),
        str(result.get("detail") or ""),
    )


def _expand(value: str) -> str:
    value = _SPACE.sub("", value)
    return ABBREVIATIONS.get(value, value)


@lru_cache(maxsize=8192)
def normalise(
    *, province: str = "", city: str = "", district: str = "", address: str = ""
) -> Place:
    """The official names of a place given as fields and/or a free-text address.

    The fields win over the address where both say something (the desk typed them on
    purpose); the address fills the blanks. A name jionlp does not know is kept as written.
    """
    province, city, district = _expand(province), _expand(city), _SPACE.sub("", district)
    p, c, d = "", "", ""
    if province or city or district:
        p, c, d, _ = _parse(f"{province}{city}{district}")
    if city and not c:
        c = city  # not a city jionlp knows: compare it as written
    if district and not d:
        d = district
    if province and not p:
        p = province
    found = find_address(address) if address else None
    if found is None or (c and found.city and found.city != c):
        return Place(p, c, d)  # no address, or one in another city than the fields say
    return Place(p or found.province, c or found.city, d or found.district, found.detail)


def city_key(city: str) -> str:
    """The official name of a city field's value (上海, 上海市, 沪 → 上海市)."""
    return normalise(city=city).city


def district_key(district: str, *, city: str) -> str:
    """The official name of a district of `city` (浦东, 浦东新区 → 浦东新区)."""
    return normalise(city=city, district=district).district


def same_city(a: str, b: str) -> bool:
    """Whether two city fields name the same city."""
    return bool(a) and bool(b) and city_key(a) == city_key(b)


def covers(*, city: str, coverage: Iterable[str], place: Place) -> bool:
    """Whether a network in `city` serving the districts `coverage` (all, when empty)
    serves `place`."""
    if not place.city or city_key(city) != place.city:
        return False
    districts = [str(d) for d in coverage]
    if not districts:
        return True
    return bool(place.district) and place.district in {
        district_key(d, city=city) for d in districts
    }


@lru_cache(maxsize=1024)
def city_spellings(city: str) -> frozenset[str]:
    """How a city may be written in a row (上海市, 上海, 沪): for SQL filters on raw text."""
    key = city_key(city)
    out = {city, key}
    for province, cities in china_locations().items():
        entry = cities.get(key) if isinstance(cities, dict) else None
        if isinstance(entry, dict):
            out |= _names(entry)
            if province == key:  # a municipality: its abbreviation (沪) names it too
                alias = str(cities.get("_alias") or "")
                out |= {a for a, full in ABBREVIATIONS.items() if full == alias}
    return frozenset(s for s in out if s)


def _names(entry: dict[str, object]) -> set[str]:
    alias = entry.get("_alias") or []
    aliases = [alias] if isinstance(alias, str) else list(alias)  # type: ignore[call-overload]
    return {str(entry.get("_full_name") or ""), *(str(a) for a in aliases)}


def find_address(text: str) -> Place | None:
    """The address a message holds, or None when it holds none.

    An address is a province, city or district jionlp can place, or a detail that can only be
    one (a numbered road, a building or flat number, a named estate). A district name alone
    that jionlp cannot place in a city (朝阳区, 和平) counts only with such a detail.
    """
    clauses = [_SPACE.sub("", c)[:MAX_CLAUSE] for c in _CLAUSES.split(text or "")]
    clauses = [c for c in clauses if c][:MAX_CLAUSES]
    detail_only: Place | None = None
    for i, clause in enumerate(clauses):
        p, c, d, rest = _parse(clause)
        detail = _detail(rest)
        # A city, or a province named alone (安徽), places it; a district jionlp cannot put
        # in a city (朝阳区, and 东方 for 东方市) is a place only with a street detail.
        if c or (p and not d) or (d and detail):
            if not detail and i + 1 < len(clauses):
                # 上海浦东，张杨路500号: the detail may follow in the next clause.
                following = clauses[i + 1]
                np_, nc, nd, nrest = _parse(following)
                if not (np_ or nc or nd) and _STRONG_DETAIL.search(following):
                    detail = _detail(_CUE.sub("", nrest))
            return Place(p, c, d, detail)
        if detail_only is None and not d and _STRONG_DETAIL.search(clause):
            stripped = _CUE.sub("", clause)
            detail_only = Place(detail=_detail(stripped or clause))
    if detail_only is not None and detail_only.detail:
        return detail_only
    return None


def _detail(rest: str) -> str:
    """The address part of what follows the district: up to its last road, building or flat
    unit (张杨路500号的空调坏了 → 张杨路500号); "" when it holds none."""
    rest = rest.lstrip("的在，, ")
    units = list(_DETAIL_UNIT.finditer(rest))
    return rest[: units[-1].end()] if units else ""


@lru_cache(maxsize=1024)
def districts_of(city: str) -> frozenset[str] | None:
    """The official district names of a city jionlp knows (上海 → 浦东新区, 徐汇区 …); None
    for a city it does not know, whose districts cannot be checked."""
    key = city_key(city)
    for province, cities in china_locations().items():
        if province.startswith("_") or not isinstance(cities, dict):
            continue
        entry = cities.get(key)
        if isinstance(entry, dict):
            return frozenset(
                str(v.get("_full_name") or k)
                for k, v in entry.items()
                if not k.startswith("_") and isinstance(v, dict)
            )
    return None
