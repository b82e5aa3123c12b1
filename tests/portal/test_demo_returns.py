"""The demo's reopened repairs fit their part once: a tester saw the same defective return
(旧件返还) twice on the returns page, one ticket's one motor owed back twice. The second visit
of a reopened ticket named the first visit's part again, so the demo consumed it again."""

from __future__ import annotations

import random
from collections import Counter

from portal.database import Database
from portal.demo.intake import Planner
from portal.demo.outlets import build_outlet
from portal.demo.seed import SEED
from portal.demo.staff import add_staff
from portal.demo.world import build_world
from tests.demo_fixtures import DEMO_NOW


def test_a_part_is_fitted_once_per_ticket(db: Database) -> None:
    with db.session() as s:
        rng = random.Random(SEED)
        staff = add_staff(s)
        world = build_world(s, rng, now=DEMO_NOW, staff=staff)
        build_outlet(s, world)
        plans = Planner(rng, world, staff, now=DEMO_NOW).plan(2000)
    reopened = [p for p in plans if any(step.action == "reopen" for step in p.steps)]
    refitted = []
    for plan in plans:
        fitted = Counter(
            part
            for step in plan.steps
            if step.action == "complete"
            for part in step.payload.get("parts") or []
        )
        refitted += [part for part, n in fitted.items() if n > 1]
    assert [p for p in reopened if p.details.get("parts")], "no reopened repair with a part"
    assert refitted == []
