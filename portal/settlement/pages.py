"""Settlement pages for finance and network managers: the month's statements, one statement
with every figure drilling down to its tickets and lines, and one ticket's postings."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import Response
from pydantic import StringConstraints, ValidationError
from sqlalchemy import select

from portal.accounts.service import actor_names
from portal.assets.models import Product
from portal.database import SessionDep
from portal.errors import Conflict, Invalid, NotFound, PortalError
from portal.fees import service as fees
from portal.fees.models import DistanceBand, RateCard, RateLine
from portal.i18n import Lang, both, t
from portal.ids import IdPath
from portal.networks.models import ServiceNetwork
from portal.security import Principal
from portal.settlement import flows, ledger, policies
from portal.settlement import service as settlement
from portal.settlement.models import LedgerEntry, LedgerTransaction
from portal.settlement.policies import FINANCE, MONEY, FinancePage, MoneyPage
from portal.settlement.schemas import DepositIn, RateCardIn
from portal.templating import (
    PAGE_ROUTER_OPTIONS,
    flash,
    flash_error,
    render,
    request_lang,
    see_other,
    shanghai_today,
)
from portal.tickets import service as tickets

router = APIRouter(**PAGE_ROUTER_OPTIONS)

# Who opens these pages (the nav's links follow it): the `settlement.money` policy.
MONEY_ROLES = MONEY.roles
PeriodQuery = Annotated[str | None, Query(pattern=r"^(20\d{2}-(0[1-9]|1[0-2]))?$")]


MoneyUser = MoneyPage


@router.get("/settlement", response_class=Response)
def statements_page(
    request: Request,
    session: SessionDep,
    user: MoneyUser,
    period: PeriodQuery = None,
    party: Annotated[str | None, Query(pattern=r"^(network|engineer)?$")] = None,
) -> Response:
    """The statements, newest month first, with totals per party."""
    scope = MONEY.scope(user)
    network_id = None if scope.everything else (scope.network_id or -1)
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
            "tab": "statements",
            "may_cards": FINANCE.allows(user),
        },
    )


def _reversals(session: SessionDep, *, entry_ids: list[int]) -> dict[int, LedgerTransaction]:
    """For the statement lines that come from a reversal, the posting each reverses."""
    if not entry_ids:
        return {}
    rows = session.execute(
        select(LedgerEntry.id, LedgerTransaction.reverses_id)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerEntry.id.in_(entry_ids), LedgerTransaction.kind == "reversal")
    ).all()
    originals = {
        txn.id: txn
        for txn in session.scalars(
            select(LedgerTransaction).where(
                LedgerTransaction.id.in_({r for _, r in rows if r is not None})
            )
        )
    }
    return {eid: originals[rid] for eid, rid in rows if rid in originals}


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
    reversals = _reversals(session, entry_ids=[ln.entry_id for ln in lines])
    actions = [
        a
        for a, (sources, _target) in settlement.WORKFLOW.items()
        if st.status in sources and policies.may_take_step(user, a)
    ]
    return render(
        request,
        "settlement/statement.html",
        {
            "st": st,
            "name": settlement.party_name(session, st),
            "tickets": tks,
            "by_ticket": by_ticket,
            "reversals": reversals,
            "actors": actor_names(session, [c.author for c in st.comments], request_lang(request)),
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
    quotes = fees.quotes_of(session, ticket_id=ticket.id)
    txns = flows.ticket_entries(session, ticket_id=ticket.id)
    scope = MONEY.scope(user)
    if not scope.everything:
        shown = {
            t.id: [e for e in t.entries if e.account.network_id == scope.network_id] for t in txns
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
            "quotes": quotes,
            # What the customer wrote when declining, beside the quote they declined.
            "decline_reasons": {q.id: flows.decline_reason(ticket, q) for q in quotes},
            "receipts": fees.receipts_of(session, ticket_id=ticket.id),
        },
    )


# ---- deposits (押金) ----------------------------------------------------------------------


def _deposit_network(session: SessionDep, user: Principal, network_id: int) -> ServiceNetwork:
    """The network whose deposit the caller may read: finance any, a manager their own (any
    other is a 404, as one that does not exist)."""
    scope = MONEY.scope(user)
    network = session.get(ServiceNetwork, network_id)
    if network is None or not (scope.everything or scope.network_id == network_id):
        raise NotFound("object.network")
    return network


@router.get("/settlement/deposits", response_class=Response)
def deposits_page(request: Request, session: SessionDep, user: MoneyUser) -> Response:
    """Every network's deposit (finance); a network manager goes straight to their own."""
    scope = MONEY.scope(user)
    if not scope.everything:
        if scope.network_id is None:
            raise NotFound("object.network")
        return see_other(f"/settlement/deposits/{scope.network_id}")
    networks = list(session.scalars(select(ServiceNetwork).order_by(ServiceNetwork.code)))
    return render(
        request,
        "settlement/deposits.html",
        {
            "rows": [(n, settlement.deposit_balance(session, network_id=n.id)) for n in networks],
            "tab": "deposits",
            "may_cards": FINANCE.allows(user),
        },
    )


def _deposit_context(
    session: SessionDep, user: Principal, network: ServiceNetwork, lang: Lang
) -> dict[str, Any]:
    entries = settlement.deposit_entries(session, network_id=network.id)
    running = ledger.ZERO
    history: list[dict[str, Any]] = []
    for e in entries:
        # The deposit account is a liability: a credit (negative) is money the platform holds.
        change = -e.amount
        running += change
        history.append({"entry": e, "txn": e.transaction, "change": change, "after": running})
    history.reverse()
    return {
        "network": network,
        "balance": settlement.deposit_balance(session, network_id=network.id),
        "history": history,
        # Staff by name, the system's own postings as the system (a tester read
        # "service:demo-finance"), as every page names who did what.
        "names": actor_names(session, [h["txn"].posted_by for h in history], lang),
        "may_move": FINANCE.allows(user),
        "actions": settlement.DEPOSIT_ACTIONS,
        "tab": "deposits",
        "may_cards": FINANCE.allows(user),
    }


@router.get("/settlement/deposits/{network_id}", response_class=Response)
def deposit_page(
    request: Request, network_id: IdPath, session: SessionDep, user: MoneyUser
) -> Response:
    """One network's deposit: the balance, every movement with its reason, and (finance) the
    form that records a top-up, a deduction or a refund."""
    network = _deposit_network(session, user, network_id)
    context = _deposit_context(session, user, network, request_lang(request))
    context["form"] = {"action": "receive", "amount": "", "memo": "", "key": uuid.uuid4().hex}
    return render(request, "settlement/deposit.html", context)


@router.post("/settlement/deposits/{network_id}", response_class=Response)
def deposit_move(
    request: Request,
    network_id: IdPath,
    session: SessionDep,
    user: FinancePage,
    action: Annotated[str, Form(max_length=16)] = "",
    amount: Annotated[str, Form(max_length=20)] = "",
    memo: Annotated[str, Form(max_length=400)] = "",
    key: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Record a movement of the deposit with its reason. The form's key posts it once, so a
    second click (or a reload) records nothing more."""
    network = _deposit_network(session, user, network_id)
    form = {"action": action, "amount": amount, "memo": memo, "key": key}
    error = ""
    if not memo.strip():
        error = form_message(request, Invalid("ui.deposit.reason_needed", field="memo"))
    elif not key.strip():
        error = form_message(request, Invalid("validation.missing", field="key"))
    else:
        try:
            data = DepositIn.model_validate(
                {"action": action, "amount": amount.strip(), "memo": memo.strip()}
            )
            with session.begin_nested():
                settlement.move_deposit(
                    session,
                    network_id=network.id,
                    action=data.action,
                    amount=data.amount,
                    key=f"{network.id}:page:{key.strip()}",
                    principal=user,
                    memo=data.memo,
                )
        except ValidationError as exc:
            error = form_message(request, exc, labels=DEPOSIT_LABELS)
        except PortalError as exc:
            error = form_message(request, exc)
    if error:
        context = _deposit_context(session, user, network, request_lang(request))
        context.update(form=form, error=error)
        return render(request, "settlement/deposit.html", context, status_code=422)
    what_zh, what_en = both(f"settlement.deposit.{data.action}")
    amount_text = f"{data.amount:,.2f}"
    flash(
        request,
        "ok",
        t("ui.deposit.recorded", "zh", what=what_zh, amount=amount_text),
        t("ui.deposit.recorded", "en", what=what_en, amount=amount_text),
    )
    return see_other(f"/settlement/deposits/{network.id}")


# ---- rate cards (价目表) --------------------------------------------------------------------

LINE_FIELDS = (
    "service_type",
    "product_category",
    "warranty",
    "service_fee",
    "included_minutes",
    "hour_rate",
    "engineer_pay",
    "engineer_hour_rate",
)
BAND_FIELDS = ("min_km", "max_km", "fee", "engineer_pay")
BLANK_ROWS = 3
# A form field's label (the error messages name it as the form does).
DEPOSIT_LABELS = {
    "action": "ui.deposit.action",
    "amount": "ui.deposit.amount",
    "memo": "ui.deposit.memo",
}
CARD_LABELS = {
    "code": "ui.ratecard.code",
    "name": "ui.ratecard.name",
    "effective_from": "ui.ratecard.effective_from",
    **{f: f"ui.ratecard.col.{f}" for f in LINE_FIELDS},
    **{f"band.{f}": f"ui.ratecard.band.{f}" for f in BAND_FIELDS},
}
Texts = Annotated[list[Annotated[str, StringConstraints(max_length=100)]], Form()]


def form_message(
    request: Request,
    exc: ValidationError | PortalError,
    *,
    labels: dict[str, str] | None = None,
) -> str:
    """Why a form was refused, in the reader's language, each field named as the form names
    it (a rate card's line or band also by its row number)."""
    lang = request_lang(request)
    if isinstance(exc, PortalError):
        return exc.message_zh if lang == "zh" else exc.message_en
    out = []
    for err in exc.errors():
        loc = [p for p in err.get("loc", ()) if p != "body"]
        row = next((p for p in loc if isinstance(p, int)), None)
        names = [str(p) for p in loc if not isinstance(p, int)]
        field = names[-1] if names else ""
        key = f"band.{field}" if names[:1] == ["bands"] else field
        label = t(labels[key], lang) if labels and key in labels else field
        if row is not None:
            which = "ui.ratecard.band_row" if names[:1] == ["bands"] else "ui.ratecard.line_row"
            label = t(which, lang, n=row + 1) + " " + label
        kind = err.get("type", "")
        message = "validation.missing" if kind == "missing" else "validation.invalid"
        if kind in ("too_short",) and field in ("lines",):
            out.append(t("ui.ratecard.lines_needed", lang))
            continue
        out.append(t(message, lang, field_name=label))
    return ("；" if lang == "zh" else "; ").join(out) or t("error.invalid_request", lang)


def _card_values(card: RateCard | None) -> dict[str, Any]:
    """A form's values from a card (an edit starts from the version it edits)."""
    if card is None:
        return {
            "code": "",
            "name": "",
            "effective_from": (shanghai_today() + timedelta(days=1)).isoformat(),
            "lines": [],
            "bands": [],
        }
    start = max(shanghai_today(), card.effective_from) + timedelta(days=1)
    return {
        "code": card.code,
        "name": card.name,
        "effective_from": start.isoformat(),
        "lines": [{f: str(getattr(ln, f)) for f in LINE_FIELDS} for ln in card.lines],
        "bands": [
            {f: "" if getattr(b, f) is None else str(getattr(b, f)) for f in BAND_FIELDS}
            for b in card.bands
        ],
    }


def _last_days(cards: list[RateCard]) -> dict[int, str]:
    """Each card's last day in force (its `effective_to` is the first day it is not)."""
    return {
        c.id: (c.effective_to - timedelta(days=1)).isoformat()
        for c in cards
        if c.effective_to is not None
    }


def _card_state(card: RateCard, today: date) -> str:
    if card.effective_from > today:
        return "scheduled"
    if card.effective_to is not None and card.effective_to <= today:
        return "ended"
    return "current"


def _card_form(
    request: Request,
    session: SessionDep,
    *,
    values: dict[str, Any],
    editing: RateCard | None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    blank_line = dict.fromkeys(LINE_FIELDS, "")
    blank_line.update(service_type="*", product_category="*", warranty="out")
    categories = sorted(set(session.scalars(select(Product.category).distinct())))
    return render(
        request,
        "settlement/rate_card_form.html",
        {
            "values": values,
            "line_rows": values["lines"] + [blank_line] * BLANK_ROWS,
            "band_rows": values["bands"] + [dict.fromkeys(BAND_FIELDS, "")] * BLANK_ROWS,
            "editing": editing,
            "latest": _latest(session, editing.code) if editing else None,
            "categories": categories,
            "service_types": ("*", "installation", "repair", "maintenance"),
            "error": error,
            "tab": "rate_cards",
            "may_cards": True,
        },
        status_code=status_code,
    )


def _latest(session: SessionDep, code: str) -> RateCard | None:
    return session.scalars(
        select(RateCard).where(RateCard.code == code).order_by(RateCard.version.desc())
    ).first()


def _get_card(session: SessionDep, card_id: int) -> RateCard:
    card = session.get(RateCard, card_id)
    if card is None:
        raise NotFound("object.rate_card")
    return card


@router.get("/settlement/rate-cards", response_class=Response)
def rate_cards_page(request: Request, session: SessionDep, user: FinancePage) -> Response:
    """Every rate card, each code's newest version first, with the days each is in force."""
    today = shanghai_today()
    cards = fees.list_cards(session)
    return render(
        request,
        "settlement/rate_cards.html",
        {
            "cards": cards,
            "states": {c.id: _card_state(c, today) for c in cards},
            "last_days": _last_days(cards),
            "tab": "rate_cards",
            "may_cards": True,
        },
    )


@router.get("/settlement/rate-cards/new", response_class=Response)
def new_rate_card(request: Request, session: SessionDep, user: FinancePage) -> Response:
    """The form for a new rate card."""
    return _card_form(request, session, values=_card_values(None), editing=None)


@router.get("/settlement/rate-cards/{card_id}", response_class=Response)
def rate_card_page(
    request: Request, card_id: IdPath, session: SessionDep, user: FinancePage
) -> Response:
    """One version of a rate card: its lines and distance bands, and its other versions."""
    card = _get_card(session, card_id)
    today = shanghai_today()
    versions = [c for c in fees.list_cards(session) if c.code == card.code]
    return render(
        request,
        "settlement/rate_card.html",
        {
            "card": card,
            "state": _card_state(card, today),
            "versions": versions,
            "states": {c.id: _card_state(c, today) for c in versions},
            "last_days": _last_days(versions),
            "tab": "rate_cards",
            "may_cards": True,
        },
    )


@router.get("/settlement/rate-cards/{card_id}/edit", response_class=Response)
def edit_rate_card(
    request: Request, card_id: IdPath, session: SessionDep, user: FinancePage
) -> Response:
    """Edit a rate card: the form starts from this version and saves the next one (versions
    are never changed in place, so what was settled on one stays as it was)."""
    card = _get_card(session, card_id)
    return _card_form(request, session, values=_card_values(card), editing=card)


def _rows(fields: tuple[str, ...], columns: dict[str, list[str]]) -> list[dict[str, str]]:
    """The form's table rows from its columns (each field posted once a row)."""
    count = max((len(v) for v in columns.values()), default=0)
    return [
        {f: (columns[f][i] if i < len(columns[f]) else "").strip() for f in fields}
        for i in range(count)
    ]


@router.post("/settlement/rate-cards", response_class=Response)
def save_rate_card(
    request: Request,
    session: SessionDep,
    user: FinancePage,
    code: Annotated[str, Form(max_length=64)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    effective_from: Annotated[str, Form(max_length=20)] = "",
    edits: Annotated[str, Form(max_length=12)] = "",
    service_type: Texts = [],  # noqa: B006  (FastAPI copies defaults)
    product_category: Texts = [],  # noqa: B006
    warranty: Texts = [],  # noqa: B006
    service_fee: Texts = [],  # noqa: B006
    included_minutes: Texts = [],  # noqa: B006
    hour_rate: Texts = [],  # noqa: B006
    engineer_pay: Texts = [],  # noqa: B006
    engineer_hour_rate: Texts = [],  # noqa: B006
    band_min_km: Texts = [],  # noqa: B006
    band_max_km: Texts = [],  # noqa: B006
    band_fee: Texts = [],  # noqa: B006
    band_engineer_pay: Texts = [],  # noqa: B006
) -> Response:
    """Save a new rate card, or (`edits`: the version edited) the next version of one. A
    refused form comes back as typed, with the reason."""
    editing = _get_card(session, int(edits)) if edits.isdigit() else None
    if editing is not None:
        code = editing.code  # an edit never moves a card to another code
    lines = _rows(
        LINE_FIELDS,
        {
            "service_type": service_type,
            "product_category": product_category,
            "warranty": warranty,
            "service_fee": service_fee,
            "included_minutes": included_minutes,
            "hour_rate": hour_rate,
            "engineer_pay": engineer_pay,
            "engineer_hour_rate": engineer_hour_rate,
        },
    )
    bands = _rows(
        BAND_FIELDS,
        {
            "min_km": band_min_km,
            "max_km": band_max_km,
            "fee": band_fee,
            "engineer_pay": band_engineer_pay,
        },
    )
    # A row left as the form offered it (no money typed) is not a line.
    lines = [ln for ln in lines if ln["service_fee"] or ln["engineer_pay"] or ln["hour_rate"]]
    bands = [b for b in bands if b["min_km"] or b["max_km"] or b["fee"] or b["engineer_pay"]]
    values: dict[str, Any] = {
        "code": code.strip(),
        "name": name.strip(),
        "effective_from": effective_from.strip(),
        "lines": lines,
        "bands": bands,
    }
    try:
        if editing is None and _latest(session, values["code"]) is not None:
            raise Conflict("ui.ratecard.code_taken", code=values["code"])
        data = RateCardIn.model_validate(
            {
                **values,
                "lines": [
                    {k: v for k, v in ln.items() if v != "" or k in ("service_fee", "engineer_pay")}
                    for ln in lines
                ],
                "bands": [
                    {k: v for k, v in b.items() if v != "" or k in ("min_km", "fee")} for b in bands
                ],
            }
        )
        with session.begin_nested():
            card = fees.add_card(
                session,
                code=data.code,
                name=data.name,
                effective_from=data.effective_from,
                lines=[RateLine(**line.model_dump()) for line in data.lines],
                bands=[DistanceBand(**band.model_dump()) for band in data.bands],
            )
    except (ValidationError, PortalError) as exc:
        if editing is not None:
            session.refresh(editing)
        return _card_form(
            request,
            session,
            values=values,
            editing=editing,
            error=form_message(request, exc, labels=CARD_LABELS),
            status_code=422,
        )
    zh, en = both("ui.ratecard.saved", code=card.code, version=card.version)
    flash(request, "ok", zh, en)
    return see_other(f"/settlement/rate-cards/{card.id}")
