"""Load the demo data once; a second run changes nothing."""

from __future__ import annotations

import random
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.database import utcnow
from portal.demo import assets as demo_assets
from portal.demo import complaints, history, outlets
from portal.demo.chats import seed_chats
from portal.demo.intake import TICKETS, Planner
from portal.demo.staff import DEMO_STAFF, add_staff
from portal.demo.targets import seed_targets
from portal.demo.world import build_world

__all__ = ["DEMO_STAFF", "SEED", "SIZES", "seed"]

from portal.consults.demo import seed_consults  # noqa: E402
from portal.costs.demo import seed as seed_costs  # noqa: E402
from portal.demo.parts import seed_parts  # noqa: E402
from portal.sop.demo import seed_sops  # noqa: E402

SEED = 20261123  # fixed, so every run plans the same data
SIZES = ("full", "minimal")


def seed(
    session: Session,
    *,
    size: str = "full",
    tickets: int = TICKETS,
    now: datetime | None = None,
    progress: bool = True,
) -> bool:
    """Load the demo data ("minimal": staff logins only); False, writing nothing, if present."""
    # The same `now` gives the same data; it defaults to the wall clock so the history
    # always ends today. `tickets` is smaller only in tests.
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, not {size!r}")
    if session.scalars(select(User.id).where(User.username == "admin")).first() is not None:
        return False
    staff = add_staff(session)
    if size == "minimal":
        return True
    now = now or utcnow()
    rng = random.Random(SEED)
    world = build_world(session, rng, now=now, staff=staff)
    outlets.build_outlet(session, world)  # a 伞下店 under 上海浦东, in the world
    seed_sops(session)  # standard jobs need the product catalogue the world just made
    plans = Planner(rng, world, staff, now=now).plan(tickets)
    demo_assets.mark(plans)
    demo_assets.seed_terms(session)
    numbers = history.write(session, plans, progress=progress)
    seed_chats(session, now=now, agent=staff["agent"])
    seed_parts(session, now=now, progress=progress)
    complaints.settle(session, agent_id=staff["agent"].id, now=now)
    registered = [n for p, n in zip(plans, numbers, strict=True) if p.unit_by_completion]
    demo_assets.seed(session, now=now, registered=registered)
    seed_costs(session, quality_user=staff["quality"], now=now)  # fault causes, appraisals
    seed_targets(session)
    outlets.seed_attendance(session, now=now)  # a month of check-ins, and today's
    seed_consults(session, expert=staff["expert"], now=now)  # the experts' desk
    return True
