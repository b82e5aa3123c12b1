"""Settlement pages for finance and network managers: the month's statements, one statement
with every figure drilling down to its tickets and lines, and one ticket's postings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response

from portal.database import SessionDep
from portal.errors import Forbidden, PortalError
from portal.fees import service as fees
from portal.i18n import both
from portal.security import Principal
from portal.settlement import flows, ledger
from portal.settlement import service as settlement
from portal.templating import (
    PAGE_ROUTER_OPTIONS,
    Staff,
    flash,
    flash_error,
    render,
    see_other,
)
from portal.tickets import service as tickets

router = APIRouter(**PAGE_ROUTER_OPTIONS)

MONEY_ROLES = frozenset({"admin", "finance", "network_manager"})
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
PeriodQuery = Annotated[str | None, Query(pattern=r"^(20\d{2}-(0[1-9]|1[0-2]))?$")]


def money_staff(user: Staff) -> Principal:
    """Finance, admins and network managers (theirs only)."""
    if user.role not in MONEY_ROLES:
        raise Forbidden("error.forbidden")
    return user


MoneyUser = Annotated[Principal, Depends(money_staff)]


@router.get("/settlement", response_class=Response)
def statements_page(
    request: Request,
    session: SessionDep,
    user: MoneyUser,
    period: PeriodQuery = None,
    party: Annotated[str | None, Query(pattern=r"^(network|engineer)?$")] = None,
) -> Response:
    """The statements, newest month first, with totals per party."""
    network_id = user.network_id if user.role == "network_manager" else None
    if user.role == "network_manager" and network_id is None:
        network_id = -1
    rows = settlement.list_statements(
        session, period=period or None, party=party or None, network_id=network_id
    )
    return render(
        request,
        "settlement/list.html",
        {
            "rows": rows,
            "names": {st.id: settlement.party_name(session, st) for st in rows},
            "period": period or "",
            "party": party or "",
            "deposit": settlement.deposit_balance(session, network_id=network_id)
            if network_id and network_id > 0
            else None,
        },
    )


@router.get("/settlement/statements/{statement_id}", response_class=Response)
def statement_page(
    request: Request,
    statement_id: IdPath,
    session: SessionDep,
    user: MoneyUser,
    kind: Annotated[str | None, Query(max_length=24)] = None,
) -> Response:
    """One statement: totals by kind, each a link to its lines; lines grouped by ticket."""
    st = settlement.get_statement(session, statement_id=statement_id, principal=user)
    tks = {tk.id: tk for tk in settlement.statement_tickets(session, statement=st)}
    lines = [ln for ln in st.lines if not kind or ln.kind == kind]
    by_ticket: dict[int | None, list[object]] = {}
    for ln in lines:
        by_ticket.setdefault(ln.ticket_id, []).append(ln)
    actions = [
        a
        for a, (sources, _target, roles) in settlement.WORKFLOW.items()
        if st.status in sources and user.role in roles
    ]
    return render(
        request,
        "settlement/statement.html",
        {
            "st": st,
            "name": settlement.party_name(session, st),
            "tickets": tks,
            "by_ticket": by_ticket,
            "kind": kind,
            "actions": actions,
            "subtotal": sum((ln.amount for ln in lines), ledger.ZERO),
        },
    )


@router.post("/settlement/statements/{statement_id}", response_class=Response)
def statement_act(
    request: Request,
    statement_id: IdPath,
    session: SessionDep,
    user: MoneyUser,
    action: Annotated[str, Form(pattern=r"^(confirm|dispute|resolve|approve|pay|comment)$")],
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """A workflow step (or a plain comment) from the statement page."""
    st = settlement.get_statement(session, statement_id=statement_id, principal=user)
    back = f"/settlement/statements/{st.id}"
    try:
        with session.begin_nested():
            if action == "comment":
                settlement.add_comment(session, statement=st, principal=user, body=comment)
            else:
                settlement.act(
                    session, statement=st, action=action, principal=user, comment=comment
                )
                if action == "pay":
                    flows.settle_paid_tickets(session, statement_id=st.id, principal=user)
                elif action == "resolve":
                    settlement.generate_statements(
                        session, period=st.period, network_id=st.network_id
                    )
    except PortalError as exc:
        flash_error(request, exc)
        return see_other(back)
    zh, en = both("settlement.done")
    flash(request, "ok", zh, en)
    return see_other(back)


@router.get("/settlement/tickets/{ref}", response_class=Response)
def ticket_page(
    request: Request,
    ref: Annotated[str, Path(min_length=1, max_length=32)],
    session: SessionDep,
    user: MoneyUser,
) -> Response:
    """One ticket's money: how it was priced and every posting made for it."""
    ticket = tickets.get_ticket(session, ref=ref, principal=user)
    txns = flows.ticket_entries(session, ticket_id=ticket.id)
    if user.role == "network_manager":
        shown = {
            t.id: [e for e in t.entries if e.account.network_id == user.network_id] for t in txns
        }
    else:
        shown = {t.id: list(t.entries) for t in txns}
    return render(
        request,
        "settlement/ticket.html",
        {
            "ticket": ticket,
            "pricing": fees.price_ticket(session, ticket=ticket),
            "txns": txns,
            "shown": shown,
            "quotes": fees.quotes_of(session, ticket_id=ticket.id),
            "receipts": fees.receipts_of(session, ticket_id=ticket.id),
        },
    )
