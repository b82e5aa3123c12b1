"""The batch plan over real tickets and engineers is the best one (brute force on a tiny day)."""

from __future__ import annotations

import itertools

import pytest

from portal.database import Database
from portal.dispatch import flows, service
from portal.dispatch.scoring import score, screen
from tests.dispatch import helpers as h


def test_day_plan_matches_brute_force_on_a_tiny_day(db: Database) -> None:
    with db.session() as s:
        pudong = h.network(s, coverage=("浦东新区",))
        xuhui = h.network(s, coverage=("徐汇区", "浦东新区"))
        h.engineer(s, pudong, at=h.NEAR, daily_capacity=1)
        h.engineer(
            s,
            pudong,
            at=h.FAR,
            daily_capacity=2,
            skills={("洗衣机", "repair"): 2, ("空调", "installation"): 1},
        )
        h.engineer(s, xuhui, at=h.MID, daily_capacity=1, skills={("空调", "installation"): 3})
        spots = (h.HOME, h.NEAR, h.MID, h.FAR)
        for k, spot in enumerate(spots):
            h.ticket(
                s,
                h.customer(s, at=spot, tier="vip" if k == 3 else "normal"),
                urgency=("normal", "high", "urgent", "low")[k],
                **({"product": "空调", "type": "installation"} if k == 2 else {}),
            )
        h.ticket(s, h.customer(s, district="徐汇区"), product="空调", type="installation")
    with db.session() as s:
        result = flows.plan_day(
            s, day=h.DAY, principal=h.DISPATCHER, settings=h.SETTINGS, now=h.NOW
        )
        # The same problem, rebuilt from the database, solved by trying every assignment.
        waiting = service.queue(s)
        jobs = [service.job_for(s, ticket=t, now=h.NOW, settings=h.SETTINGS) for t in waiting]
        workers = service.workers_for(
            s,
            cities=["上海"],
            day=h.DAY,
            now=h.NOW,
            settings=h.SETTINGS,
            categories=["洗衣机", "空调"],
        )
    best, best_choice = 0.0, None
    for choice in itertools.product([None, *range(len(workers))], repeat=len(jobs)):
        used = [0] * len(workers)
        total, ok = 0.0, True
        for job, j in zip(jobs, choice, strict=True):
            if j is None:
                continue
            w = workers[j]
            if screen(job, w, h.SETTINGS) is not None or w.load + used[j] >= w.capacity:
                ok = False
                break
            total += h.SETTINGS.serve_value + score(job, w, h.SETTINGS, extra_load=used[j])
            used[j] += 1
        if ok and total > best + 1e-9:
            best, best_choice = total, choice
    assert result.plan.objective == pytest.approx(best, rel=1e-9)
    assert best_choice is not None
    served = sum(1 for c in best_choice if c is not None)
    assert len(result.plan.picks) == served == 4  # four slots for five tickets
    assert len(result.plan.unassigned) == 1
    # The plan's routes cover exactly the planned visits.
    routed = sorted(leg.stop.id for r in result.routes for leg in r.legs)
    assert routed == sorted(p.job_id for p in result.plan.picks)
