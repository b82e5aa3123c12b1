"""A ticket to create and the lifecycle steps that follow, planned in memory first.

Planning is pure (a seeded generator, the world and `now`), so the same inputs give the
same tickets; `history` then writes the plans through the ticket service and lifecycle."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from portal.demo.world import Staffer, Unit

# (role, actor) pairs for lifecycle.apply; staff ones are made from the users' ids.
Who = tuple[str, str]
BOT: Who = ("bot", "service:bot")
AUTO_DISPATCH: Who = ("system", "system:auto-dispatch")


@dataclass
class Step:
    """One lifecycle action to apply; `assign` is who a dispatch or reassignment goes to."""

    action: str
    at: datetime
    role: str
    actor: str
    payload: dict[str, Any] = field(default_factory=dict)
    assign: Staffer | None = None


@dataclass
class Plan:
    """One ticket to create and the actions that follow."""

    created_at: datetime
    unit: Unit
    type: str
    channel: str
    urgency: str = "normal"
    description: str = ""
    creator: str = BOT[1]
    details: dict[str, Any] = field(default_factory=dict)
    repeat_of: int | None = None  # index of the earlier plan this fault repeats
    new_install: bool = False
    # A bot ticket that names no unit: the engineer registers it on completion (demo.assets).
    unit_by_completion: bool = False
    steps: list[Step] = field(default_factory=list)

    @property
    def last_at(self) -> datetime:
        """When the latest action (or the creation) happened."""
        return self.steps[-1].at if self.steps else self.created_at

    def first(self, action: str) -> Step | None:
        """The first step with this action."""
        return next((s for s in self.steps if s.action == action), None)
