"""Fees: warranty from the asset and the fault cause, versioned rate cards, labour time,
distance bands, parts at price, quotes before paid work, receipts with the ticket."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.database import Database
from portal.dispatch.parts import PartLine
from portal.errors import Conflict, Invalid
from portal.fees import service as fees
from portal.fees.models import DistanceBand, RateLine
from portal.networks.models import ServiceNetwork
from portal.parts import flows as parts_flows
from portal.parts import service as parts
from portal.security import Principal
from portal.settlement import ledger
from tests.conftest import _truncate
from tests.parts.world import catalogue, full_repair, rate_card, walk
from tests.portal import factories as f

DESK = Principal(kind="staff", role="dispatcher", name="desk")
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _job(s, *, months: int = 36, install: date = date(2025, 1, 1), **details):  # type: ignore[no-untyped-def]
    net = f.network(s)
    eng = f.engineer(s, network=net)
    customer = f.customer(s, with_asset=False)
    unit = f.asset(
        s, customer=customer, model=f.product_model(s, warranty_months=months), install_date=install
    )
    ticket = walk(
        s,
        customer=customer,
        engineer=eng,
        start=START,
        steps=full_repair(4)[:6],
        serial_number=unit.serial_number,
    )
    ticket.details = {**ticket.details, **details}
    return ticket


def test_warranty_follows_the_asset_and_the_fault_cause(db: Database) -> None:
    with db.session() as s:
        on = date(2026, 3, 2)
        assert fees.warranty(s, ticket=_job(s), on=on).code == "in"
        assert fees.warranty(s, ticket=_job(s, months=12), on=on).reason == "expired"
        assert fees.warranty(s, ticket=_job(s, fault_cause="misuse"), on=on).reason == "cause"
        bare = f.ticket(s, customer=f.customer(s, with_asset=False))
        assert fees.warranty(s, ticket=bare, on=on).reason == "no_asset"


def test_rate_cards_are_versioned_by_effective_date(db: Database) -> None:
    with db.session() as s:
        v1 = rate_card(s, starts=date(2026, 1, 1))
        line = RateLine(
            service_type="repair",
            product_category="洗衣机",
            warranty="in",
            service_fee=Decimal("90.00"),
            engineer_pay=Decimal("45.00"),
        )
        v2 = fees.add_card(
            s,
            code="STD",
            name="标准价目2",
            effective_from=date(2026, 3, 10),
            lines=[line],
            bands=[],
        )
        assert (v1.version, v2.version, v1.effective_to) == (1, 2, date(2026, 3, 10))
        assert fees.card_for(s, on=date(2026, 3, 9)) is v1
        assert fees.card_for(s, on=date(2026, 3, 10)) is v2
        with pytest.raises(Invalid):
            fees.add_card(
                s, code="STD", name="x", effective_from=date(2026, 3, 1), lines=[], bands=[]
            )
        # The most specific line wins: a category line over "any".
        assert fees.line_for(v2, service_type="repair", category="洗衣机", warranty="in") is line
        assert fees.line_for(
            v1, service_type="repair", category="空调", warranty="in"
        ).service_fee == Decimal("80.00")  # type: ignore[union-attr]
        with pytest.raises(Invalid):
            fees.add_card(
                s,
                code="X",
                name="x",
                effective_from=date(2026, 1, 1),
                lines=[],
                bands=[
                    DistanceBand(min_km=Decimal("0"), max_km=Decimal("20"), fee=Decimal("1")),
                    DistanceBand(min_km=Decimal("10"), max_km=None, fee=Decimal("2")),
                ],
            )


def test_pricing_counts_started_half_hours_and_bands(db: Database) -> None:
    with db.session() as s:
        rate_card(s)
        ticket = _job(s, distance_km="30")  # on a band boundary: the upper band
        p = fees.price_ticket(s, ticket=ticket)
        assert (p.on_site_minutes, p.extra_half_hours) == (50, 0)
        assert (p.mileage_fee, p.engineer_mileage) == (Decimal("50.00"), Decimal("25.00"))
        assert fees.extra_half_hours(61, 60) == 1
        assert fees.extra_half_hours(90, 60) == 1
        assert fees.extra_half_hours(91, 60) == 2
        assert p.customer_total == 0  # in warranty: the customer pays nothing


def test_paid_work_needs_an_accepted_quote_and_the_receipt_is_kept(db: Database) -> None:
    with db.session() as s:
        cat = catalogue(s)
        rate_card(s)
        ticket = _job(s, months=12, distance_km="12")  # out of warranty
        store = parts.network_location(s, network=s.get_one(ServiceNetwork, ticket.network_id))
        parts.receive(s, location=store, part=cat["WM-LCK-01"], quantity=2, actor="t")
        parts_flows.request_parts(
            s, ticket=ticket, lines=[PartLine("WM-LCK-01", 2)], principal=DESK
        )
        with pytest.raises(Conflict):
            parts_flows.consume_for_ticket(s, ticket=ticket, principal=DESK)
        quote = fees.create_quote(s, ticket=ticket, actor="t")
        assert [(ln.kind, ln.amount) for ln in quote.lines] == [
            ("labour", Decimal("100.00")),
            ("mileage", Decimal("20.00")),
            ("part", Decimal("80.00")),
        ]
        assert quote.total == Decimal("200.00") and quote.payer == "customer"
        newer = fees.create_quote(s, ticket=ticket, actor="t")
        assert quote.status == "superseded"
        with pytest.raises(Conflict):
            fees.decide_quote(s, quote=quote, accept=True, actor="c")
        fees.decide_quote(s, quote=newer, accept=True, actor="c")
        assert parts_flows.consume_for_ticket(s, ticket=ticket, principal=DESK) == 2
        receipt = fees.record_receipt(
            s, ticket=ticket, amount=Decimal("200.00"), method="wechat", actor="t"
        )
        assert receipt.quote_id == newer.id and receipt.number.startswith("SJ")
        assert ledger.balance(s, ledger.network_account(ticket.network_id, "cash")) == Decimal(
            "200.00"
        )  # type: ignore[arg-type]
        with pytest.raises(Invalid):
            fees.record_receipt(s, ticket=ticket, amount=Decimal("0"), method="cash", actor="t")


money = st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False, allow_infinity=False)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    fee=money,
    rate=money,
    pay=money,
    band_fee=money,
    on_site=st.integers(0, 600),
    km=st.integers(0, 200),
)
def test_no_float_reaches_pricing(
    db: Database,
    fee: Decimal,
    rate: Decimal,
    pay: Decimal,
    band_fee: Decimal,
    on_site: int,
    km: int,
) -> None:
    """Whatever the rates, every figure is a Decimal in cents (under the FloatOperation trap)."""
    _truncate(db)
    with db.session() as s:
        fees.add_card(
            s,
            code="P",
            name="p",
            effective_from=date(2026, 1, 1),
            lines=[
                RateLine(
                    service_type="*",
                    product_category="*",
                    warranty="in",
                    service_fee=fee,
                    included_minutes=30,
                    hour_rate=rate,
                    engineer_pay=pay,
                    engineer_hour_rate=rate,
                )
            ],
            bands=[
                DistanceBand(min_km=Decimal("0"), max_km=None, fee=band_fee, engineer_pay=band_fee)
            ],
        )
        net = f.network(s)
        eng = f.engineer(s, network=net)
        customer = f.customer(s, with_asset=False)
        unit = f.asset(s, customer=customer, model=f.product_model(s, warranty_months=36))
        steps = full_repair(5, on_site=on_site)[:6]
        ticket = walk(
            s,
            customer=customer,
            engineer=eng,
            start=START,
            steps=steps,
            serial_number=unit.serial_number,
        )
        ticket.details = {**ticket.details, "distance_km": str(km)}
        p = fees.price_ticket(s, ticket=ticket)
        figures = (
            p.service_fee,
            p.labour_time_fee,
            p.mileage_fee,
            p.engineer_pay,
            p.engineer_time_pay,
            p.engineer_mileage,
        )
        for x in figures:
            assert isinstance(x, Decimal) and x == x.quantize(ledger.CENT)
        assert p.labour_time_fee == (rate * fees.extra_half_hours(on_site, 30) / 2).quantize(
            ledger.CENT
        )
        assert p.mileage_fee == band_fee


def test_a_distance_band_must_end_after_it_starts(db: Database) -> None:
    """A tester saved a card with a band from 20 km to 5 km; it was shown as "20.0 km – 5.0 km"."""
    with db.session() as s, pytest.raises(Invalid) as refused:
        fees.add_card(
            s,
            code="BAND",
            name="x",
            effective_from=date(2026, 1, 1),
            lines=[],
            bands=[DistanceBand(min_km=Decimal("20"), max_km=Decimal("5"), fee=Decimal("10"))],
        )
    assert refused.value.key == "fees.band_empty"
    assert "20" in refused.value.message_zh and "km" in refused.value.message_en
