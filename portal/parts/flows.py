"""Parts work that spans domains: the dispatch `PartsPlanner`, shortages that put a ticket on
hold and resume it, stock counts, low-stock alerts to the people who refill a location, and
the lifecycle subscriber `on_ticket_event`: an assignment holds the ticket's parts at its
(new) network, completion consumes them, cancellation releases them.

Every function here that moves stock ends with `alert_low_stock`, which turns the crossings
the service noted into one in-portal notification each.

`StockPlanner` implements `portal.dispatch.parts.PartsPlanner`; `portal.wiring` hands it to
the lifecycle's subscribers and to dispatch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.assets.models import Asset
from portal.database import utcnow
from portal.dispatch.parts import PartLine, Reservation
from portal.errors import Conflict
from portal.fees import service as fees
from portal.i18n import both
from portal.networks.models import Engineer, ServiceNetwork
from portal.notifications import flows as notify
from portal.notifications import service as outbox
from portal.parts import service
from portal.parts.models import Part, ShortageOrder, StockBalance, StockLocation
from portal.security import Principal, Role
from portal.tickets import lifecycle
from portal.tickets import service as tickets
from portal.tickets.models import Ticket, TicketEvent
from portal.tickets.schemas import TransitionRequest

ACTOR = "system:parts"
SYSTEM = Principal(kind="service", role=Role.SYSTEM, name="parts")
_REOPEN_WINDOW = timedelta(days=7)  # transition() wants one; no parts action reopens

# Words in a fault description that point at a part (by part name), per product category.
FAULT_HINTS: dict[str, tuple[tuple[str, str], ...]] = {
    "洗衣机": (
        ("排水", "排水泵"),
        ("门锁", "门锁开关"),
        ("不转", "电机"),
        ("E21", "电机"),
        ("E30", "门锁开关"),
        ("显示", "电脑板"),
    ),
    "空调": (
        ("不制冷", "压缩机电容"),
        ("外机不启动", "室外机主板"),
        ("E1", "室外机主板"),
        ("噪音", "风扇电机"),
        ("制热", "温度传感器"),
    ),
    "冰箱": (
        ("结冰", "化霜加热管"),
        ("不冷", "温控器"),
        ("门封", "门封条"),
        ("不停机", "温控器"),
        ("F5", "风扇电机"),
    ),
    "热水器": (
        ("打不着火", "点火针"),
        ("忽冷忽热", "比例阀"),
        ("熄火", "水流传感器"),
        ("E4", "主控板"),
    ),
    "油烟机": (("吸力", "电机"), ("按键", "按键板"), ("漏油", "油杯")),
    "燃气灶": (("打火", "点火器"), ("熄火保护", "热电偶"), ("旋钮", "旋钮")),
}


def _category(session: Session, ticket: Ticket) -> str:
    if ticket.asset_id is not None:
        asset = session.get(Asset, ticket.asset_id)
        if asset is not None:
            return asset.model.product.category
    return ticket.product


def _model_code(session: Session, ticket: Ticket) -> str:
    if ticket.model_code:
        return ticket.model_code
    if ticket.asset_id is not None:
        asset = session.get(Asset, ticket.asset_id)
        if asset is not None:
            return asset.model.code
    return ""


def fits_ticket(session: Session, *, ticket: Ticket, part: Part) -> bool:
    """Whether the engineer on site may fit the part: it is for the ticket's product (its
    category) and, when the model is known, for that model. A customer who reported by chat
    often does not know the model; the engineer reads it off the unit, so an unknown model
    rules out no part of the product. (Planning is stricter: `suggest_parts` holds and orders
    nothing model-specific for an unknown model.)"""
    category = _category(session, ticket)
    if category and part.category and part.category != category:
        return False
    model = _model_code(session, ticket)
    return not model or part.fits(model)


def suggest_parts(session: Session, *, ticket: Ticket) -> list[PartLine]:
    """The parts a ticket will probably need: the ones named in its details, else those its
    fault description hints at, fitting its model; never one already fitted on it (a
    reopened repair held and consumed its part again, owing a second old part back)."""
    category = _category(session, ticket)
    fitted = service.consumed_on(session, ticket_id=ticket.id)
    model = _model_code(session, ticket)
    named = ticket.details.get("parts") if isinstance(ticket.details, dict) else None
    refs: list[str] = []
    if isinstance(named, list):
        refs = [str(r) for r in named if isinstance(r, str | int)]
    elif ticket.type == "repair":
        text = ticket.fault_description or ""
        refs = [name for word, name in FAULT_HINTS.get(category, ()) if word in text][:1]
    out: list[PartLine] = []
    seen: set[str] = set()
    for ref in refs:
        part = service.find_part(session, ref=ref, category=category)
        if part is None or not part.active or part.code in seen or not part.fits(model):
            continue
        if part.id in fitted:
            continue
        seen.add(part.code)
        out.append(PartLine(part_code=part.code, quantity=1, name=part.name))
    return out


def reserve_lines(
    session: Session,
    *,
    ticket: Ticket,
    location: StockLocation,
    lines: Iterable[PartLine],
    actor: str = ACTOR,
    at: datetime | None = None,
) -> Reservation:
    """Hold the lines for the ticket at the location; what is short gets a shortage order.

    Lines already held (or already on order) for the ticket are not held twice, so a
    reassignment that reserves again changes nothing."""
    reserved: list[PartLine] = []
    short: list[PartLine] = []
    for line in lines:
        part = service.find_part(session, ref=line.part_code)
        if part is None:
            short.append(line)
            continue
        have = sum(
            r.quantity for r in service.held_for(session, ticket_id=ticket.id, part_id=part.id)
        )
        have += sum(
            o.quantity
            for o in service.open_shortages(session, ticket_id=ticket.id, part_id=part.id)
        )
        need = line.quantity - have
        got = 0
        if need > 0:
            got = service.reserve(
                session,
                ticket_id=ticket.id,
                location=location,
                part=part,
                quantity=need,
                actor=actor,
                at=at,
            )
        if got:
            reserved.append(PartLine(part.code, got, part.name))
        if need - got > 0:
            service.raise_shortage(
                session,
                ticket_id=ticket.id,
                location=location,
                part=part,
                quantity=need - got,
                at=at,
            )
            short.append(PartLine(part.code, need - got, part.name))
    alert_low_stock(session)
    return Reservation(reserved=tuple(reserved), shortages=tuple(short))


class StockPlanner:
    """The inventory's answer to dispatch: suggests parts and holds them at the network."""

    def suggest(self, session: Session, *, ticket: Ticket) -> list[PartLine]:
        """The parts the ticket will probably need (from its product, model and fault)."""
        return suggest_parts(session, ticket=ticket)

    def reserve(
        self, session: Session, *, ticket: Ticket, network_id: int, lines: list[PartLine]
    ) -> Reservation:
        """Hold these parts for the ticket at the network's stock; report what is short."""
        network = session.get(ServiceNetwork, network_id)
        if network is None:
            return Reservation(shortages=tuple(lines))
        location = service.network_location(session, network=network)
        van = _van_of(session, engineer_id=ticket.engineer_id)
        release_elsewhere(session, ticket=ticket, location=location, keep=van)
        # The engineer's own van first: the dispatch candidates count a part in the van as at
        # hand, so the assignment (manual or a published day plan) must hold it there.
        from_van = hold_from_van(session, ticket=ticket, van=van, lines=lines) if van else []
        rest = reserve_lines(session, ticket=ticket, location=location, lines=lines)
        return Reservation(reserved=(*from_van, *rest.reserved), shortages=rest.shortages)


def _van_of(session: Session, *, engineer_id: int | None) -> StockLocation | None:
    """The engineer's van stock, if they have one (none is made here)."""
    if engineer_id is None:
        return None
    return session.scalars(
        select(StockLocation).where(
            StockLocation.engineer_id == engineer_id, StockLocation.kind == "van"
        )
    ).first()


def hold_from_van(
    session: Session, *, ticket: Ticket, van: StockLocation, lines: Iterable[PartLine]
) -> list[PartLine]:
    """Hold for the ticket what the engineer's van has free of the lines not yet held or on
    order for it; nothing is ordered for the van (what it lacks the store holds or orders)."""
    held: list[PartLine] = []
    for line in lines:
        part = service.find_part(session, ref=line.part_code)
        if part is None:
            continue
        have = sum(
            r.quantity for r in service.held_for(session, ticket_id=ticket.id, part_id=part.id)
        )
        have += sum(
            o.quantity
            for o in service.open_shortages(session, ticket_id=ticket.id, part_id=part.id)
        )
        need = line.quantity - have
        if need <= 0:
            continue
        got = service.reserve(
            session, ticket_id=ticket.id, location=van, part=part, quantity=need, actor=ACTOR
        )
        if got:
            held.append(PartLine(part.code, got, part.name))
    return held


def release_elsewhere(
    session: Session,
    *,
    ticket: Ticket,
    location: StockLocation,
    keep: StockLocation | None = None,
    actor: str = ACTOR,
) -> int:
    """A ticket that moved to another network (or engineer) gives back what its old store or
    the old engineer's van held for it (parts already issued to a van stay with that engineer)
    and cancels the shortage orders placed there, so the new store can hold and order them.
    `keep`: the new engineer's van, whose holds stay. Returns how many were released."""
    kept = {location.id} | ({keep.id} if keep is not None else set())
    n = 0
    for res in service.held_for(session, ticket_id=ticket.id):
        if res.status == "held" and res.location_id not in kept:
            service.release(session, reservation=res, actor=actor)
            n += 1
    for order in service.open_shortages(session, ticket_id=ticket.id):
        if order.location_id != location.id:
            order.status = "cancelled"
    session.flush()
    return n


def request_parts(
    session: Session,
    *,
    ticket: Ticket,
    lines: list[PartLine],
    principal: Principal,
) -> Reservation:
    """An engineer on site (or a dispatcher) asks for parts: held at the network, and when
    some are short the ticket waits for them (lifecycle `wait_parts`)."""
    if ticket.network_id is None:
        raise Conflict("parts.no_network")
    network = session.get_one(ServiceNetwork, ticket.network_id)
    location = service.network_location(session, network=network)
    result = reserve_lines(
        session, ticket=ticket, location=location, lines=lines, actor=principal.actor
    )
    if result.short and ticket.status != "waiting_parts":
        names = "、".join(p.name or p.part_code for p in result.shortages)
        event = tickets.transition(
            session,
            ticket=ticket,
            req=TransitionRequest(
                action="wait_parts", reason=both("parts.waiting", parts=names)[0]
            ),
            principal=principal,
            reopen_window=_REOPEN_WINDOW,
        )
        event.payload = {
            **event.payload,
            "parts": [{"part_code": p.part_code, "quantity": p.quantity} for p in result.shortages],
        }
        session.flush()
    return result


def _resume_if_ready(session: Session, *, ticket_id: int, actor: Principal) -> bool:
    """Resume a ticket waiting for parts once none of its shortage orders is open."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.status != "waiting_parts":
        return False
    if service.open_shortages(session, ticket_id=ticket_id):
        return False
    tickets.transition(
        session,
        ticket=ticket,
        req=TransitionRequest(action="resume", reason=both("parts.arrived")[0]),
        principal=actor,
        reopen_window=_REOPEN_WINDOW,
    )
    return True


def fulfil(
    session: Session, *, order: ShortageOrder, actor: Principal = SYSTEM, at: datetime | None = None
) -> bool:
    """Serve one open shortage order from its location's free stock (all of it or nothing);
    the ticket resumes when it waits for nothing else. False when stock is still short."""
    if order.status != "open":
        raise Conflict("parts.shortage_closed")
    part = session.get_one(Part, order.part_id)
    location = session.get_one(StockLocation, order.location_id)
    got = service.reserve(
        session,
        ticket_id=order.ticket_id,
        location=location,
        part=part,
        quantity=order.quantity,
        actor=actor.actor,
        partial=False,
        at=at,
    )
    if not got:
        return False
    order.status, order.fulfilled_at = "fulfilled", at or utcnow()
    session.flush()
    alert_low_stock(session)
    _resume_if_ready(session, ticket_id=order.ticket_id, actor=actor)
    return True


def fulfil_waiting(
    session: Session,
    *,
    location: StockLocation,
    actor: Principal = SYSTEM,
    at: datetime | None = None,
) -> list[ShortageOrder]:
    """After stock arrives at a location, serve its open shortage orders oldest first."""
    done = []
    for order in service.open_shortages(session, location_id=location.id):
        if fulfil(session, order=order, actor=actor, at=at):
            done.append(order)
    return done


def receive(
    session: Session,
    *,
    location: StockLocation,
    part: Part,
    quantity: int,
    principal: Principal,
    note: str = "",
    at: datetime | None = None,
) -> list[ShortageOrder]:
    """Goods in, then the waiting tickets at that location are served."""
    service.receive(
        session,
        location=location,
        part=part,
        quantity=quantity,
        actor=principal.actor,
        note=note,
        at=at,
    )
    return fulfil_waiting(session, location=location, actor=principal, at=at)


def transfer(
    session: Session,
    *,
    source: StockLocation,
    target: StockLocation,
    part: Part,
    quantity: int,
    principal: Principal,
    at: datetime | None = None,
) -> list[ShortageOrder]:
    """Move stock, then serve the target's waiting tickets."""
    kind = "issue" if target.kind == "van" else "transfer"
    service.transfer(
        session,
        source=source,
        target=target,
        part=part,
        quantity=quantity,
        actor=principal.actor,
        kind=kind,
        at=at,
    )
    alert_low_stock(session)
    return fulfil_waiting(session, location=target, actor=principal, at=at)


def ship_from_central(
    session: Session, *, order: ShortageOrder, principal: Principal, at: datetime | None = None
) -> bool:
    """Send a shortage order's parts from the central warehouse to its location and serve it."""
    if order.status != "open":
        raise Conflict("parts.shortage_closed")
    part = session.get_one(Part, order.part_id)
    target = session.get_one(StockLocation, order.location_id)
    source = service.central(session)
    if source.id != target.id:
        service.transfer(
            session,
            source=source,
            target=target,
            part=part,
            quantity=order.quantity,
            actor=principal.actor,
            at=at,
        )
        alert_low_stock(session)
    return fulfil(session, order=order, actor=principal, at=at)


def issue_to_engineer(
    session: Session, *, ticket: Ticket, principal: Principal, at: datetime | None = None
) -> int:
    """The engineer collects the ticket's held parts from the store (领料): they move to
    the van, still held for the ticket. Returns how many reservations moved."""
    if ticket.engineer_id is None:
        raise Conflict("parts.no_engineer")
    van = service.van_location(session, engineer=session.get_one(Engineer, ticket.engineer_id))
    moved = 0
    for res in service.held_for(session, ticket_id=ticket.id):
        if res.status == "held" and res.location_id != van.id:
            service.issue(session, reservation=res, van=van, actor=principal.actor, at=at)
            moved += 1
    alert_low_stock(session)
    return moved


def consume_for_ticket(
    session: Session,
    *,
    ticket: Ticket,
    lines: list[PartLine] | None = None,
    principal: Principal,
    at: datetime | None = None,
) -> int:
    """Record the parts fitted on the ticket (by default: everything held for it), taken from
    its reservations, then the engineer's van, then the network's store. An out-of-warranty
    job needs the customer's accepted quote first. Returns the units consumed."""
    if lines is None:
        totals: dict[int, int] = {}
        for res in service.held_for(session, ticket_id=ticket.id):
            totals[res.part_id] = totals.get(res.part_id, 0) + res.quantity
        parts = {p.id: p for p in session.scalars(select(Part).where(Part.id.in_(totals)))}
        lines = [PartLine(parts[pid].code, q, parts[pid].name) for pid, q in totals.items()]
    if not lines:
        return 0
    fees.require_accepted_quote(session, ticket=ticket, on=(at or utcnow()))
    fallback: list[StockLocation] = []
    engineer = session.get(Engineer, ticket.engineer_id) if ticket.engineer_id else None
    if engineer is not None:
        fallback.append(service.van_location(session, engineer=engineer))
    store = None
    if ticket.network_id is not None:
        store = service.network_location(
            session, network=session.get_one(ServiceNetwork, ticket.network_id)
        )
        fallback.append(store)
    units = 0
    for line in lines:
        part = service.find_part(session, ref=line.part_code)
        if part is None:
            raise Conflict("parts.unknown_part", part=line.part_code)
        service.consume(
            session,
            ticket_id=ticket.id,
            part=part,
            quantity=line.quantity,
            fallback=fallback,
            actor=principal.actor,
            engineer_id=ticket.engineer_id,
            return_to=service.central(session),
            at=at,
        )
        units += line.quantity
    alert_low_stock(session)
    return units


def release_ticket(session: Session, *, ticket: Ticket, actor: str = ACTOR) -> int:
    """A cancelled ticket gives back what was held for it and cancels its shortage orders."""
    n = 0
    for res in service.held_for(session, ticket_id=ticket.id):
        service.release(session, reservation=res, actor=actor)
        n += 1
    for order in service.open_shortages(session, ticket_id=ticket.id):
        order.status = "cancelled"
    session.flush()
    return n


def on_ticket_event(
    session: Session, *, ticket: Ticket, event: TicketEvent, ctx: lifecycle.Context
) -> Sequence[lifecycle.FollowUp]:
    """The lifecycle subscriber: an assignment holds the parts the ticket will need at its
    network through the context's planner and, when some are short, asks for `wait_parts`;
    completion consumes what was held; cancellation releases it."""
    action = event.action
    if action in ("dispatch", "reassign"):
        return hold_for_assignment(session, ticket=ticket, ctx=ctx)
    if action == "complete" and service.held_for(session, ticket_id=ticket.id):
        consume_for_ticket(session, ticket=ticket, principal=SYSTEM)
    elif action == "cancel":
        release_ticket(session, ticket=ticket)
    return ()


def hold_for_assignment(
    session: Session, *, ticket: Ticket, ctx: lifecycle.Context
) -> Sequence[lifecycle.FollowUp]:
    """Hold the suggested parts at the ticket's (new) network; what is short makes the
    ticket wait for parts, taken by whoever assigned it, naming the parts."""
    lines = ctx.planner.suggest(session, ticket=ticket)
    if not lines or ticket.network_id is None:
        return ()
    reservation = ctx.planner.reserve(
        session, ticket=ticket, network_id=ticket.network_id, lines=lines
    )
    if not reservation.short:
        return ()
    names = "、".join(p.name or p.part_code for p in reservation.shortages)
    return (
        lifecycle.FollowUp(
            "wait_parts",
            actor=ctx.actor,
            role=ctx.role,
            payload={
                "reason": both("dispatch.parts_short", parts=names)[0],
                "parts": [
                    {"part_code": p.part_code, "quantity": p.quantity, "name": p.name}
                    for p in reservation.shortages
                ],
            },
        ),
    )


def count_stock(
    session: Session,
    *,
    location: StockLocation,
    part: Part,
    counted: int,
    reason: str,
    principal: Principal,
    at: datetime | None = None,
) -> service.Count:
    """A stock count (盘点调整) brings the books to what is on the shelf; a count that finds
    more serves the location's waiting tickets, one that finds less may raise an alert."""
    result = service.adjust_count(
        session,
        location=location,
        part=part,
        counted=counted,
        reason=reason,
        actor=principal.actor,
        at=at,
    )
    alert_low_stock(session)
    if result.delta > 0:
        fulfil_waiting(session, location=location, actor=principal, at=at)
    return result


def low_stock_recipients(session: Session, *, location: StockLocation) -> list[int]:
    """Who refills a location: its network's managers; the parts desk (dispatchers) for the
    central warehouse, or for a network with no manager."""
    users: list[int] = []
    if location.network_id is not None:
        users = outbox.users_with_role(
            session, role=Role.NETWORK_MANAGER, network_id=location.network_id
        )
    return users or outbox.users_with_role(session, role=Role.DISPATCHER)


def alert_low_stock(session: Session, *, at: datetime | None = None) -> list[StockBalance]:
    """Tell the people who refill a location, once per fall, that a part's free stock went
    under its threshold there. Returns the balances alerted about."""
    crossed = service.take_low_crossings(session)
    for b in crossed:
        assert b.low_since is not None
        notify.notify_staff(
            session,
            user_ids=low_stock_recipients(session, location=b.location),
            template="low_stock",
            key=f"parts:low:{b.id}:{b.low_since.isoformat()}",
            params={
                "location": b.location.name,
                "part": b.part.name,
                "code": b.part.code,
                "available": b.available,
                "min_level": b.min_level,
                "location_id": b.location_id,
                "part_id": b.part_id,
            },
            ticket_id=None,
            at=at or utcnow(),
        )
    return crossed
