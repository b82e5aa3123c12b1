"""Product quality: failures, failure rate, MTBF, MTTR, fault codes, the warranty trend.

Definitions: `portal.analytics.service`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Float,
    case,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.orm import Session

from portal.analytics import rollups
from portal.analytics.filters import Filters
from portal.analytics.measures import (
    EARLY_DAYS,
    WARRANTY_CLASSES,
    Rate,
    buckets,
    c,
    count_if,
)
from portal.analytics.rules import (
    as_float,
)
from portal.analytics.sql import dialect_of
from portal.assets.models import Asset, Product, ProductModel
from portal.customers.models import CustomerAddress


@dataclass(frozen=True, slots=True)
class QualityRow:
    """Failures of one product, model or region against its installed units."""

    key: str
    label: str
    failures: int
    repeats: int
    units: int
    unit_days: float = 0.0
    ttr_mean: float | None = None
    t5_mean: float | None = None

    @property
    def rate(self) -> Rate:
        """Failures per installed unit."""
        return Rate(self.failures, self.units)

    @property
    def repeat_rate(self) -> Rate:
        """Repeat repairs among the failures."""
        return Rate(self.repeats, self.failures)

    @property
    def mtbf_days(self) -> float | None:
        """Unit-days in service per failure."""
        return self.unit_days / self.failures if self.failures and self.unit_days else None


FAILURE = c.type == "repair"


def _failures(session: Session, f: Filters, col: Any) -> dict[str, dict[str, Any]]:
    stmt = (
        select(
            col.label("g"),
            func.count().label("failures"),
            count_if(c.is_repeat.is_(True)).label("repeats"),
            func.avg(c.resolved_ts - c.created_ts).label("ttr"),
            func.avg(c.t5).label("t5"),
        )
        .where(FAILURE, *f.where())
        .group_by(col)
    )
    return {str(r["g"]): dict(r) for r in session.execute(stmt).mappings()}


def _installed(session: Session, f: Filters, by: str) -> dict[str, tuple[int, float]]:
    """Units installed by the period's end, and their days in service within it, per group."""
    d = dialect_of(session)
    key = {"product": Product.category, "model": ProductModel.code, "city": CustomerAddress.city}[
        by
    ]
    start, end = f.start, f.end + timedelta(days=1)
    if d.pg:
        days = literal(end) - func.greatest(Asset.install_date, literal(start))
    else:
        days = func.julianday(end.isoformat()) - func.julianday(
            func.max(Asset.install_date, start.isoformat())
        )
    stmt = (
        select(key.label("g"), func.count(Asset.id), cast(func.sum(days), Float))
        .select_from(Asset)
        .join(ProductModel, ProductModel.id == Asset.model_id)
        .join(Product, Product.id == ProductModel.product_id)
        .where(Asset.install_date.is_not(None), Asset.install_date < end)
        .group_by(key)
    )
    if by == "city" or f.city:  # the units' addresses only when a city is asked for
        stmt = stmt.join(CustomerAddress, CustomerAddress.id == Asset.address_id, isouter=True)
    if f.product:
        stmt = stmt.where(Product.category == f.product)
    if f.model_code:
        stmt = stmt.where(ProductModel.code == f.model_code)
    if f.city:
        stmt = stmt.where(CustomerAddress.city == f.city)
    out: dict[str, tuple[int, float]] = {}
    for g, n, unit_days in session.execute(stmt):
        out[str(g)] = (int(n), float(unit_days or 0))
    return out


def quality(session: Session, f: Filters, *, by: str) -> list[QualityRow]:
    """Failures, failure rate, repeats, MTBF and MTTR per product, model or city."""
    col = {"product": c.product, "model": c.model_code, "city": c.city}[by]
    found = rollups.totals(session, f, by=by, now=datetime.now(UTC))
    if found is None:
        fails = _failures(session, f, col)
    else:
        fails = {
            str(key): {
                "failures": t["failures"],
                "repeats": t["repeats"],
                "ttr": t["fail_ttr_sum"] / t["fail_ttr_n"] if t["fail_ttr_n"] else None,
                "t5": t["fail_t5_sum"] / t["fail_t5_n"] if t["fail_t5_n"] else None,
            }
            for key, t in found.items()
            if t["failures"]
        }
    base = _installed(session, f, by)
    names = _model_names(session) if by == "model" else {}
    out = []
    for key in set(fails) | set(base):
        row = fails.get(key, {})
        units, unit_days = base.get(key, (0, 0.0))
        if not row and not units:
            continue
        label = f"{key} {names[key]}" if key in names else key
        out.append(
            QualityRow(
                key=key,
                label=label or "—",
                failures=int(row.get("failures") or 0),
                repeats=int(row.get("repeats") or 0),
                units=units,
                unit_days=unit_days,
                ttr_mean=as_float(row.get("ttr")),
                t5_mean=as_float(row.get("t5")),
            )
        )
    return sorted(out, key=lambda r: (-r.failures, r.key))


def _model_names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(ProductModel.code, ProductModel.name)).all())


@dataclass(frozen=True, slots=True)
class FaultCode:
    """A fault code and how often it was reported, and on which product most."""

    code: str
    count: int
    product: str


def fault_codes(session: Session, f: Filters, *, limit: int = 15) -> list[FaultCode]:
    """The most reported fault codes (E21, F3 …) in the fault descriptions."""
    stmt = (
        select(c.fault_code, c.product, func.count().label("n"))
        .where(c.fault_code != "", *f.where())
        .group_by(c.fault_code, c.product)
    )
    totals: dict[str, int] = defaultdict(int)
    top: dict[str, tuple[int, str]] = {}
    for code, product, n in session.execute(stmt):
        totals[code] += int(n)
        if code not in top or int(n) > top[code][0]:
            top[code] = (int(n), product)
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [FaultCode(code, n, top[code][1]) for code, n in ranked]


def warranty_class(early_days: int) -> Any:
    """early / in / out / unknown, from the unit's age and warranty end at the report."""
    return case(
        (c.age_days.is_(None) & c.warranty_days_left.is_(None), "unknown"),
        (c.age_days <= early_days, "early"),
        (c.warranty_days_left >= 0, "in"),
        (c.warranty_days_left < 0, "out"),
        else_="unknown",
    )


def warranty_trend(session: Session, f: Filters, *, early_days: int = EARLY_DAYS) -> dict[str, Any]:
    """Failures per bucket of the period by warranty class; keys: the classes + "buckets"."""
    cls = warranty_class(early_days)
    col = f.bucket_column
    stmt = (
        select(col.label("b"), cls.label("k"), func.count())
        .where(FAILURE, *f.where())
        .group_by(col, cls)
    )
    keys = buckets(f)
    index = {b: i for i, b in enumerate(keys)}
    out: dict[str, list[int]] = {k: [0] * len(keys) for k in WARRANTY_CLASSES}
    for b, k, n in session.execute(stmt):
        if b in index:
            out[k][index[b]] += int(n)
    return {"buckets": keys, **out}
