"""Cost centres on both databases: an in-warranty job's fault cause puts its parts, labour and
logistics costs on the factory (quality) or the market and sales centre (the rest) as ledger
lines, once however often settlement runs; factory quality's reclassification moves them by
reversal, never by editing a posted line; completion needs the cause, a quality cause needs a
photo; the repeats R&D reads."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.costs import flows as cost_flows
from portal.costs import service as costs
from portal.costs.models import CostCase
from portal.database import Database
from portal.errors import Conflict, Invalid
from portal.fees import service as fees
from portal.security import Principal, Role
from portal.settlement import flows as settlement_flows
from portal.settlement import ledger
from portal.settlement.models import LedgerEntry, LedgerTransaction
from portal.tickets.models import Ticket
from tests.costs import world as w

D = Decimal
QUALITY = Principal(kind="staff", role=Role.QUALITY, name="quality", user_id=None)
# The rate card of tests/parts/world.py: a repair in warranty is 80, 15 km costs 20 in mileage;
# the drain pump costs 45.
PARTS, LABOUR, LOGISTICS = D("45.00"), D("80.00"), D("20.00")


def _balances(s, centre: str) -> dict[str, Decimal]:  # type: ignore[no-untyped-def]
    return {g: ledger.balance(s, f"cc:{centre}:{g}") for g in ("parts", "labour", "logistics")}


def _allocations(s, ticket_id: int) -> list[LedgerTransaction]:  # type: ignore[no-untyped-def]
    return list(
        s.scalars(
            select(LedgerTransaction)
            .where(LedgerTransaction.ticket_id == ticket_id, LedgerTransaction.kind == "allocation")
            .order_by(LedgerTransaction.id)
        )
    )


def _settled_job(db: Database, root: Path, cause: str) -> int:
    with db.session() as s:
        c = w.crew(s)
        ticket = w.on_site(s, c)
        w.record_cause(s, c, ticket, cause, root)
        w.work_and_sign(s, c, ticket, root)
        w.complete(s, c, ticket)
        w.rate(s, ticket)
        return ticket.id


def test_a_quality_repair_is_the_factory_s_cost(db: Database, tmp_path: Path) -> None:
    ticket_id = _settled_job(db, tmp_path, "component_failure")
    with db.session() as s:
        assert _balances(s, "factory") == {"parts": PARTS, "labour": LABOUR, "logistics": LOGISTICS}
        assert set(_balances(s, "sales").values()) == {D("0.00")}
        # Moved off the manufacturer's cost accounts, not counted twice.
        assert ledger.balance(s, "mfr:parts_cost") == D("0.00")
        # What stays there is the service's own: incentives are no cost of the product.
        incentives = sum(
            (
                e.amount
                for e in s.scalars(select(LedgerEntry).where(LedgerEntry.ticket_id == ticket_id))
                if e.account.code == "mfr:service_cost" and e.kind == "incentive"
            ),
            D("0.00"),
        )
        assert ledger.balance(s, "mfr:service_cost") == incentives
        (alloc,) = _allocations(s, ticket_id)
        assert alloc.idempotency_key == f"costs:ticket:{ticket_id}"
        case = s.scalars(select(CostCase).where(CostCase.ticket_id == ticket_id)).one()
        assert (case.cause_class, case.centre, case.status) == ("quality", "factory", "recorded")
        assert case.parts == [{"code": w.PUMP, "name": "排水泵"}]
        assert len(case.evidence_ids) == 1
        assert s.get_one(Ticket, ticket_id).details["fault_cause"] == "component_failure"
        assert ledger.unbalanced_transactions(s) == []


def test_other_causes_are_the_market_and_sales_centre_s(db: Database, tmp_path: Path) -> None:
    _settled_job(db, tmp_path, "improper_installation")
    with db.session() as s:
        assert _balances(s, "sales") == {"parts": PARTS, "labour": LABOUR, "logistics": LOGISTICS}
        assert set(_balances(s, "factory").values()) == {D("0.00")}
        period = s.scalars(select(LedgerTransaction.period)).first()
        assert period is not None
        months = cost_flows.centre_months(s, period=period)
        sales = next(m for m in months if m.centre == "sales")
        assert sales.total == PARTS + LABOUR + LOGISTICS and len(sales.tickets) == 1


def test_settling_again_posts_nothing_more(db: Database, tmp_path: Path) -> None:
    ticket_id = _settled_job(db, tmp_path, "design_defect")
    with db.session() as s:
        ticket = s.get_one(Ticket, ticket_id)
        before = s.scalar(select(func.count(LedgerEntry.id)))
        period = _allocations(s, ticket_id)[0].period
        for _ in range(2):
            settlement_flows.settle_ticket(s, ticket=ticket, period=period, request=False)
            assert cost_flows.allocate(s, ticket=ticket, actor="t") == "unchanged"
        assert s.scalar(select(func.count(LedgerEntry.id))) == before
        assert len(_allocations(s, ticket_id)) == 1
        assert _balances(s, "factory")["parts"] == PARTS


def test_reclassifying_moves_the_lines_by_reversal(db: Database, tmp_path: Path) -> None:
    ticket_id = _settled_job(db, tmp_path, "component_failure")
    with db.session() as s:
        (first,) = _allocations(s, ticket_id)
        posted = [(e.id, e.account_id, e.amount) for e in first.entries]
        row = costs.get_case(s, ref=s.get_one(Ticket, ticket_id).number)
        # A reason is required; nothing moves without one.
        with pytest.raises(Invalid) as refused:
            cost_flows.appraise(s, row=row, action="reclassify", principal=QUALITY, reason="  ")
        assert refused.value.key == "costs.reason_required"
        with pytest.raises(Invalid):  # a cause of the same class is no reclassification
            cost_flows.appraise(
                s,
                row=row,
                action="reclassify",
                principal=QUALITY,
                reason="x",
                cause="design_defect",
            )
        assert row.case.status == "recorded" and len(_allocations(s, ticket_id)) == 1
        cost_flows.appraise(
            s,
            row=row,
            action="reclassify",
            principal=QUALITY,
            reason="进水口有泥沙，安装时未装过滤网",
            cause="improper_installation",
        )
    with db.session() as s:
        assert set(_balances(s, "factory").values()) == {D("0.00")}
        assert _balances(s, "sales") == {"parts": PARTS, "labour": LABOUR, "logistics": LOGISTICS}
        # The first allocation stands as posted; a reversal cancels it; v2 is the new one.
        first = s.get_one(LedgerTransaction, first.id)
        assert [(e.id, e.account_id, e.amount) for e in first.entries] == posted
        reversal = s.scalars(
            select(LedgerTransaction).where(LedgerTransaction.reverses_id == first.id)
        ).one()
        assert reversal.kind == "reversal"
        assert sorted(e.amount for e in reversal.entries) == sorted(-a for _i, _a2, a in posted)
        second = _allocations(s, ticket_id)[-1]
        assert second.idempotency_key == f"costs:ticket:{ticket_id}:v2"
        assert ledger.unbalanced_transactions(s) == []
        assert sum((b for _a, b in ledger.trial_balance(s)), D("0")) == D("0")
        case = s.scalars(select(CostCase).where(CostCase.ticket_id == ticket_id)).one()
        assert (case.status, case.centre, case.cause) == (
            "reclassified",
            "sales",
            "improper_installation",
        )
        assert case.recorded_cause == "component_failure"
        assert case.appraisal_reason == "进水口有泥沙，安装时未装过滤网"
        # Once appraised, the case stays: no second appraisal, no second move.
        row = costs.get_case(s, ref=s.get_one(Ticket, ticket_id).number)
        with pytest.raises(Conflict):
            cost_flows.appraise(s, row=row, action="confirm", principal=QUALITY)
        # The drill-down shows the factory's month netting to zero, line by line.
        period = second.period
        (factory_case,) = cost_flows.centre_cases(s, centre="factory", period=period)
        assert factory_case.total == D("0.00") and len(factory_case.lines) == 6


def test_confirming_leaves_the_lines_where_they_are(db: Database, tmp_path: Path) -> None:
    ticket_id = _settled_job(db, tmp_path, "manufacturing_defect")
    with db.session() as s:
        row = costs.get_case(s, ref=s.get_one(Ticket, ticket_id).number)
        cost_flows.appraise(s, row=row, action="confirm", principal=QUALITY)
        assert row.case.status == "confirmed"
        assert len(_allocations(s, ticket_id)) == 1
        assert _balances(s, "factory")["labour"] == LABOUR


def test_completion_needs_the_cause_and_a_quality_cause_a_photo(
    db: Database, tmp_path: Path
) -> None:
    with db.session() as s:
        c = w.crew(s)
        ticket = w.on_site(s, c)
        w.work_and_sign(s, c, ticket, tmp_path)
        with pytest.raises(Invalid) as missing:
            w.complete(s, c, ticket)
        assert missing.value.key == "costs.cause_missing"
        with pytest.raises(Invalid) as no_photo:
            w.record_cause(s, c, ticket, "component_failure", tmp_path, photo=False)
        assert no_photo.value.key == "costs.evidence_missing"
        with pytest.raises(Invalid):
            w.record_cause(s, c, ticket, "no_such_cause", tmp_path)
        # A non-quality cause needs no photo; changing it to quality later keeps that rule.
        w.record_cause(s, c, ticket, "improper_use", tmp_path, photo=False)
        with pytest.raises(Invalid):
            w.record_cause(s, c, ticket, "component_failure", tmp_path, photo=False)
        w.record_cause(s, c, ticket, "component_failure", tmp_path)
        w.complete(s, c, ticket)
        assert ticket.status in ("completed",)


def test_out_of_warranty_jobs_have_no_cost_centre_cause(db: Database, tmp_path: Path) -> None:
    with db.session() as s:
        c = w.crew(s)
        ticket = w.on_site(s, c, warranty_months=6)
        with pytest.raises(Conflict) as refused:
            w.record_cause(s, c, ticket, "component_failure", tmp_path)
        assert refused.value.key == "costs.not_in_warranty"
        assert costs.case_of(s, ticket_id=ticket.id) is None


def test_repeated_quality_problems_per_model_and_part(db: Database, tmp_path: Path) -> None:
    with db.session() as s:
        c = w.crew(s)
        numbers = []
        for cause in ("component_failure", "component_failure", "improper_installation"):
            ticket = w.on_site(s, c)
            w.record_cause(s, c, ticket, cause, tmp_path)
            w.work_and_sign(s, c, ticket, tmp_path)
            w.complete(s, c, ticket)
            numbers.append(ticket.number)
        (rep,) = costs.repeats(s)
        assert (rep.model_code, rep.part_code, rep.count) == (w.MODEL, w.PUMP, 2)
        assert [t.number for t in rep.tickets] == numbers[:2]
        assert rep.first is not None and rep.last is not None and rep.first <= rep.last
        assert costs.repeats(s, minimum=3) == []


def test_the_demo_gives_its_in_warranty_jobs_only_causes_the_warranty_covers(
    demo_db: Database,
) -> None:
    """The demo settled these jobs as in-warranty work: a misuse cause drawn for one would
    price it again as paid work nobody quoted (fees.NOT_COVERED)."""
    with demo_db.session() as s:
        rows = s.scalars(select(CostCase)).all()
        assert rows
        for case in rows:
            ticket = s.get_one(Ticket, case.ticket_id)
            assert case.completed_at is not None
            day = case.completed_at.astimezone(fees.LOCAL).date()
            assert fees.warranty(s, ticket=ticket, on=day).covered, (ticket.number, case.cause)
