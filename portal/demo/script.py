"""What happens to a planned ticket: acceptance, dispatch, the visit, evaluation, settlement,
with the detours real tickets take (rejections, parts, urges, reopens, cancellations)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from portal.accounts.models import User
from portal.demo import catalog, places
from portal.demo.clock import (
    AWAKE_HOURS,
    DESK_HOURS,
    DISPATCH_HOURS,
    FINANCE_HOURS,
    LOCAL,
    PHONE_HOURS,
    SURVEY_HOURS,
    minutes,
    within,
)
from portal.demo.plan import AUTO_DISPATCH, BOT, Plan, Step, Who
from portal.demo.world import Staffer, World

SCORES = ((5, 62), (4, 25), (3, 7), (2, 4), (1, 2))
# Share of each type settled without a visit (an FAQ answer, a phone walk-through).
REMOTE = {"consultation": 0.6, "complaint": 0.25, "repair": 0.01}
CANCEL_SHARE = 0.04
STUCK_SHARE = 0.4  # of the tickets younger than STUCK_DAYS, still somewhere along the way
STUCK_DAYS = 10
# The desk takes a ticket in within minutes (the 10-minute response), so only tickets of
# the last few hours may still wait for it, as a morning's queue does.
UNTAKEN_HOURS = 4
UNTAKEN_SHARE = 0.5  # of the tickets younger than UNTAKEN_HOURS
FIRST_VISIT_PART = 0.3  # repairs that swap a part from the van stock on the first visit


def staff_who(user: User) -> Who:
    """The (role, actor) a staff user acts as."""
    return user.role, f"user:{user.id}"


class Script:
    """Writes the steps of each plan, keeping every engineer's daily load in mind."""

    def __init__(
        self, rng: random.Random, world: World, staff: dict[str, User], *, now: datetime
    ) -> None:
        self.rng = rng
        self.world = world
        self.now = now
        self.agent = staff_who(staff["agent"])
        self.dispatcher = staff_who(staff["dispatcher"])
        self.finance = staff_who(staff["finance"])
        self.load: dict[tuple[int, object], int] = {}  # (engineer id, local day) -> jobs

    def run(self, plan: Plan) -> None:
        """Plan the ticket's whole life, then keep only what has happened by `now`."""
        self._script(plan)
        self._cut(plan)

    # ---- helpers -----------------------------------------------------------------------

    def _push(
        self,
        plan: Plan,
        action: str,
        at: datetime,
        who: Who,
        assign: Staffer | None = None,
        **payload: Any,
    ) -> Step:
        # Events of one ticket are strictly ordered in time.
        when = max(at, plan.last_at + timedelta(seconds=30)).replace(microsecond=0)
        step = Step(action, when, who[0], who[1], payload, assign)
        plan.steps.append(step)
        return step

    def _customer_or(self, plan: Plan, who: Who) -> Who:
        if plan.channel in ("web", "wechat") and self.rng.random() < 0.6:
            return "customer", f"customer:{plan.unit.customer.id}"
        return who

    def _manager(self, staffer: Staffer) -> Who:
        return staff_who(self.world.managers[staffer.network.code])

    def _after(self, plan: Plan, low: float, high: float) -> datetime:
        return plan.last_at + minutes(self.rng, low, high)

    # ---- the flow ----------------------------------------------------------------------

    def _script(self, plan: Plan) -> None:
        rng = self.rng
        if (
            plan.type == "consultation"
            and plan.channel in ("web", "wechat")
            and rng.random() < 0.35
        ):
            # The bot answers an FAQ question on the spot.
            note = rng.choice(catalog.REMOTE_FIXES)
            self._push(plan, "resolve_remotely", self._after(plan, 1, 8), BOT, note=note)
            return
        self._accept(plan)
        if plan.type == "complaint":
            reason = catalog.ESCALATE_REASONS[1]
            self._push(plan, "escalate", self._after(plan, 5, 40), self.agent, reason=reason)
        if rng.random() < REMOTE.get(plan.type, 0.0):
            at = within(rng, self._after(plan, 10, 600), DESK_HOURS)
            note = rng.choice(catalog.REMOTE_FIXES)
            self._push(plan, "resolve_remotely", at, self.agent, note=note)
            return
        cancel_at = None
        if rng.random() < CANCEL_SHARE:
            cancel_at = rng.choice(("accepted", "dispatched", "engineer_accepted", "departed"))
        if cancel_at == "accepted":
            self._cancel(plan)
        elif self._visit(plan, cancel_at=cancel_at):
            self._aftercare(plan, may_reopen=True)

    def _accept(self, plan: Plan) -> None:
        rng = self.rng
        if plan.channel in ("web", "wechat") and plan.type != "complaint" and rng.random() < 0.45:
            self._push(plan, "accept", self._after(plan, 0.3, 3), BOT)
            return
        # The 10-minute response target is met most of the time, but not always.
        at = self._after(plan, 1.5, 9.5) if rng.random() < 0.88 else self._after(plan, 10, 45)
        self._push(plan, "accept", within(rng, at, DESK_HOURS), self.agent)

    def _cancel(self, plan: Plan) -> None:
        who = self._customer_or(plan, self.agent)
        reason = self.rng.choice(catalog.CANCEL_REASONS)
        self._push(plan, "cancel", self._after(plan, 10, 240), who, reason=reason)

    def _dispatch(
        self, plan: Plan, action: str, staffer: Staffer, *, auto: bool, **extra: Any
    ) -> None:
        if auto and staffer.network.auto_dispatch:
            who, at = AUTO_DISPATCH, self._after(plan, 0.5, 3)
        else:
            who = self.dispatcher if self.rng.random() < 0.7 else self._manager(staffer)
            at = within(self.rng, self._after(plan, 3, 30), DISPATCH_HOURS)
        ids = {"engineer_id": staffer.row.id, "network_id": staffer.network.id}
        self._push(plan, action, at, who, staffer, **ids, **extra)

    def _engineer_accept(self, plan: Plan, staffer: Staffer) -> None:
        # Mostly quick, so t2 stays under the 4-hour target; now and then a slow one.
        quick = self.rng.random() < 0.9
        at = self._after(plan, 3, 40) if quick else self._after(plan, 180, 480)
        at = within(self.rng, at, PHONE_HOURS)
        self._push(plan, "engineer_accept", at, staff_who(staffer.user))

    def _visit(
        self,
        plan: Plan,
        *,
        cancel_at: str | None = None,
        same: Staffer | None = None,
        waits: bool = True,
    ) -> bool:
        """Dispatch, go, arrive, fix; False if the ticket stops before completion."""
        rng = self.rng
        staffer = same or self._choose(plan, plan.last_at)
        self._dispatch(plan, "dispatch", staffer, auto=same is None)
        if rng.random() < 0.03:
            at = within(rng, self._after(plan, 10, 60), PHONE_HOURS)
            reason = rng.choice(catalog.REJECT_REASONS)
            self._push(plan, "engineer_reject", at, staff_who(staffer.user), reason=reason)
            staffer = self._choose(plan, plan.last_at, exclude=staffer)
            self._dispatch(plan, "dispatch", staffer, auto=False)
        if cancel_at == "dispatched":
            self._cancel(plan)
            return False
        self._engineer_accept(plan, staffer)
        if rng.random() < 0.02:
            staffer = self._choose(plan, plan.last_at, exclude=staffer)
            reason = rng.choice(catalog.REASSIGN_REASONS)
            self._dispatch(plan, "reassign", staffer, auto=False, reason=reason)
            self._engineer_accept(plan, staffer)
        if rng.random() < 0.06:
            who = self._customer_or(plan, self.agent)
            note = rng.choice(catalog.URGE_NOTES)
            self._push(plan, "urge", self._after(plan, 20, 120), who, note=note)
            if plan.unit.customer.tier == "vip":
                reason = catalog.ESCALATE_REASONS[0]
                self._push(
                    plan, "escalate", self._after(plan, 5, 30), self.dispatcher, reason=reason
                )
        if cancel_at == "engineer_accepted":
            self._cancel(plan)
            return False
        engineer = staff_who(staffer.user)
        # Most jobs are done the same day; some customers book a later slot.
        gap = (10, 75) if rng.random() < 0.85 else (180, 1440)
        hours = (staffer.row.work_start, staffer.row.work_end)
        self._push(plan, "depart", within(rng, self._after(plan, *gap), hours), engineer)
        if cancel_at == "departed":
            self._cancel(plan)
            return False
        km = places.distance_km(staffer.home, plan.unit.site.point)
        travel = min(90.0, max(20.0, 18 + km * 2.2 + rng.gauss(0, 8)))
        self._push(plan, "arrive", self._after(plan, travel, travel + 2), engineer)
        if waits and plan.type == "repair" and rng.random() < 0.08:
            return self._wait_parts(plan, staffer)
        on_site = (45, 150) if plan.type == "installation" else (30, 120)
        first_visit_part = "parts" not in plan.details and rng.random() < FIRST_VISIT_PART
        if plan.type == "repair" and first_visit_part:
            # The engineer carries the common parts: swapped on the first visit, no wait.
            plan.details["parts"] = [rng.choice(catalog.PARTS[plan.unit.category])]
        # A reopened ticket's second visit fits only what an earlier one did not: the part
        # fitted before was consumed then and owes its one defective return already.
        fitted = {
            p for s in plan.steps if s.action == "complete" for p in s.payload.get("parts") or []
        }
        parts = [p for p in plan.details.get("parts", []) if p not in fitted]
        solution = rng.choice(catalog.SOLUTIONS[catalog.SKILL_FOR_TICKET_TYPE[plan.type]])
        if parts:
            solution = f"更换{parts[0]}后试机正常"
        at = self._after(plan, *on_site)
        self._push(plan, "complete", at, engineer, solution=solution, parts=parts)
        if rng.random() < 0.01:
            self._push(
                plan, "escalate", self._after(plan, 5, 60), self.agent, reason="需要技术支持复核"
            )
        return True

    def _wait_parts(self, plan: Plan, staffer: Staffer) -> bool:
        rng = self.rng
        part = rng.choice(catalog.PARTS[plan.unit.category])
        note = f"需更换{part}，已申请备件"
        self._push(
            plan,
            "wait_parts",
            self._after(plan, 20, 45),
            staff_who(staffer.user),
            part=part,
            note=note,
        )
        plan.details["parts"] = [part]
        # Most parts come from the network's store in days; some are back-ordered.
        days = rng.uniform(1, 5) if rng.random() < 0.85 else rng.uniform(8, 20)
        at = within(rng, plan.last_at + timedelta(days=days), DISPATCH_HOURS)
        self._push(plan, "resume", at, self._manager(staffer), part=part)
        return self._visit(plan, same=staffer, waits=False)

    def _aftercare(self, plan: Plan, *, may_reopen: bool) -> None:
        """Survey, evaluation, perhaps a reopen, then settlement within the month."""
        rng = self.rng
        if may_reopen and rng.random() < 0.01:
            self._reopen(plan, self._after(plan, 300, 4000))
            return
        if plan.channel in ("web", "wechat"):
            who, at = BOT, within(rng, self._after(plan, 60, 1440), SURVEY_HOURS)
        else:
            who, at = self.agent, within(rng, self._after(plan, 60, 1440), DESK_HOURS)
        self._push(plan, "request_evaluation", at, who, channel=plan.channel)
        if rng.random() < 0.04:
            return  # the customer never answered the survey
        score = rng.choices([s for s, _ in SCORES], weights=[w for _, w in SCORES])[0]
        comment = rng.choice(catalog.GOOD_REMARKS if score >= 4 else catalog.BAD_REMARKS)
        who = self._customer_or(plan, who)
        at = within(
            rng, self._after(plan, 10, 2880), AWAKE_HOURS if who[0] == "customer" else DESK_HOURS
        )
        self._push(plan, "evaluate", at, who, score=score, comment=comment)
        if may_reopen and score <= 2 and rng.random() < 0.35:
            self._reopen(plan, within(rng, self._after(plan, 30, 600), DESK_HOURS))
            return
        self._settle(plan)

    def _settle(self, plan: Plan) -> None:
        rng = self.rng
        fee = catalog.LABOUR_FEE[catalog.SKILL_FOR_TICKET_TYPE[plan.type]]
        fee += catalog.PART_FEE * len(plan.details.get("parts", []))
        staffer = next((s.assign for s in reversed(plan.steps) if s.assign), None)
        amount = str(fee.quantize(Decimal("0.01")))
        network = staffer.network.code if staffer else ""
        # Finance works office hours on weekdays; the cycle closes within the month.
        for action, low, high in (("request_settlement", 1, 7), ("settle", 3, 18), ("close", 0, 3)):
            at = plan.last_at + timedelta(days=rng.uniform(low, high))
            at = within(rng, at, FINANCE_HOURS, weekdays_only=True)
            if action == "close":
                self._push(plan, action, at, self.finance)
            else:
                self._push(plan, action, at, self.finance, amount=amount, network=network)

    def _reopen(self, plan: Plan, at: datetime) -> None:
        who = self._customer_or(plan, self.agent)
        self._push(plan, "reopen", at, who, reason=self.rng.choice(catalog.REOPEN_REASONS))
        if self._visit(plan, waits=False):
            self._aftercare(plan, may_reopen=False)

    # ---- who goes ----------------------------------------------------------------------

    def _choose(self, plan: Plan, at: datetime, exclude: Staffer | None = None) -> Staffer:
        """The least busy, nearest engineer with the skill, in a network covering the address."""
        site = plan.unit.site
        need = (plan.unit.category, catalog.SKILL_FOR_TICKET_TYPE[plan.type])
        recent = at > self.now - timedelta(days=3)  # today's roster, not last month's
        day = at.astimezone(LOCAL).date()
        candidates = [
            s
            for s in self.world.engineers
            if s is not exclude
            and need in s.skills
            and s.network.covers(site.city, site.district)
            and (s.row.on_duty or not recent)
        ]
        if not candidates:
            raise RuntimeError(f"no engineer for {need} in {site.city}{site.district}")

        def cost(s: Staffer) -> float:
            load = self.load.get((s.row.id, day), 0)
            full = 10.0 if load >= s.row.daily_capacity else 0.0
            km = places.distance_km(s.home, site.point)
            return full + load / s.row.daily_capacity + km / 25 + self.rng.random() * 0.5

        best = min(candidates, key=cost)
        self.load[(best.row.id, day)] = self.load.get((best.row.id, day), 0) + 1
        return best

    # ---- where history stops ------------------------------------------------------------

    def _cut(self, plan: Plan) -> None:
        """Drop what has not happened yet; some young tickets are stuck part way."""
        plan.steps = [s for s in plan.steps if s.at <= self.now]
        recent = plan.created_at >= self.now - timedelta(hours=UNTAKEN_HOURS)
        if recent and self.rng.random() < UNTAKEN_SHARE:
            plan.steps = []  # still waiting for the desk to take it in (受理)
            return
        young = plan.created_at >= self.now - timedelta(days=STUCK_DAYS)
        if not young or self.rng.random() >= STUCK_SHARE:
            return
        done = next((i for i, s in enumerate(plan.steps) if s.action == "complete"), None)
        if done is not None:
            plan.steps = plan.steps[: self.rng.randint(1, done + 1)]
