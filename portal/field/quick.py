"""Quick repair entry: per fault code, the measures and parts an engineer ticks instead of
typing them.

Where the list comes from, in this order:

1. The fault code's master data (`FaultCode.measures` and `FaultCode.parts`, the 常用措施 /
   常用备件 columns of the master-data workbook's 故障码 sheet): the ticket's model's row, else
   the rows of every model of its category with that code (a bot ticket often names only
   the category).
2. Topped up with what engineers recorded most often for the same fault code and category:
   the measures ticked on earlier work records (`WorkRecord.measures`) and the parts fitted
   on them, most frequent first.

The fault code is the ticket's `details["fault_code"]` when intake stored one, else the first
code in the fault description (E21, F3 …), read the way the quality reports read it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.analytics.sql import fault_code
from portal.assets.models import Product, ProductModel
from portal.assets.service import category_of
from portal.consults.models import Consult
from portal.field.models import WorkRecord
from portal.masterdata.models import FaultCode
from portal.parts.models import Part
from portal.sop.service import ticket_product
from portal.tickets.models import Ticket

MAX_MEASURES = 8
MAX_PARTS = 6
# Earlier work records looked at for the most frequent measures (the newest ones).
HISTORY_WINDOW = 500


@dataclass(frozen=True, slots=True)
class QuickPart:
    """A part to tick: by code when the catalogue knows it, else by name."""

    ref: str
    name: str


@dataclass(slots=True)
class QuickList:
    """The fault code's measures and parts to tick, and how often each measure was used."""

    code: str
    measures: list[str] = field(default_factory=list)
    parts: list[QuickPart] = field(default_factory=list)
    used: dict[str, int] = field(default_factory=dict)  # measure -> times recorded
    expert: list[str] = field(default_factory=list)  # measures an expert advised on this job


def code_of(ticket: Ticket) -> str:
    """The ticket's fault code, or ''."""
    stored = ticket.details.get("fault_code") if isinstance(ticket.details, dict) else None
    if isinstance(stored, str) and stored.strip():
        return stored.strip().upper()[:16]
    return fault_code(ticket.fault_description)


def _category(session: Session, ticket: Ticket) -> str:
    found = ticket_product(session, ticket=ticket)
    return found.category or category_of(session, product=ticket.product)


def _master_rows(session: Session, *, ticket: Ticket, code: str, category: str) -> list[FaultCode]:
    model = ticket_product(session, ticket=ticket).model
    if model is not None:
        own = list(
            session.scalars(
                select(FaultCode).where(FaultCode.model_id == model.id, FaultCode.code == code)
            )
        )
        if own:
            return own
    if not category:
        return []
    return list(
        session.scalars(
            select(FaultCode)
            .join(ProductModel, FaultCode.model_id == ProductModel.id)
            .join(Product, ProductModel.product_id == Product.id)
            .where(Product.category == category, FaultCode.code == code)
            .order_by(ProductModel.code)
        )
    )


def _recorded(
    session: Session, *, ticket: Ticket, code: str, category: str
) -> tuple[Counter[str], Counter[str], dict[str, str]]:
    """Measures and parts of earlier work records on the same fault code and category."""
    rows = session.execute(
        select(WorkRecord, Ticket)
        .join(Ticket, WorkRecord.ticket_id == Ticket.id)
        .where(WorkRecord.ticket_id != ticket.id)
        .order_by(WorkRecord.id.desc())
        .limit(HISTORY_WINDOW)
    ).all()
    measures: Counter[str] = Counter()
    parts: Counter[str] = Counter()
    names: dict[str, str] = {}
    for record, other in rows:
        if code_of(other) != code or _category(session, other) != category:
            continue
        measures.update(str(m) for m in record.measures or [] if str(m).strip())
        for line in record.parts_used or []:
            ref = str(line.get("part_code") or line.get("name") or "").strip()
            if ref:
                parts[ref] += 1
                names.setdefault(ref, str(line.get("name") or ref))
    return measures, parts, names


def expert_measures(session: Session, *, ticket: Ticket) -> list[str]:
    """The measures experts advised in this job's consults (建议措施), oldest first: the
    engineer ticks one instead of typing it again."""
    rows = session.scalars(
        select(Consult.measure)
        .where(Consult.ticket_id == ticket.id, Consult.measure != "")
        .order_by(Consult.id)
    )
    return list(dict.fromkeys(m.strip() for m in rows if m.strip()))


def quick_list(session: Session, *, ticket: Ticket) -> QuickList:
    """What the engineer can tick on this ticket's work record: the experts' advice first, then
    the fault code's usual measures and parts (none without a fault code)."""
    code = code_of(ticket)
    out = QuickList(code=code, expert=expert_measures(session, ticket=ticket))
    if not code:
        out.measures = list(out.expert)
        return out
    category = _category(session, ticket)
    master = _master_rows(session, ticket=ticket, code=code, category=category)
    measures: list[str] = list(out.expert)
    refs: list[str] = []
    for row in master:
        measures += [str(m) for m in row.measures or [] if str(m).strip() not in measures]
        refs += [str(p) for p in row.parts or [] if str(p).strip() not in refs]
    counted, fitted, names = _recorded(session, ticket=ticket, code=code, category=category)
    for measure, _n in counted.most_common():
        if measure not in measures:
            measures.append(measure)
    for ref, _n in fitted.most_common():
        if ref not in refs:
            refs.append(ref)
    catalogue = {
        p.code: p.name
        for p in session.scalars(select(Part).where(Part.code.in_(refs[: MAX_PARTS * 2])))
    }
    out.measures = measures[: MAX_MEASURES + len(out.expert)]
    out.parts = [QuickPart(r, catalogue.get(r) or names.get(r, r)) for r in refs][:MAX_PARTS]
    out.used = {m: counted[m] for m in out.measures if counted[m]}
    return out


def work_done_text(measures: list[str], typed: str) -> str:
    """The work record's text: the ticked measures on the first line, then what was typed."""
    first = "；".join(measures)
    typed = typed.strip()
    return "\n".join(t for t in (first, typed) if t)
