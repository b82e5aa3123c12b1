"""KPI targets: which KPIs have one, how a figure is judged against it, and their reads and
writes (admins set them on /analytics/targets).

A figure that meets its target is green; one that misses it by at most the amber band (in
the KPI's own unit: percentage points, complaints per 100 tickets, hours) is amber; one
that misses it by more is red. A network's own target wins over the global one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.analytics.boards_models import KpiTarget
from portal.database import utcnow
from portal.errors import Invalid
from portal.i18n import Lang, t
from portal.networks.models import ServiceNetwork


@dataclass(frozen=True, slots=True)
class Kpi:
    """A KPI that may have a target: which way is better, its unit and its bounds."""

    key: str
    higher_is_better: bool
    unit: str  # "pct" (a share in percent), "per100" (per 100 completed tickets), "h"
    high: Decimal  # the largest target that makes sense


KPIS: dict[str, Kpi] = {
    k.key: k
    for k in (
        Kpi("response", True, "pct", Decimal(100)),
        Kpi("arrival", True, "pct", Decimal(100)),
        Kpi("completion", True, "pct", Decimal(100)),
        Kpi("ftf", True, "pct", Decimal(100)),
        Kpi("csat", True, "pct", Decimal(100)),
        Kpi("complaint_rate", False, "per100", Decimal(100)),
        # Failures per installed unit in the period: a unit repaired twice counts twice, so
        # the rate may pass 100 % (the demo, with few registered units, runs near 240 %).
        Kpi("fault_rate", False, "pct", Decimal(1000)),
        Kpi("repeat_rate", False, "pct", Decimal(100)),
        Kpi("parts_fill", True, "pct", Decimal(100)),
        Kpi("parts_wait_h", False, "h", Decimal(10_000)),
        Kpi("quote_turnaround_h", False, "h", Decimal(10_000)),
    )
}
TONES = ("green", "amber", "red")


def option_label(kpi: str, lang: Lang) -> str:
    """A KPI as the targets form offers it: its name with its unit, the unit said once (a
    rate per 100 tickets already says so in its name)."""
    name = t(f"analytics.target.kpi.{kpi}", lang)
    unit = KPIS[kpi].unit
    if unit == "per100":
        return name
    return t(
        "analytics.target.option", lang, kpi=name, unit=t(f"analytics.target.unit.{unit}", lang)
    )


@dataclass(frozen=True, slots=True)
class Target:
    """The target in force for a KPI (and a network), where it comes from."""

    kpi: str
    target: float
    amber: float
    network_id: int | None  # None: the global target

    def tone(self, value: float | None) -> str:
        """green / amber / red for a figure; "" when there is no figure."""
        if value is None:
            return ""
        gap = self.target - value if KPIS[self.kpi].higher_is_better else value - self.target
        if gap <= 1e-9:
            return "green"
        return "amber" if gap <= self.amber + 1e-9 else "red"


class Targets:
    """Every target, looked up per KPI and network (the network's own, else the global)."""

    def __init__(self, rows: Iterable[Target]) -> None:
        self.rows = {(r.kpi, r.network_id): r for r in rows}

    def get(self, kpi: str, network_id: int | None = None) -> Target | None:
        """The target in force, or None when the KPI has none."""
        if network_id is not None and (kpi, network_id) in self.rows:
            return self.rows[(kpi, network_id)]
        return self.rows.get((kpi, None))

    def tone(self, kpi: str, value: float | None, network_id: int | None = None) -> str:
        """green / amber / red against the target in force; "" without a target or figure."""
        target = self.get(kpi, network_id)
        return target.tone(value) if target else ""


def load(session: Session) -> Targets:
    """All targets."""
    rows = session.scalars(select(KpiTarget)).all()
    return Targets(
        Target(r.kpi, float(r.target), float(r.amber), r.network_id) for r in rows if r.kpi in KPIS
    )


def rows(session: Session) -> list[KpiTarget]:
    """The stored targets, global ones first, then per network, KPIs in catalogue order."""
    order = {k: i for i, k in enumerate(KPIS)}
    found = session.scalars(select(KpiTarget)).all()
    return sorted(
        found,
        key=lambda r: (r.network_id is not None, r.network_id or 0, order.get(r.kpi, 99)),
    )


def _number(raw: str, *, field: str, high: Decimal) -> Decimal:
    text = (raw or "").strip().replace("％", "").replace("%", "").replace(",", "")
    if not text:
        raise Invalid("error.target.required", field=field)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise Invalid("error.target.not_number", field=field, value=raw[:20]) from None
    if not value.is_finite() or value < 0 or value > high:
        raise Invalid("error.target.range", field=field, high=f"{high:g}")
    return value.quantize(Decimal("0.01"))


def parse(form: Mapping[str, str]) -> tuple[str, int | None, Decimal, Decimal]:
    """(kpi, network id or None, target, amber band) from the form, or a clear error."""
    kpi = (form.get("kpi") or "").strip()
    if kpi not in KPIS:
        raise Invalid("error.target.kpi", field="target_kpi")
    raw_net = (form.get("network") or "").strip()
    if raw_net and not (raw_net.isdigit() and len(raw_net) < 10):
        raise Invalid("error.target.network", field="target_network")
    spec = KPIS[kpi]
    target = _number(form.get("target", ""), field="target_value", high=spec.high)
    amber = _number(form.get("amber", ""), field="target_amber", high=spec.high)
    if spec.unit == "h" and target == 0:
        raise Invalid("error.target.range", field="target_value", high=f"{spec.high:g}")
    return kpi, int(raw_net) if raw_net else None, target, amber


def put(
    session: Session,
    *,
    kpi: str,
    network_id: int | None,
    target: Decimal,
    amber: Decimal,
    actor: str,
) -> KpiTarget:
    """Set a KPI's target (globally or for one network), replacing the one there was."""
    if kpi not in KPIS:
        raise Invalid("error.target.kpi", field="target_kpi")
    if network_id is not None and session.get(ServiceNetwork, network_id) is None:
        raise Invalid("error.target.network", field="target_network")
    row = session.scalars(
        select(KpiTarget).where(
            KpiTarget.kpi == kpi,
            KpiTarget.network_id.is_(None)
            if network_id is None
            else KpiTarget.network_id == network_id,
        )
    ).first()
    if row is None:
        row = KpiTarget(kpi=kpi, network_id=network_id, target=target, amber=amber)
        session.add(row)
    row.target, row.amber, row.updated_by, row.updated_at = target, amber, actor, utcnow()
    session.flush()
    return row


def remove(session: Session, *, target_id: int) -> None:
    """Drop one target (a network then follows the global one again)."""
    row = session.get(KpiTarget, target_id)
    if row is not None:
        session.delete(row)
        session.flush()
