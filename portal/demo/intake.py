"""Which tickets come in: when, from whom, about which unit, by which channel."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any

from portal.accounts.models import User
from portal.demo import catalog
from portal.demo.clock import LOCAL, minutes
from portal.demo.plan import BOT, Plan
from portal.demo.script import Script, staff_who
from portal.demo.world import Unit, World, add_months

TICKETS = 2000
HISTORY_DAYS = 90
QUEUE_NOW = 4  # tickets that came in during the last hours, for the desk's queue
NEW_INSTALL_SHARE = 0.045  # tickets that install a unit bought in the window
# The other tickets by type; "installation" here is moving or refitting a unit.
TYPE_WEIGHTS = {
    "repair": 60,
    "installation": 9,
    "maintenance": 15,
    "consultation": 9,
    "complaint": 7,
}
CHANNEL_WEIGHTS = {"wechat": 35, "phone": 30, "web": 25, "portal": 10}
INSTALL_CHANNEL_WEIGHTS = {"portal": 60, "phone": 20, "wechat": 20}  # dealers book most
# Tickets per hour of the day (China time): busy mornings and afternoons, quiet nights.
HOUR_WEIGHTS = (1, 0, 0, 0, 0, 0, 1, 3, 8, 12, 12, 10, 7, 8, 10, 10, 9, 8, 6, 6, 5, 4, 2, 1)
REPEAT_SHARE = 0.07  # repairs that are the same fault again on a unit fixed within 30 days
# A fresh fault goes to a unit with no repair in this many days, so that the repeat-repair
# share (and with it the first-time-fix rate) comes from REPEAT_SHARE, not from chance.
FRESH_FAULT_GAP = timedelta(days=35)
PICK_TRIES = 60


class Planner:
    """Plans `count` tickets over the last HISTORY_DAYS days before `now`."""

    def __init__(
        self, rng: random.Random, world: World, staff: dict[str, User], *, now: datetime
    ) -> None:
        self.rng = rng
        self.world = world
        self.now = now
        self.agent = staff_who(staff["agent"])[1]
        self.script = Script(rng, world, staff, now=now)
        self.last_repair: dict[int, datetime] = {}  # id(unit) -> when its latest repair came in

    def plan(self, count: int = TICKETS) -> list[Plan]:
        """The tickets, oldest first, each with its history up to `now`."""
        rng = self.rng
        start = self.now - timedelta(days=HISTORY_DAYS)
        fresh = [
            u
            for u in self.world.units
            if u.row.install_date and u.row.install_date > (start + timedelta(days=5)).date()
        ]
        installs = rng.sample(fresh, min(len(fresh), round(count * NEW_INSTALL_SHARE)))
        arrivals: list[tuple[datetime, Unit | None]] = []
        for unit in installs:
            assert unit.row.install_date is not None
            day = unit.row.install_date - timedelta(days=rng.randint(1, 4))
            arrivals.append((self._moment(day), unit))
        queue = min(QUEUE_NOW, count - len(arrivals))
        arrivals += [(self.now - minutes(rng, 5, 180), None) for _ in range(queue)]
        arrivals += [(self._random_moment(), None) for _ in range(count - len(arrivals))]
        arrivals.sort(key=lambda a: a[0])
        plans: list[Plan] = []
        for at, bought in arrivals:
            at = min(at, self.now - timedelta(minutes=1))
            plan = self._install(at, bought) if bought else self._ticket(at, plans)
            self.script.run(plan)
            if plan.new_install:
                _installed(plan)
            plans.append(plan)
        return plans

    def _moment(self, day: date) -> datetime:
        hour = self.rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
        local = datetime.combine(day, time(hour), tzinfo=LOCAL)
        return (local + minutes(self.rng, 0, 59.9)).astimezone(self.now.tzinfo)

    def _random_moment(self) -> datetime:
        while True:
            day = (self.now - timedelta(days=self.rng.uniform(0, HISTORY_DAYS))).astimezone(LOCAL)
            at = self._moment(day.date())
            if self.now - timedelta(days=HISTORY_DAYS) < at < self.now:
                return at

    def _channel(self, unit: Unit, weights: dict[str, int] = CHANNEL_WEIGHTS) -> str:
        channel = self.rng.choices(list(weights), weights=list(weights.values()))[0]
        # Only customers who bound WeChat can report there; the others call or use the web.
        if channel == "wechat" and unit.customer.phone not in self.world.openid_holders:
            return self.rng.choice(("phone", "web"))
        return channel

    def _creator(self, channel: str) -> str:
        return BOT[1] if channel in ("web", "wechat") else self.agent

    def _install(self, at: datetime, unit: Unit) -> Plan:
        channel = self._channel(unit, INSTALL_CHANNEL_WEIGHTS)
        return Plan(
            created_at=at,
            unit=unit,
            type="installation",
            channel=channel,
            description=self.rng.choice(catalog.INSTALL_REQUESTS),
            creator=self._creator(channel),
            details={"install": "new", "in_warranty": True},
            new_install=True,
        )

    def _pick_unit(self, at: datetime, *, repair: bool) -> Unit:
        # Only units installed a week before the ticket can break down or need service.
        latest = (at - timedelta(days=7)).date()
        tries = 0
        while True:
            unit = self.rng.choice(self.world.units)
            if not (unit.row.install_date and unit.row.install_date <= latest):
                continue
            tries += 1
            last = self.last_repair.get(id(unit))
            if repair and last is not None and at - last < FRESH_FAULT_GAP and tries < PICK_TRIES:
                continue
            return unit

    def _ticket(self, at: datetime, earlier: list[Plan]) -> Plan:
        rng = self.rng
        kind = rng.choices(list(TYPE_WEIGHTS), weights=list(TYPE_WEIGHTS.values()))[0]
        repeat = self._repeat_of(at, earlier) if kind == "repair" else None
        if repeat is not None:
            unit = earlier[repeat].unit
        else:
            unit = self._pick_unit(at, repair=kind == "repair")
        if kind == "repair":
            self.last_repair[id(unit)] = at
        channel = self._channel(unit)
        if repeat is not None:
            description = earlier[repeat].description
        else:
            description = self._describe(kind, unit)
        urgency = "normal"
        if "燃气味" in description:
            urgency = "urgent"
        elif kind == "complaint" or (unit.customer.tier == "vip" and rng.random() < 0.5):
            urgency = "high"
        elif kind == "maintenance" and rng.random() < 0.3:
            urgency = "low"
        end = unit.row.warranty_end
        details: dict[str, Any] = {"in_warranty": end is not None and at.date() <= end}
        if kind == "installation":
            details["install"] = "relocate"
        return Plan(
            created_at=at,
            unit=unit,
            type=kind,
            channel=channel,
            urgency=urgency,
            description=description,
            creator=self._creator(channel),
            details=details,
            repeat_of=repeat,
        )

    def _describe(self, kind: str, unit: Unit) -> str:
        rng = self.rng
        if kind == "repair":
            return unit.category + rng.choice(catalog.REPAIR_FAULTS[unit.category])
        if kind == "installation":
            return rng.choice(catalog.RELOCATE_REQUESTS)
        if kind == "maintenance":
            return catalog.MAINTENANCE_REQUESTS[unit.category]
        if kind == "consultation":
            return rng.choice(catalog.CONSULTATIONS)
        return rng.choice(catalog.COMPLAINTS)

    def _repeat_of(self, at: datetime, earlier: list[Plan]) -> int | None:
        """Now and then the same fault comes back on a unit repaired in the last 30 days."""
        if self.rng.random() >= REPEAT_SHARE:
            return None
        for index in range(len(earlier) - 1, -1, -1):
            plan = earlier[index]
            if plan.created_at < at - timedelta(days=30):
                return None
            done = plan.first("complete")
            if plan.type == "repair" and plan.repeat_of is None and done and done.at < at:
                return index
        return None


def _installed(plan: Plan) -> None:
    """A new unit counts as installed, and its warranty runs, from the day the job was done."""
    done = plan.first("complete")
    if done is None:
        return
    asset = plan.unit.row
    asset.install_date = done.at.astimezone(LOCAL).date()
    asset.warranty_end = add_months(asset.install_date, plan.unit.warranty_months)
