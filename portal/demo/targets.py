"""KPI targets of the demo, so the boards show green, amber and red from the first run."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.analytics import targets
from portal.networks.models import ServiceNetwork

# kpi: (target, amber band), in the KPI's unit (targets.KPIS)
GLOBAL: dict[str, tuple[str, str]] = {
    "response": ("90", "5"),
    "arrival": ("85", "5"),
    "completion": ("80", "5"),
    "ftf": ("85", "5"),
    "csat": ("90", "5"),
    "complaint_rate": ("2", "1"),
    # The demo registers few units for its tickets (about 2.4 repairs per unit in 90 days),
    # a figure the targets form accepts (a fault rate may pass 100 %).
    "fault_rate": ("240", "5"),
    "repeat_rate": ("5", "3"),
    "parts_fill": ("90", "5"),
    "parts_wait_h": ("48", "24"),
    "quote_turnaround_h": ("24", "24"),
}
# The first network is held to a stricter response target than the rest.
STRICTER = {"response": ("95", "3"), "completion": ("85", "5")}


def seed_targets(session: Session) -> int:
    """Write the demo targets; returns how many."""
    n = 0
    for kpi, (value, band) in GLOBAL.items():
        targets.put(
            session, kpi=kpi, network_id=None, target=Decimal(value), amber=Decimal(band),
            actor="demo",
        )  # fmt: skip
        n += 1
    first = session.scalars(select(ServiceNetwork.id).order_by(ServiceNetwork.id)).first()
    if first is not None:
        for kpi, (value, band) in STRICTER.items():
            targets.put(
                session, kpi=kpi, network_id=first, target=Decimal(value), amber=Decimal(band),
                actor="demo",
            )  # fmt: skip
            n += 1
    return n
