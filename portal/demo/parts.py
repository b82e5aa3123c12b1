"""Demo parts and money: the catalogue from `catalog.PARTS`, stock at the central warehouse,
every network store and van, a versioned rate card, deposits, the parts fitted on the demo
tickets, and the settlement of the last full month and the current one.

Call after the tickets are written: `seed_parts(session, now=now)`. Deterministic for a given
`now` (only generated numbers such as shortage and receipt numbers differ).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session
from tqdm import tqdm

from portal.assets.models import ProductModel
from portal.demo import catalog
from portal.fees import service as fees
from portal.fees.models import DistanceBand, Quote, RateLine
from portal.networks.models import Engineer, ServiceNetwork
from portal.networks.service import OUTLET
from portal.parts import service as parts
from portal.parts.models import Part
from portal.security import Principal, Role
from portal.settlement import flows as settlement_flows
from portal.settlement import ledger
from portal.settlement import service as settlement
from portal.tickets.models import Ticket, TicketEvent

ACTOR = "system:demo"
FINANCE = Principal(kind="service", role=Role.FINANCE, name="demo-finance")
CATEGORY_CODES = {
    "洗衣机": "WM",
    "空调": "AC",
    "冰箱": "RF",
    "热水器": "WH",
    "油烟机": "RH",
    "燃气灶": "GS",
}
# Boards, motors and compressors go back for repair (周转件); small parts are thrown away.
RETURNABLE = ("板", "电机", "压缩机", "比例阀")
# Cost in yuan by a word in the part's name; the price is cost x 1.6 rounded to the yuan.
COSTS: tuple[tuple[str, str], ...] = (
    ("主板", "220.00"),
    ("电脑板", "180.00"),
    ("主控板", "160.00"),
    ("电机", "260.00"),
    ("压缩机", "35.00"),
    ("比例阀", "90.00"),
    ("泵", "45.00"),
    ("传感器", "28.00"),
    ("加热管", "55.00"),
    ("温控器", "40.00"),
    ("按键板", "38.00"),
    ("门封条", "60.00"),
)
DEFAULT_COST = "18.00"


def _cost(name: str) -> Decimal:
    return Decimal(next((c for word, c in COSTS if word in name), DEFAULT_COST))


def _catalogue(session: Session) -> dict[tuple[str, str], Part]:
    """One part per (category, name) in the demo catalogue."""
    models: dict[str, list[str]] = {}
    for m in session.scalars(select(ProductModel)):
        models.setdefault(m.product.category, []).append(m.code)
    out = {}
    for category, names in catalog.PARTS.items():
        prefix = CATEGORY_CODES.get(category, "XX")
        for i, name in enumerate(names, start=1):
            cost = _cost(name)
            part = Part(
                code=f"{prefix}-P{i:02d}",
                name=name,
                name_en=catalog.PART_NAMES_EN.get(name, ""),
                category=category,
                compatible_models=sorted(models.get(category, [])),
                unit_cost=cost,
                unit_price=(cost * Decimal("1.6")).quantize(Decimal("1")) + Decimal("0.00"),
                returnable=any(word in name for word in RETURNABLE),
            )
            out[category, name] = parts.create_part(session, part=part)
    return out


def _rate_card(session: Session, *, now: datetime) -> None:
    """Version 1 from a year ago; version 2 (dearer mileage) from two months ago."""

    def lines(bump: Decimal) -> list[RateLine]:
        out = []
        for stype, fee_in, pay_in, fee_out, pay_out in (
            ("installation", "60.00", "30.00", "80.00", "35.00"),
            ("repair", "80.00", "40.00", "120.00", "45.00"),
            ("maintenance", "50.00", "25.00", "60.00", "30.00"),
        ):
            for warranty, fee, pay in (("in", fee_in, pay_in), ("out", fee_out, pay_out)):
                out.append(
                    RateLine(
                        service_type=stype,
                        product_category="*",
                        warranty=warranty,
                        service_fee=Decimal(fee) + bump,
                        included_minutes=60,
                        hour_rate=Decimal("30.00"),
                        engineer_pay=Decimal(pay),
                        engineer_hour_rate=Decimal("15.00"),
                    )
                )
        # Air conditioners are heavier work: a category line that beats "*".
        out.append(
            RateLine(
                service_type="installation",
                product_category="空调",
                warranty="in",
                service_fee=Decimal("120.00") + bump,
                included_minutes=120,
                hour_rate=Decimal("40.00"),
                engineer_pay=Decimal("60.00"),
                engineer_hour_rate=Decimal("20.00"),
            )
        )
        return out

    def bands(far: str) -> list[DistanceBand]:
        return [
            DistanceBand(min_km=Decimal("0"), max_km=Decimal("10"), fee=Decimal("0.00")),
            DistanceBand(
                min_km=Decimal("10"),
                max_km=Decimal("25"),
                fee=Decimal("15.00"),
                engineer_pay=Decimal("8.00"),
            ),
            DistanceBand(
                min_km=Decimal("25"), max_km=None, fee=Decimal(far), engineer_pay=Decimal("20.00")
            ),
        ]

    today = now.astimezone(ledger.PERIOD_ZONE).date()
    previous_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    fees.add_card(
        session,
        code="STD",
        name="标准服务价目",
        effective_from=today - timedelta(days=365),
        lines=lines(Decimal("0")),
        bands=bands("40.00"),
    )
    fees.add_card(
        session,
        code="STD",
        name="标准服务价目（新版）",
        effective_from=previous_month,
        lines=lines(Decimal("5.00")),
        bands=bands("45.00"),
    )


OUTLET_STOCK = 6  # of each part, in a 伞下店's store


def _stock(session: Session, *, catalogue: dict[tuple[str, str], Part], now: datetime) -> None:
    """Plenty centrally; a few of each at every network store and in every van."""
    start = now - timedelta(days=60)
    central = parts.central(session)
    networks = list(session.scalars(select(ServiceNetwork).order_by(ServiceNetwork.id)))
    engineers = list(session.scalars(select(Engineer).order_by(Engineer.id)))
    for part in catalogue.values():
        parts.receive(
            session,
            location=central,
            part=part,
            quantity=400,
            actor=ACTOR,
            at=start,
            note="年度备货",
        )
        for i, net in enumerate(networks):
            store = parts.network_location(session, network=net)
            qty = 6 + (i + part.id) % 5
            # A 伞下店's store is fed from its parent's warehouse (which holds that much more).
            qty += OUTLET_STOCK * sum(n.parent_id == net.id and n.kind == OUTLET for n in networks)
            parent = next((n for n in networks if n.id == net.parent_id), None)
            if net.kind == OUTLET and parent is not None:
                source, qty = parts.network_location(session, network=parent), OUTLET_STOCK
            else:
                source = central
            parts.transfer(
                session,
                source=source,
                target=store,
                part=part,
                quantity=qty,
                actor=ACTOR,
                at=start + timedelta(days=1),
            )
            parts.set_threshold(session, location_id=store.id, part_id=part.id, min_level=4)
    for eng in engineers:
        van = parts.van_location(session, engineer=eng)
        store = parts.network_location(session, network=eng.network)
        for (category, _name), part in catalogue.items():
            if (category, "repair") in {(s.product_category, s.service_type) for s in eng.skills}:
                if part.returnable:
                    continue
                parts.transfer(
                    session,
                    source=store,
                    target=van,
                    part=part,
                    quantity=1,
                    actor=ACTOR,
                    kind="issue",
                    at=start + timedelta(days=2),
                )


def _fitted(session: Session, *, catalogue: dict[tuple[str, str], Part], since: datetime) -> int:
    """Record the parts the demo engineers fitted (the `parts` of each completion) since
    `since`, from the network store (refilled from the centre when it runs out); an
    out-of-warranty job gets its accepted quote and the customer's receipt."""
    central = parts.central(session)
    done = session.execute(
        select(Ticket, TicketEvent)
        .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
        .where(TicketEvent.action == "complete", TicketEvent.created_at >= since)
        .order_by(TicketEvent.created_at, TicketEvent.id)
    ).all()
    n = 0
    for ticket, event in done:
        names = event.payload.get("parts") or []
        if not names or ticket.network_id is None:
            continue
        category = fees.category_of(session, ticket=ticket)
        store = parts.network_location(
            session, network=session.get_one(ServiceNetwork, ticket.network_id)
        )
        for name in names:
            part = catalogue.get((category, name))
            if part is None:
                continue
            if parts.available(session, location_id=store.id, part_id=part.id) < 1:
                parts.transfer(
                    session,
                    source=central,
                    target=store,
                    part=part,
                    quantity=5,
                    actor=ACTOR,
                    at=event.created_at - timedelta(hours=2),
                )
            parts.consume(
                session,
                ticket_id=ticket.id,
                part=part,
                quantity=1,
                fallback=[store],
                actor=ACTOR,
                engineer_id=ticket.engineer_id,
                return_to=central,
                at=event.created_at,
            )
            n += 1
        _quote_and_receipt(session, ticket=ticket, event=event)
    return n


def _quote_and_receipt(session: Session, *, ticket: Ticket, event: TicketEvent) -> None:
    # One quote per completion: a reopened ticket is completed (and quoted) again.
    at = event.created_at
    cover = fees.warranty(session, ticket=ticket, on=at.astimezone(fees.LOCAL).date())
    if cover.covered:
        return
    pricing = fees.price_ticket(session, ticket=ticket)
    if pricing.line is None or pricing.customer_total <= 0:
        return
    lines = fees.quote_lines(pricing)
    total = sum((ln.amount for ln in lines), ledger.ZERO)
    session.add(
        Quote(
            number=f"BJ-DEMO-{ticket.id:06d}-{event.id}",
            ticket_id=ticket.id,
            warranty="out",
            payer="customer",
            total=total,
            status="accepted",
            created_by=ACTOR,
            created_at=at - timedelta(minutes=30),
            decided_by=f"customer:{ticket.customer_id}",
            decided_at=at - timedelta(minutes=25),
            lines=lines,
        )
    )
    session.flush()
    fees.record_receipt(session, ticket=ticket, amount=total, method="wechat", actor=ACTOR, at=at)


def _deposits(session: Session, *, now: datetime) -> None:
    for net in session.scalars(select(ServiceNetwork).order_by(ServiceNetwork.id)):
        settlement.move_deposit(
            session,
            network_id=net.id,
            action="receive",
            amount=Decimal("5000.00"),
            key=f"demo-{net.code}",
            principal=FINANCE,
            at=now - timedelta(days=300),
            memo="网点入网押金",
        )


def _previous_period(now: datetime) -> str:
    first = now.astimezone(ledger.PERIOD_ZONE).date().replace(day=1)
    return ledger.period_of(datetime.combine(first - timedelta(days=1), now.timetz()))


def seed_parts(session: Session, *, now: datetime, progress: bool = True) -> None:
    """Parts, stock, rate cards, deposits, fitted parts and two months of settlement."""
    steps = tqdm(total=6, desc="parts & settlement", disable=not progress)
    catalogue = _catalogue(session)
    _rate_card(session, now=now)
    settlement.ensure_default_rules(session)
    steps.update()
    _stock(session, catalogue=catalogue, now=now)
    steps.update()
    _deposits(session, now=now)
    last = _previous_period(now)
    since = datetime.fromisoformat(f"{last}-01T00:00:00+08:00") - timedelta(days=10)
    _fitted(session, catalogue=catalogue, since=since)
    steps.update()
    settlement_flows.run_settlement(session, period=last, key=f"demo:{last}", actor=ACTOR, at=now)
    steps.update()
    this = ledger.period_of(now)
    settlement_flows.run_settlement(session, period=this, key=f"demo:{this}", actor=ACTOR, at=now)
    steps.update()
    # Last month's statements have moved on: networks confirmed, finance approved and paid
    # most, one network disputes; this month's stay drafts.
    for i, st in enumerate(settlement.list_statements(session, period=last, party="network")):
        manager = Principal(kind="service", role=Role.ADMIN, name="demo", network_id=st.network_id)
        if i == 1:
            settlement.act(
                session,
                statement=st,
                action="dispute",
                principal=manager,
                comment="超时扣罚有误：客户改约导致上门延迟，请核实。",
            )
            continue
        settlement.act(session, statement=st, action="confirm", principal=manager)
        settlement.act(session, statement=st, action="approve", principal=manager)
        if i % 3 != 2:
            settlement.act(session, statement=st, action="pay", principal=manager)
    for st in settlement.list_statements(session, period=last, party="engineer"):
        manager = Principal(kind="service", role=Role.ADMIN, name="demo")
        settlement.act(session, statement=st, action="confirm", principal=manager)
    steps.update()
    steps.close()
