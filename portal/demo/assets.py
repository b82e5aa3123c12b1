"""Demo asset records: the published warranty terms, fault codes with their usual measures,
a few bot tickets whose unit the engineer registered on completion, and how often customers
read the FAQ (so /my/help has a most-read list).

`mark` picks the bot repair plans whose unit is registered by completion (before the history
is written, which leaves those tickets without a unit until their `complete`); `seed`
writes the rest once the history exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.assets.models import Asset, Product, ProductModel
from portal.config import ROOT
from portal.demo.plan import Plan
from portal.field.models import WorkRecord
from portal.knowledge.models import KbEntryReads, KbRevision
from portal.masterdata.models import FaultCode, WarrantyTerm
from portal.parts.models import Part
from portal.tickets.models import Ticket

REGISTERED_BY_COMPLETION = 4


@dataclass(frozen=True, slots=True)
class TermSpec:
    """A category's (or product line's) published warranty."""

    category: str
    product: str
    unit_months: int
    main_part: str = ""
    main_part_months: int = 0


# What the FAQ entry warranty-period-overview says (tests/assets checks they agree).
WARRANTY_TERMS: tuple[TermSpec, ...] = (
    TermSpec("洗衣机", "", 36, "电机", 120),
    TermSpec("空调", "", 72, "压缩机", 120),
    TermSpec("冰箱", "", 36, "压缩机", 120),
    TermSpec("热水器", "", 36),
    TermSpec("热水器", "电热水器", 36, "内胆", 96),
    TermSpec("热水器", "燃气热水器", 36),
    TermSpec("油烟机", "", 12, "电机", 60),
    TermSpec("燃气灶", "", 12),
)


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """A fault code of a product line, its meaning and the usual fix."""

    product: str
    code: str
    description: str
    measures: tuple[str, ...]
    parts: tuple[str, ...]  # part names of the demo catalogue


FAULTS: tuple[FaultSpec, ...] = (
    FaultSpec(
        "滚筒洗衣机",
        "E21",
        "排水超时",
        ("清理排水过滤器", "疏通排水管", "更换排水泵", "单脱水试机正常"),
        ("排水泵",),
    ),
    FaultSpec(
        "波轮洗衣机",
        "E21",
        "排水超时",
        ("清理排水过滤器", "疏通排水管", "更换排水泵", "单脱水试机正常"),
        ("排水泵",),
    ),
    FaultSpec(
        "滚筒洗衣机",
        "E30",
        "门锁故障/门未关好",
        ("检查门锁开关接线", "更换门锁开关", "试机门锁正常"),
        ("门锁开关",),
    ),
    FaultSpec(
        "挂式空调",
        "E1",
        "室内环境温度传感器故障",
        ("检查传感器插头", "更换温度传感器", "试机制冷正常"),
        ("温度传感器",),
    ),
    FaultSpec(
        "柜式空调",
        "E1",
        "室内环境温度传感器故障",
        ("检查传感器插头", "更换温度传感器", "试机制冷正常"),
        ("温度传感器",),
    ),
    FaultSpec(
        "多门冰箱",
        "F5",
        "环境温度传感器故障",
        ("检查门铰链处传感器", "重新插接线束", "断电 10 分钟后试机正常"),
        ("温控器",),
    ),
    FaultSpec(
        "燃气热水器",
        "E1",
        "点火失败",
        ("确认燃气阀门已开", "清洁点火针", "更换点火针", "试机点火正常"),
        ("点火针",),
    ),
    FaultSpec(
        "燃气热水器",
        "E4",
        "风压过大/排烟受阻",
        ("清理排烟管", "检查风机转速", "试机出水正常"),
        ("水流传感器",),
    ),
)

# FAQ entries customers opened (demo counts): the most-read list ranks them.
READS: tuple[tuple[str, int], ...] = (
    ("wm-e21", 86),
    ("warranty-period-overview", 64),
    ("fee-invoice", 41),
    ("wm-e30", 27),
    ("warranty-proof", 19),
)
# FAQ entries an editor changed lately (days ago): the newest list ranks them.
EDITS: tuple[tuple[str, str, int], ...] = (
    ("warranty/policy.yaml", "warranty-period-overview", 2),
    ("fault_codes/washing_machine.yaml", "wm-e21", 5),
    ("warranty/policy.yaml", "warranty-proof", 9),
)


def mark(plans: Sequence[Plan]) -> None:
    """Pick the bot repair tickets whose unit the engineer registers on completion: the
    first completed ones on a unit no earlier ticket named."""
    seen: set[int] = set()
    picked = 0
    for plan in plans:
        unit_key = id(plan.unit.row)
        first_time = unit_key not in seen
        seen.add(unit_key)
        if picked == REGISTERED_BY_COMPLETION:
            continue
        if (
            first_time
            and plan.type == "repair"
            and plan.channel in ("web", "wechat")
            and plan.first("complete") is not None
            and not any(p is not plan and id(p.unit.row) == unit_key for p in plans)
        ):
            plan.unit_by_completion = True
            picked += 1


def _terms(session: Session) -> None:
    for t in WARRANTY_TERMS:
        session.add(
            WarrantyTerm(
                product_category=t.category,
                product=t.product,
                unit_months=t.unit_months,
                main_part=t.main_part,
                main_part_months=t.main_part_months,
            )
        )


def _faults(session: Session) -> None:
    parts = {(p.category, p.name): p.code for p in session.scalars(select(Part))}
    for spec in FAULTS:
        models = session.scalars(
            select(ProductModel)
            .join(Product, ProductModel.product_id == Product.id)
            .where(Product.name == spec.product)
            .order_by(ProductModel.code)
        ).all()
        for model in models:
            category = model.product.category
            session.add(
                FaultCode(
                    model_id=model.id,
                    code=spec.code,
                    description=spec.description,
                    measures=list(spec.measures),
                    parts=[parts.get((category, name), name) for name in spec.parts],
                )
            )


def _registered(session: Session, *, numbers: Sequence[str]) -> None:
    """The marked tickets: their work record with the measures ticked, and the unit as the
    engineer registered it on completion."""
    for number in numbers:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        arrive = next(e for e in reversed(ticket.events) if e.action == "arrive")
        done = next(e for e in ticket.events if e.action == "complete")
        unit = session.get_one(Asset, ticket.asset_id)
        unit.origin = "work_record"
        unit.registered_by = done.actor
        unit.purchase_date = unit.install_date
        unit.created_at = done.created_at
        faults = session.scalars(select(FaultCode).where(FaultCode.model_id == unit.model_id)).all()
        fault = faults[0] if faults else None
        measures = list(fault.measures[:2]) if fault else []
        solution = str(done.payload.get("solution") or "")
        session.add(
            WorkRecord(
                ticket_id=ticket.id,
                arrival_event_id=arrive.id,
                engineer_id=ticket.engineer_id,
                diagnosis=fault.description if fault else "",
                work_done="\n".join(x for x in ("；".join(measures), solution) if x),
                measures=measures,
                parts_used=[],
                photo_ids=[],
                created_at=arrive.created_at,
                updated_at=done.created_at,
            )
        )


def _reads(session: Session, *, now: datetime) -> None:
    for i, (entry_id, reads) in enumerate(READS):
        session.add(
            KbEntryReads(entry_id=entry_id, reads=reads, last_read_at=now - timedelta(hours=i))
        )
    faq = ROOT / "knowledge_base" / "faq"
    for path, entry_id, days in EDITS:
        entries = yaml.safe_load((faq / path).read_text(encoding="utf-8")) or []
        entry = next((e for e in entries if e.get("id") == entry_id), None)
        if entry is None:
            continue
        text = yaml.safe_dump(entry, allow_unicode=True, sort_keys=False)
        session.add(
            KbRevision(
                created_at=now - timedelta(days=days),
                entry_id=entry_id,
                action="edit",
                path=str(Path(path)),
                actor="user:editor",
                actor_name="editor",
                before=text,
                after=text,
            )
        )


def seed_terms(session: Session) -> None:
    """Warranty terms and fault codes: master data the history's pricing already reads."""
    _terms(session)
    session.flush()


def seed(session: Session, *, now: datetime, registered: Sequence[str]) -> None:
    """Fault codes with their measures, the units registered on completion (the tickets
    `registered`), FAQ reads."""
    _faults(session)
    session.flush()
    _registered(session, numbers=registered)
    _reads(session, now=now)
    session.flush()
