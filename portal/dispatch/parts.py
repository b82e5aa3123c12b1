"""Parts at dispatch: the seam between dispatch and the inventory (备件) domain.

Dispatch asks a `PartsPlanner` what a ticket will probably need (`suggest`) and, once an
engineer is assigned, tries to hold those parts at the engineer's network (`reserve`).
When the reservation reports a shortage, dispatch moves the ticket to `waiting_parts`
through the lifecycle (action `wait_parts`, payload: the short parts); the inventory domain
later resumes it (`resume`) when the parts arrive.

Until the inventory domain exists, `NoParts` is used: it suggests nothing, so nothing is
reserved and no ticket waits. The inventory engineer implements the protocol (a class with
these two methods, keyword-only, flushing but never committing) and installs it with
`app.state.parts_planner = TheirPlanner(...)`; `views.parts_planner` picks it up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session

from portal.tickets.models import Ticket


@dataclass(frozen=True, slots=True)
class PartLine:
    """A part and how many."""

    part_code: str
    quantity: int = 1
    name: str = ""


@dataclass(frozen=True, slots=True)
class Reservation:
    """What a reservation held, and what it could not."""

    reserved: tuple[PartLine, ...] = ()
    shortages: tuple[PartLine, ...] = field(default=())

    @property
    def short(self) -> bool:
        """Whether some part could not be held."""
        return bool(self.shortages)


class PartsPlanner(Protocol):
    """Suggests and reserves the parts a ticket needs; implemented by the inventory domain."""

    def suggest(self, session: Session, *, ticket: Ticket) -> list[PartLine]:
        """The parts the ticket will probably need (from its product, model and fault)."""
        ...

    def reserve(
        self, session: Session, *, ticket: Ticket, network_id: int, lines: list[PartLine]
    ) -> Reservation:
        """Hold these parts for the ticket at the network's stock; report what is short."""
        ...


class NoParts:
    """The default planner: suggests nothing, so dispatch never waits for parts."""

    def suggest(self, session: Session, *, ticket: Ticket) -> list[PartLine]:
        """Nothing."""
        return []

    def reserve(
        self, session: Session, *, ticket: Ticket, network_id: int, lines: list[PartLine]
    ) -> Reservation:
        """Holds nothing, lacks nothing."""
        return Reservation()
