"""Parts at dispatch: the seam between dispatch and the inventory (备件) domain.

A `PartsPlanner` says what a ticket will probably need (`suggest`) and holds those parts at a
network's stock (`reserve`). The lifecycle's parts subscriber (`parts.flows.on_ticket_event`)
asks it whenever a ticket is assigned (dispatch or reassign, from any path); a shortage makes
the ticket wait for parts (`wait_parts`, payload: the short parts), and the inventory resumes
it (`resume`) when they arrive.

The app's planner is the stock's `StockPlanner`, handed to the subscribers by `portal.wiring`
and kept on `app.state.parts_planner` for dispatch's routes. `NoParts` suggests nothing, so
nothing is held and no ticket waits: the tests' database uses it unless a test asks for parts.
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
