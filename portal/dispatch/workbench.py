"""What the dispatch workbench shows: the queue with its SLA clocks, a ticket's ranked
candidates with every reason (skill and level, coverage, distance, load, first-time fixes,
parts at hand), and the networks' automatic-dispatch switches.

Reads only; the pages (`portal/dispatch/pages.py`) act through `flows`. The SLA timers and the
parts stock are other domains' tables, read here in bulk so a queue of a hundred tickets is a
handful of queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from portal.dispatch import service
from portal.dispatch.parts import PartLine, PartsPlanner
from portal.dispatch.scoring import DispatchSettings, Job, Ranked, Worker
from portal.errors import NotFound
from portal.networks.models import Engineer, ServiceNetwork
from portal.networks.service import OUTLET
from portal.parts.models import Part, PartReservation, StockBalance, StockLocation
from portal.sla.models import SlaTimer
from portal.tickets import flows as ticket_flows
from portal.tickets.models import Ticket

# The deadlines a dispatcher races: the first answer, and the engineer at the door.
CLOCK_KINDS = ("response", "arrival")
OPEN_RESERVATIONS = ("held", "issued")


# --- the queue ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Clock:
    """One SLA deadline of a ticket as the queue shows it."""

    kind: str  # response | arrival
    state: str  # pending | breached | met | paused
    due_at: datetime | None
    left_s: float | None  # seconds to the deadline (negative: overdue); None when met

    @property
    def breached(self) -> bool:
        """Whether the deadline has passed without being met (red)."""
        return self.state == "breached" or (
            self.state == "pending" and self.left_s is not None and self.left_s < 0
        )


@dataclass(slots=True)
class QueueRow:
    """A ticket waiting for an engineer, with its clocks."""

    ticket: Ticket
    clocks: list[Clock]
    network_name: str = ""

    @property
    def breached(self) -> bool:
        """Whether any of its deadlines has passed."""
        return any(c.breached for c in self.clocks)

    @property
    def left_s(self) -> float:
        """The time to its nearest open deadline (for sorting; huge when none is open)."""
        open_ = [c.left_s for c in self.clocks if c.left_s is not None and c.state != "met"]
        return min(open_) if open_ else float("inf")


def clocks(
    session: Session, *, ticket_ids: Collection[int], now: datetime
) -> dict[int, list[Clock]]:
    """The response and arrival deadlines of these tickets, by ticket (the latest timer of
    each kind: a reopened ticket's old ones were cancelled)."""
    if not ticket_ids:
        return {}
    rows = session.scalars(
        select(SlaTimer)
        .where(
            SlaTimer.ticket_id.in_(list(ticket_ids)),
            SlaTimer.kind.in_(CLOCK_KINDS),
            SlaTimer.state != "cancelled",
        )
        .order_by(SlaTimer.id)
    )
    latest: dict[tuple[int, str], SlaTimer] = {}
    for row in rows:
        latest[(row.ticket_id, row.kind)] = row
    out: dict[int, list[Clock]] = defaultdict(list)
    for kind in CLOCK_KINDS:
        for tid in ticket_ids:
            timer = latest.get((tid, kind))
            if timer is None:
                continue
            if timer.state == "met":
                left = None
            elif timer.state == "paused":
                left = float(timer.remaining_s or 0)
            else:
                left = (timer.due_at - now).total_seconds()
            out[tid].append(Clock(kind, timer.state, timer.due_at, left))
    return out


def queue(
    session: Session, *, network_id: int | None, handed_over_only: bool, now: datetime
) -> list[QueueRow]:
    """The tickets waiting for an engineer, the most pressing first: overdue ones, then by
    the time left to their nearest deadline, then the oldest."""
    waiting = service.queue(session, network_id=network_id, handed_over_only=handed_over_only)
    times = clocks(session, ticket_ids=[t.id for t in waiting], now=now)
    names = {
        nid: name for nid, name in session.execute(select(ServiceNetwork.id, ServiceNetwork.name))
    }
    rows = [
        QueueRow(t, times.get(t.id, []), names.get(t.network_id, "") if t.network_id else "")
        for t in waiting
    ]
    rows.sort(key=lambda r: (not r.breached, r.left_s, r.ticket.created_at, r.ticket.id))
    return rows


# --- parts at hand ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PartsFit:
    """Where the parts a ticket will need are, seen from one candidate.

    `state`: none (no parts expected), van (all in the engineer's van), store (all in the van
    or at the network's store), short (some in neither place).
    """

    state: str
    van: tuple[PartLine, ...] = ()
    store: tuple[PartLine, ...] = ()
    short: tuple[PartLine, ...] = ()


def parts_at_hand(
    session: Session,
    *,
    ticket: Ticket,
    lines: Sequence[PartLine],
    workers: Sequence[Worker],
) -> dict[int, PartsFit]:
    """For each candidate, whether the parts the ticket will need are in their van or at their
    network's store (free stock, plus what is already held for this very ticket there)."""
    if not lines:
        return {w.id: PartsFit("none") for w in workers}
    codes = [line.part_code for line in lines]
    engineer_ids = [w.id for w in workers]
    network_ids = sorted({w.network_id for w in workers})
    stock: dict[tuple[str, int, str], int] = defaultdict(int)  # (van|store, owner, code)
    rows = session.execute(
        select(
            StockLocation.id,
            StockLocation.kind,
            StockLocation.network_id,
            StockLocation.engineer_id,
            Part.code,
            StockBalance.on_hand - StockBalance.reserved,
        )
        .join(StockBalance, StockBalance.location_id == StockLocation.id)
        .join(Part, Part.id == StockBalance.part_id)
        .where(
            Part.code.in_(codes),
            or_(
                (StockLocation.kind == "van") & StockLocation.engineer_id.in_(engineer_ids or [-1]),
                (StockLocation.kind == "network")
                & StockLocation.network_id.in_(network_ids or [-1]),
            ),
        )
    ).all()
    kind_of: dict[int, tuple[str, int]] = {}
    for loc_id, kind, net_id, eng_id, code, available in rows:
        owner = ("van", eng_id or 0) if kind == "van" else ("store", net_id or 0)
        kind_of[loc_id] = owner
        stock[(owner[0], owner[1], code)] += int(available or 0)
    # What is already held for this ticket counts as at hand where it lies.
    for loc_id, code, quantity in session.execute(
        select(PartReservation.location_id, Part.code, PartReservation.quantity)
        .join(Part, Part.id == PartReservation.part_id)
        .where(
            PartReservation.ticket_id == ticket.id,
            PartReservation.status.in_(OPEN_RESERVATIONS),
            Part.code.in_(codes),
        )
    ):
        where = kind_of.get(loc_id)
        if where is not None:
            stock[(where[0], where[1], code)] += int(quantity)
    out: dict[int, PartsFit] = {}
    for w in workers:
        van: list[PartLine] = []
        store: list[PartLine] = []
        short: list[PartLine] = []
        for line in lines:
            if stock[("van", w.id, line.part_code)] >= line.quantity:
                van.append(line)
            elif stock[("store", w.network_id, line.part_code)] >= line.quantity:
                store.append(line)
            else:
                short.append(line)
        state = "short" if short else ("store" if store else "van")
        out[w.id] = PartsFit(state, tuple(van), tuple(store), tuple(short))
    return out


@dataclass(frozen=True, slots=True)
class Held:
    """Parts held for a ticket now."""

    name: str
    quantity: int
    location: str
    status: str


def held_parts(session: Session, *, ticket_id: int) -> list[Held]:
    """The ticket's open part reservations, with where they lie."""
    rows = session.execute(
        select(Part.name, PartReservation.quantity, StockLocation.name, PartReservation.status)
        .join(Part, Part.id == PartReservation.part_id)
        .join(StockLocation, StockLocation.id == PartReservation.location_id)
        .where(
            PartReservation.ticket_id == ticket_id,
            PartReservation.status.in_(OPEN_RESERVATIONS),
        )
        .order_by(PartReservation.id)
    ).all()
    return [Held(name, qty, where, status) for name, qty, where, status in rows]


# --- one ticket's candidates --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    """A ranked candidate and the facts behind each reason."""

    rank: int
    ranked: Ranked
    skill_level: int
    coverage: tuple[str, ...]
    parts: PartsFit

    @property
    def worker(self) -> Worker:
        """The engineer."""
        return self.ranked.worker

    def points(self, key: str) -> float:
        """The points one part of the score gave."""
        return next((c.points for c in self.ranked.components if c.key == key), 0.0)


@dataclass(slots=True)
class Panel:
    """Everything the dispatch section of a ticket shows."""

    ticket: Ticket
    version: int
    day: date
    job: Job
    min_level: int
    candidates: list[Candidate]
    excluded: list[tuple[Worker, str]]
    needed: list[PartLine]
    held: list[Held]
    holder: str = ""  # the engineer who holds it now (改派 needs a reason)
    networks: list[ServiceNetwork] = field(default_factory=list)
    # 伞下店 covering the address, to hand the ticket to as a whole (their manager assigns).
    outlets: list[ServiceNetwork] = field(default_factory=list)
    # The visit as the customer, the engineer and the bot are told it.
    visit: ticket_flows.ExpectedVisit | None = None

    @property
    def reassign(self) -> bool:
        """Whether choosing an engineer here replaces one (改派)."""
        return bool(self.holder)


# Reasons that only say an engineer works elsewhere: not worth a line on the page.
_ELSEWHERE = ("network", "coverage")


def panel(
    session: Session,
    *,
    ticket: Ticket,
    day: date,
    now: datetime,
    settings: DispatchSettings,
    planner: PartsPlanner,
    network_id: int | None,
    limit: int = 12,
) -> Panel:
    """The ticket's candidates on `day`, best first, each with its reasons; the engineers of
    the covering networks who may not take it, with why; the parts it will need and holds."""
    job, ranked, excluded = service.candidates(
        session, ticket=ticket, day=day, now=now, settings=settings, network_id=network_id
    )
    needed = planner.suggest(session, ticket=ticket)
    shown = ranked[:limit]
    fits = parts_at_hand(session, ticket=ticket, lines=needed, workers=[r.worker for r in shown])
    key = (job.category, job.service_type)
    holder = ""
    if ticket.engineer_id is not None and ticket.status in ("dispatched", "engineer_accepted"):
        engineer = session.get(Engineer, ticket.engineer_id)
        holder = engineer.name if engineer is not None else str(ticket.engineer_id)
    return Panel(
        ticket=ticket,
        version=service.ticket_version(session, ticket_id=ticket.id),
        day=day,
        job=job,
        min_level=settings.min_level_for(job.urgency),
        candidates=[
            Candidate(
                rank=i,
                ranked=r,
                skill_level=r.worker.skills.get(key, 0),
                coverage=r.worker.coverage,
                parts=fits[r.worker.id],
            )
            for i, r in enumerate(shown, start=1)
        ],
        # The engineer holding it is named as its holder, not as someone who may not take it.
        excluded=[(w, why) for w, why in excluded if why not in _ELSEWHERE and why != "current"],
        needed=needed,
        held=held_parts(session, ticket_id=ticket.id),
        holder=holder,
        outlets=outlets_covering(session, ticket=ticket, restrict=network_id),
        visit=ticket_flows.expected_visit(session, ticket),
    )


def outlets_covering(
    session: Session, *, ticket: Ticket, restrict: int | None = None
) -> list[ServiceNetwork]:
    """The 伞下店 that cover the ticket's address (under `restrict` only, for a manager), but
    not the one that already has it."""
    stmt = select(ServiceNetwork).where(ServiceNetwork.kind == OUTLET).order_by(ServiceNetwork.id)
    if restrict is not None:
        stmt = stmt.where(ServiceNetwork.parent_id == restrict)
    return [
        n
        for n in session.scalars(stmt)
        if n.id != ticket.network_id and n.covers(ticket.city, ticket.district)
    ]


# --- networks -----------------------------------------------------------------------------


def networks(session: Session, *, network_id: int | None) -> list[ServiceNetwork]:
    """The networks a caller dispatches for (one, for a network manager), by city and id."""
    stmt = select(ServiceNetwork).order_by(ServiceNetwork.city, ServiceNetwork.id)
    if network_id is not None:
        stmt = stmt.where(ServiceNetwork.id == network_id)
    return list(session.scalars(stmt))


def get_network(session: Session, *, network_id: int, restrict: int | None) -> ServiceNetwork:
    """A network the caller dispatches for, or 404 (another network's is as one that is not)."""
    row = session.get(ServiceNetwork, network_id)
    if row is None or (restrict is not None and row.id != restrict):
        raise NotFound("object.network")
    return row


def set_auto_dispatch(session: Session, *, network: ServiceNetwork, enabled: bool) -> bool:
    """Switch the network's automatic dispatch on or off; whether it changed."""
    changed = network.auto_dispatch != enabled
    network.auto_dispatch = enabled
    session.flush()
    return changed
