"""Settlement JSON routes under /api/v1/settlement: rate cards, pricing, quotes and receipts,
the ledger, settlement runs, statements and deposits. Thin; the rules live in the services.

Finance does everything money; a network manager sees their network's statements, confirms or
disputes them and reads its deposit; an engineer reads their own statements and quotes and
records receipts on their tickets; a customer reads and answers the quotes of their tickets.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from sqlalchemy import select

from portal.config import Settings
from portal.database import SessionDep, utcnow
from portal.errors import Invalid, NotFound
from portal.fees import service as fees
from portal.fees.models import DistanceBand, Quote, RateCard, RateLine, Receipt
from portal.i18n import t
from portal.ids import IdPath
from portal.networks.models import ServiceNetwork
from portal.security import Principal, Role
from portal.settlement import flows, ledger, memos, policies
from portal.settlement import service as settlement
from portal.settlement.models import LedgerEntry, LedgerTransaction, SettlementRun, Statement
from portal.settlement.policies import (
    CardReader,
    Cashier,
    Decider,
    Finance,
    MoneyReader,
    Pricer,
    QuoteReader,
    StatementReader,
)
from portal.settlement.schemas import (
    AccountBalance,
    CommentIn,
    CommentRead,
    DepositIn,
    DepositRead,
    EntryRead,
    GenerateIn,
    PricedPartRead,
    PricingRead,
    QuoteDecision,
    QuoteRead,
    RateCardIn,
    RateCardRead,
    ReceiptIn,
    ReceiptRead,
    ReverseIn,
    RuleIn,
    RuleRead,
    RunIn,
    RunRead,
    SettleOutcome,
    StatementAction,
    StatementLineRead,
    StatementRead,
    StatementSummary,
    TransactionRead,
    TrialBalance,
)
from portal.tickets import service as tickets

router = APIRouter(prefix="/settlement", tags=["settlement"])

RefPath = Annotated[str, Path(min_length=1, max_length=32)]
Key = Annotated[str, Header(min_length=1, max_length=128)]

MoneyReaders = MoneyReader
StatementReaders = StatementReader
CardReaders = CardReader
Pricers = Pricer
QuoteReaders = QuoteReader
Deciders = Decider
Cashiers = Cashier


# ---- rate cards and pricing --------------------------------------------------------------


@router.get("/rate-cards", response_model=list[RateCardRead])
def rate_cards(session: SessionDep, principal: CardReaders) -> list[RateCard]:
    """Every rate card version."""
    return fees.list_cards(session)


@router.post("/rate-cards", response_model=RateCardRead, status_code=201)
def add_rate_card(data: RateCardIn, session: SessionDep, principal: Finance) -> RateCard:
    """A new version of a rate card (the previous version ends the day it starts)."""
    return fees.add_card(
        session,
        code=data.code,
        name=data.name,
        effective_from=data.effective_from,
        lines=[RateLine(**line.model_dump()) for line in data.lines],
        bands=[DistanceBand(**band.model_dump()) for band in data.bands],
    )


@router.get("/tickets/{ref}/pricing", response_model=PricingRead)
def pricing(ref: RefPath, session: SessionDep, principal: Pricers) -> PricingRead:
    """What the ticket's job is worth: warranty, rate card line, time, mileage, parts."""
    ticket = tickets.get_ticket(session, ref=ref, principal=principal)
    p = fees.price_ticket(session, ticket=ticket, planned=True)
    return PricingRead(
        warranty=p.warranty.code,
        warranty_reason=p.warranty.reason,
        service_type=p.service_type,
        category=p.category,
        rate_card=f"{p.card.code} v{p.card.version}" if p.card else None,
        on_site_minutes=p.on_site_minutes,
        extra_half_hours=p.extra_half_hours,
        distance_km=p.distance_km,
        service_fee=p.service_fee,
        labour_time_fee=p.labour_time_fee,
        mileage_fee=p.mileage_fee,
        engineer_pay=p.engineer_pay,
        engineer_time_pay=p.engineer_time_pay,
        engineer_mileage=p.engineer_mileage,
        parts=[
            PricedPartRead(
                part_code=x.part.code,
                name=x.part.name,
                quantity=x.quantity,
                cost=x.cost,
                price=x.price,
            )
            for x in p.parts
        ],
        customer_total=p.customer_total,
    )


# ---- quotes and receipts -----------------------------------------------------------------


@router.get("/tickets/{ref}/quotes", response_model=list[QuoteRead])
def quotes(ref: RefPath, session: SessionDep, principal: QuoteReaders) -> list[Quote]:
    """The ticket's quotes, newest first."""
    ticket = tickets.get_ticket(session, ref=ref, principal=principal)
    return fees.quotes_of(session, ticket_id=ticket.id)


@router.post("/tickets/{ref}/quotes", response_model=QuoteRead, status_code=201)
def quote(ref: RefPath, request: Request, session: SessionDep, principal: Pricers) -> Quote:
    """Price the job for the customer and send the quote (supersedes an open one); the
    customer is told on their channels."""
    settings: Settings = request.app.state.settings
    ticket = tickets.get_ticket(session, ref=ref, principal=principal)
    row = fees.create_quote(session, ticket=ticket, actor=principal.actor)
    link_base = settings.public_url or str(request.base_url)
    flows.announce_quote(
        session, ticket=ticket, quote=row, link_base=link_base, secret=settings.secret_key
    )
    return row


@router.post("/quotes/{quote_id}/decision", response_model=QuoteRead)
def decide(
    quote_id: IdPath, data: QuoteDecision, session: SessionDep, principal: Deciders
) -> Quote:
    """The customer accepts or rejects a quote (an agent may record their answer)."""
    row = fees.get_quote(session, quote_id=quote_id)
    try:
        tickets.get_ticket(session, ref=str(row.ticket_id), principal=principal)
    except NotFound:
        raise NotFound("object.quote") from None
    return flows.decide_quote(session, quote=row, accept=data.accept, actor=principal.actor)


@router.get("/tickets/{ref}/receipts", response_model=list[ReceiptRead])
def receipts(ref: RefPath, session: SessionDep, principal: QuoteReaders) -> list[Receipt]:
    """What the customer paid on the ticket."""
    ticket = tickets.get_ticket(session, ref=ref, principal=principal)
    return fees.receipts_of(session, ticket_id=ticket.id)


@router.post("/tickets/{ref}/receipts", response_model=ReceiptRead, status_code=201)
def add_receipt(ref: RefPath, data: ReceiptIn, session: SessionDep, principal: Cashiers) -> Receipt:
    """Record the customer's payment; the receipt is kept with the ticket."""
    ticket = tickets.get_ticket(session, ref=ref, principal=principal)
    row = fees.record_receipt(
        session,
        ticket=ticket,
        amount=data.amount,
        method=data.method,
        actor=principal.actor,
        note=data.note,
    )
    tickets.add_comment(
        session,
        ticket=ticket,
        body=t("settlement.payment_comment", number=row.number, amount=row.amount),
        internal=False,
        principal=principal,
    )
    return row


# ---- the ledger --------------------------------------------------------------------------


def entry_read(e: LedgerEntry) -> EntryRead:
    """The API shape of an entry."""
    return EntryRead(
        id=e.id,
        account=e.account.code,
        account_name=e.account.name,
        account_name_en=ledger.account_label(e.account, "en"),
        amount=e.amount,
        kind=e.kind,
        rule=e.rule,
        memo=memos.of(e, "zh"),
        memo_en=memos.of(e, "en"),
        ticket_id=e.ticket_id,
    )


def transaction_read(t: LedgerTransaction) -> TransactionRead:
    """The API shape of a transaction."""
    return TransactionRead(
        id=t.id,
        idempotency_key=t.idempotency_key,
        kind=t.kind,
        description=memos.described(t, "zh"),
        description_en=memos.described(t, "en"),
        ticket_id=t.ticket_id,
        run_id=t.run_id,
        reverses_id=t.reverses_id,
        period=t.period,
        created_at=t.created_at,
        entries=[entry_read(e) for e in t.entries],
    )


def _network_entries_only(
    txns: list[LedgerTransaction], principal: Principal
) -> list[TransactionRead]:
    out = []
    for txn in txns:
        read = transaction_read(txn)
        if principal.role is Role.NETWORK_MANAGER:
            read.entries = [
                e
                for e, raw in zip(read.entries, txn.entries, strict=True)
                if raw.account.network_id == principal.network_id
            ]
        out.append(read)
    return out


@router.get("/tickets/{ref}/lines", response_model=list[TransactionRead])
def ticket_lines(ref: RefPath, session: SessionDep, principal: MoneyReaders) -> list[object]:
    """Every posting of the ticket: settlement lines, corrections, receipts."""
    ticket = tickets.get_ticket(session, ref=ref, principal=principal)
    return list(
        _network_entries_only(flows.ticket_entries(session, ticket_id=ticket.id), principal)
    )


@router.post("/tickets/{ref}/settle", response_model=SettleOutcome)
def settle(ref: RefPath, session: SessionDep, principal: Finance) -> SettleOutcome:
    """Settle (or correct) one ticket now, into the month of its evaluation."""
    ticket = tickets.get_ticket(session, ref=ref, principal=principal)
    evaluated = next((e for e in reversed(ticket.events) if e.action == "evaluate"), None)
    if evaluated is None:
        raise Invalid("settlement.not_evaluated", field="ref")
    out = flows.settle_ticket(
        session,
        ticket=ticket,
        period=ledger.period_of(evaluated.created_at),
        actor=principal.actor,
    )
    return SettleOutcome(
        ticket_id=out.ticket_id, result=out.result, transaction_id=out.transaction_id
    )


@router.post(
    "/transactions/{transaction_id}/reversal", response_model=TransactionRead, status_code=201
)
def reverse(
    transaction_id: IdPath, data: ReverseIn, session: SessionDep, principal: Finance
) -> TransactionRead:
    """Cancel a posting with its mirror image (once)."""
    txn = ledger.get_transaction(session, transaction_id=transaction_id)
    out, _ = ledger.reverse(
        session,
        txn=txn,
        actor=principal.actor,
        period=ledger.period_of(utcnow()),
        reason=data.reason,
    )
    return transaction_read(out)


@router.get("/trial-balance", response_model=TrialBalance)
def trial_balance(session: SessionDep, principal: Finance) -> TrialBalance:
    """Every account's balance; the total is zero."""
    rows = ledger.trial_balance(session)
    return TrialBalance(
        accounts=[
            AccountBalance(code=a.code, name=a.name, kind=a.kind, balance=b) for a, b in rows
        ],
        total=sum((b for _, b in rows), ledger.ZERO),
    )


@router.get("/rules", response_model=list[RuleRead])
def rules(session: SessionDep, principal: MoneyReaders) -> list[object]:
    """The incentive and penalty rules."""
    return list(settlement.list_rules(session))


@router.put("/rules/{code}", response_model=RuleRead)
def save_rule(
    code: Annotated[str, Path(min_length=1, max_length=48, pattern=r"^[a-z0-9_]+$")],
    data: RuleIn,
    session: SessionDep,
    principal: Finance,
) -> object:
    """Create or change a rule."""
    return settlement.save_rule(session, code=code, **data.model_dump())


# ---- runs --------------------------------------------------------------------------------


@router.post(
    "/runs",
    response_model=RunRead,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": RunRead, "description": "Replayed: this key already ran"}},
)
def run(
    data: RunIn,
    session: SessionDep,
    principal: Finance,
    response: Response,
    idempotency_key: Key,
) -> SettlementRun:
    """Settle every ticket evaluated in the month and draft its statements. The
    `Idempotency-Key` header is required: the same key again answers the first run (200)."""
    row, created = flows.run_settlement(
        session, period=data.period, key=idempotency_key, actor=principal.actor
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return row


@router.get("/runs", response_model=list[RunRead])
def runs(session: SessionDep, principal: Finance) -> list[SettlementRun]:
    """Settlement runs, newest first."""
    return list(session.scalars(select(SettlementRun).order_by(SettlementRun.id.desc())))


# ---- statements --------------------------------------------------------------------------


def statement_summary(session: SessionDep, st: Statement) -> StatementSummary:
    """A statement for a list."""
    return StatementSummary(
        id=st.id,
        number=st.number,
        party=st.party,
        party_name=settlement.party_name(session, st),
        network_id=st.network_id,
        engineer_id=st.engineer_id or None,
        period=st.period,
        status=st.status,
        total=st.total,
    )


def statement_read(session: SessionDep, st: Statement) -> StatementRead:
    """A statement with its lines and comments."""
    numbers = {t.id: t.number for t in settlement.statement_tickets(session, statement=st)}
    return StatementRead(
        id=st.id,
        number=st.number,
        party=st.party,
        party_name=settlement.party_name(session, st),
        network_id=st.network_id,
        engineer_id=st.engineer_id or None,
        period=st.period,
        status=st.status,
        total=st.total,
        summary={k: ledger.money(v) for k, v in st.summary.items()},
        lines=[
            StatementLineRead(
                id=ln.id,
                entry_id=ln.entry_id,
                ticket_id=ln.ticket_id,
                ticket_number=numbers.get(ln.ticket_id) if ln.ticket_id else None,
                kind=ln.kind,
                rule=ln.rule,
                memo=memos.of(ln, "zh"),
                memo_en=memos.of(ln, "en"),
                amount=ln.amount,
            )
            for ln in st.lines
        ],
        comments=[CommentRead.model_validate(c) for c in st.comments],
    )


@router.get("/statements", response_model=list[StatementSummary])
def statements(
    session: SessionDep,
    principal: StatementReaders,
    period: Annotated[str | None, Query(pattern=r"^20\d{2}-(0[1-9]|1[0-2])$")] = None,
    party: Annotated[str | None, Query(pattern=r"^(network|engineer)$")] = None,
    status_: Annotated[
        str | None, Query(alias="status", pattern=r"^(draft|confirmed|approved|paid|disputed)$")
    ] = None,
) -> list[StatementSummary]:
    """Monthly statements the caller may see."""
    scope = policies.STATEMENTS.scope(principal)
    if scope.nothing:
        return []
    engineer_id = scope.engineer_id
    network_id = None if scope.everything or engineer_id is not None else scope.network_id
    if engineer_id is not None:
        party = "engineer"
    rows = settlement.list_statements(
        session,
        period=period,
        party=party,
        network_id=network_id,
        engineer_id=engineer_id,
        status=status_,
    )
    return [statement_summary(session, st) for st in rows]


@router.post("/statements", response_model=list[StatementSummary])
def generate(data: GenerateIn, session: SessionDep, principal: Finance) -> list[StatementSummary]:
    """Draft (or refresh the drafts of) a month's statements."""
    rows = settlement.generate_statements(session, period=data.period)
    return [statement_summary(session, st) for st in rows]


@router.get("/statements/{statement_id}", response_model=StatementRead)
def statement(
    statement_id: IdPath, session: SessionDep, principal: StatementReaders
) -> StatementRead:
    """A statement, every line naming its ticket."""
    st = settlement.get_statement(session, statement_id=statement_id, principal=principal)
    return statement_read(session, st)


@router.post("/statements/{statement_id}/actions", response_model=StatementRead)
def statement_action(
    statement_id: IdPath, data: StatementAction, session: SessionDep, principal: MoneyReaders
) -> StatementRead:
    """confirm (the network), dispute (the network, with a comment), resolve (finance, with a
    comment: back to draft), approve (finance), pay (finance: posts the payment)."""
    st = settlement.get_statement(session, statement_id=statement_id, principal=principal)
    settlement.act(
        session, statement=st, action=data.action, principal=principal, comment=data.comment
    )
    if data.action == "pay":
        flows.settle_paid_tickets(session, statement_id=st.id, principal=principal)
    elif data.action == "resolve":
        settlement.generate_statements(session, period=st.period, network_id=st.network_id)
    return statement_read(session, st)


@router.post("/statements/{statement_id}/comments", response_model=CommentRead, status_code=201)
def statement_comment(
    statement_id: IdPath, data: CommentIn, session: SessionDep, principal: StatementReaders
) -> object:
    """A note on a statement."""
    st = settlement.get_statement(session, statement_id=statement_id, principal=principal)
    return settlement.add_comment(session, statement=st, principal=principal, body=data.body)


@router.get(
    "/statements/{statement_id}/export",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/csv": {},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
            },
            "description": "The statement as CSV or Excel",
        }
    },
)
def export(
    statement_id: IdPath,
    session: SessionDep,
    principal: StatementReaders,
    format: Annotated[str, Query(pattern=r"^(csv|xlsx)$")] = "csv",
) -> Response:
    """Download a statement as CSV or Excel."""
    st = settlement.get_statement(session, statement_id=statement_id, principal=principal)
    if format == "xlsx":
        body = settlement.export_xlsx(session, statement=st)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body = settlement.export_csv(session, statement=st)
        media = "text/csv"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{st.number}.{format}"'},
    )


# ---- deposits ----------------------------------------------------------------------------


@router.get("/deposits/{network_id}", response_model=DepositRead)
def deposit(network_id: IdPath, session: SessionDep, principal: MoneyReaders) -> DepositRead:
    """A network's deposit (押金) and its history."""
    scope = policies.MONEY.scope(principal)
    if not scope.everything and scope.network_id != network_id:
        raise NotFound("object.network")
    if session.get(ServiceNetwork, network_id) is None:
        raise NotFound("object.network")
    return DepositRead(
        network_id=network_id,
        balance=settlement.deposit_balance(session, network_id=network_id),
        entries=[entry_read(e) for e in settlement.deposit_entries(session, network_id=network_id)],
    )


@router.post("/deposits/{network_id}", response_model=TransactionRead, status_code=201)
def move_deposit(
    network_id: IdPath,
    data: DepositIn,
    session: SessionDep,
    principal: Finance,
    idempotency_key: Key,
) -> TransactionRead:
    """Take, deduct from or refund a deposit; the same `Idempotency-Key` posts once."""
    txn = settlement.move_deposit(
        session,
        network_id=network_id,
        action=data.action,
        amount=data.amount,
        key=f"{network_id}:{idempotency_key}",
        principal=principal,
        memo=data.memo,
    )
    return transaction_read(txn)
