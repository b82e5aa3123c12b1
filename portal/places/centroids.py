"""Where a district is, without the internet: the centroids shipped in `centroids.tsv`.

Dispatch measures distance from an engineer to a visit. Reported GPS positions and typed-in
coordinates are best; a company that imports its engineers with a home address and whose
customers give a street address has neither. The centre of the district (or, for a district
the table does not know, of the city) is then close enough to rank engineers across a city:
浦东新区 to 徐汇区 is 11 km centre to centre. Callers say which it was (`level`), so a
dispatcher sees that a distance is from a district centre.

The table (3,300 provinces, cities and districts, keyed by jionlp's official names) is built
by `portal.places.build_centroids` from MIT-licensed data (see `centroids.NOTICE`); it is
read once from the package, never fetched.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from portal.places.service import Place, normalise

TABLE = Path(__file__).with_name("centroids.tsv")


@dataclass(frozen=True, slots=True)
class Centroid:
    """The centre of a district or city, and which of the two it is."""

    lat: float
    lng: float
    level: str  # district | city


@cache
def _table() -> dict[tuple[str, str, str], tuple[float, float]]:
    with TABLE.open(encoding="utf-8") as f:
        return {
            (row["province"], row["city"], row["district"]): (float(row["lat"]), float(row["lng"]))
            for row in csv.DictReader(f, delimiter="\t")
        }


@cache
def _index() -> dict[tuple[str, str], set[tuple[str, str, str]]]:
    """(city, district) and (province, district) → the keys they occur in, for places whose
    province is missing or whose city jionlp could not name (仙桃, a county-level city
    directly under its province)."""
    out: dict[tuple[str, str], set[tuple[str, str, str]]] = {}
    for key in _table():
        province, city, district = key
        if city:
            out.setdefault((city, district), set()).add(key)
        if district:
            out.setdefault((province, district), set()).add(key)
    return out


def _lookup(province: str, city: str, district: str) -> tuple[float, float] | None:
    table = _table()
    spot = table.get((province, city, district))
    if spot is None:
        found = _index().get((city, district), set())
        if not found and district and province:
            found = _index().get((province, district), set())
        spot = table[next(iter(found))] if len(found) == 1 else None
    return spot


def centroid(place: Place) -> Centroid | None:
    """The centre of the place's district, else of its city; None when neither is known."""
    if not place.city:
        return None
    if place.district:
        spot = _lookup(place.province, place.city, place.district)
        if spot is not None:
            return Centroid(spot[0], spot[1], "district")
    spot = _lookup(place.province, place.city, "")
    return Centroid(spot[0], spot[1], "city") if spot is not None else None


def centroid_of(*, city: str = "", district: str = "", address: str = "") -> Centroid | None:
    """`centroid` of a place given as fields and/or a free-text address (read by
    `normalise`: 上海 / 浦东, or 浦东新区张江 with the city from the fields)."""
    return centroid(normalise(city=city, district=district, address=address))
