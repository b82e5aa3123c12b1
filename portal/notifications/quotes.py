"""What a quote and a finished job tell the customer and the engineer, written into the
outbox in the transaction that sends the quote, records the answer or completes the job.

- A sent quote goes to each of the customer's channels (`flows.customer_channels`): to the
  chat widget as a card with its lines and two buttons the widget answers over HTTP (the
  button payloads carry the quote's token); to WeChat as the `quote` kind's template message
  (or, without one, a customer-service message or an SMS) and by SMS, each with the link to
  the ticket's page under /my where the customer accepts or declines.
- An answer tells the engineer (their in-portal notification; the field app polls the quote)
  and leaves the answer in the customer's chat.
- A completed visit leaves the work record's summary, the fee and the receipt's link there.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from portal.database import utcnow
from portal.fees.models import Quote
from portal.i18n import Lang, Term, t
from portal.notifications import service
from portal.notifications.flows import customer_channels, notify_staff, ticket_params
from portal.notifications.models import Notification
from portal.settlement import memos
from portal.tickets.models import Ticket

# What the widget's quote buttons send: "quote:<accept|reject>:<token>" (static/widget).
BUTTON_PREFIX = "quote:"
SUMMARY_CHARS = 60


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _summary(quote: Quote) -> str:
    """The quote in one short phrase (for an SMS or a WeChat text): the visit, labour and
    mileage together, then each part."""
    service = sum((ln.amount for ln in quote.lines if ln.kind != "part"), Decimal("0"))
    items = [t("quote.summary_service", amount=_money(service))]
    items += [
        f"{ln.description.split('（')[0]}×{ln.quantity} ¥{_money(ln.amount)}"
        + (t("quote.to_order_mark") if ln.to_order else "")
        for ln in quote.lines
        if ln.kind == "part"
    ]
    text = "、".join(items)
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def _card_lines(quote: Quote, lang: Lang = "zh") -> str:
    """The quote's lines as a Markdown list in `lang` (the widget renders the card from it)."""
    out = []
    colon = "：" if lang == "zh" else ": "
    for ln in quote.lines:
        times = f" ×{ln.quantity}" if ln.kind == "part" else ""
        mark = t("quote.to_order_mark", lang) if ln.to_order else ""
        out.append(f"- {memos.described(ln, lang)}{times}{mark}{colon}¥{_money(ln.amount)}")
    if any(ln.to_order for ln in quote.lines):
        out.append("\n" + t("quote.to_order_note", lang))
    return "\n".join(out)


def quote_sent(
    session: Session,
    *,
    ticket: Ticket,
    quote: Quote,
    link: str,
    token: str,
    at: datetime | None = None,
) -> list[Notification]:
    """The quote on each customer channel, once per channel (`quote:<id>:sent:<channel>`)."""
    now = at or utcnow()
    params: dict[str, Any] = {
        **ticket_params(session, ticket),
        "quote_number": quote.number,
        "amount": _money(quote.total),
        "summary": _summary(quote),
        "link": link,
    }
    out = []
    for channel, recipient in customer_channels(session, ticket):
        payload = dict(params)
        template = "quote_sent"
        if channel == "widget":
            template = "quote_card"
            payload["lines"] = Term(_card_lines(quote, "zh"), _card_lines(quote, "en"))
            payload["buttons"] = [
                {
                    "title": t(f"quote.{action}", "zh"),
                    "title_en": t(f"quote.{action}", "en"),
                    "payload": f"{BUTTON_PREFIX}{action}:{token}",
                }
                for action in ("accept", "reject")
            ]
        out.append(
            service.enqueue(
                session,
                key=f"quote:{quote.id}:sent:{channel}",
                channel=channel,
                recipient=recipient,
                template=template,
                payload=payload,
                ticket_id=ticket.id,
                at=now,
            )
        )
    return out


def quote_decided(
    session: Session, *, ticket: Ticket, quote: Quote, at: datetime | None = None
) -> list[Notification]:
    """The answer: to the engineer of the job, and into the customer's chat."""
    now = at or utcnow()
    accepted = quote.status == "accepted"
    params: dict[str, Any] = {
        **ticket_params(session, ticket),
        "quote_number": quote.number,
        "amount": _money(quote.total),
    }
    out = []
    engineer = service.engineer_user(session, engineer_id=ticket.engineer_id)
    if engineer is not None:
        out += notify_staff(
            session,
            user_ids=[engineer],
            template="quote_accepted_staff" if accepted else "quote_rejected_staff",
            key=f"quote:{quote.id}:decided",
            params=params,
            ticket_id=ticket.id,
            at=now,
        )
    for channel, recipient in customer_channels(session, ticket):
        if channel != "widget":
            continue  # WeChat and SMS answered on the page; the chat keeps what was said
        out.append(
            service.enqueue(
                session,
                key=f"quote:{quote.id}:decided:{channel}",
                channel=channel,
                recipient=recipient,
                template="quote_accepted" if accepted else "quote_rejected",
                payload=params,
                ticket_id=ticket.id,
                at=now,
            )
        )
    return out


def quote_withdrawn(
    session: Session, *, ticket: Ticket, quote: Quote, at: datetime | None = None
) -> list[Notification]:
    """The engineer took the quote back: each customer channel is told it no longer stands
    (`quote:<id>:withdrawn:<channel>`), so no one answers a price that is gone."""
    now = at or utcnow()
    params: dict[str, Any] = {
        **ticket_params(session, ticket),
        "quote_number": quote.number,
        "amount": _money(quote.total),
    }
    return [
        service.enqueue(
            session,
            key=f"quote:{quote.id}:withdrawn:{channel}",
            channel=channel,
            recipient=recipient,
            template="quote_withdrawn",
            payload=params,
            ticket_id=ticket.id,
            at=now,
        )
        for channel, recipient in customer_channels(session, ticket)
    ]


def work_done(
    session: Session,
    *,
    ticket: Ticket,
    visit: int,
    work_done: str,
    fee: Decimal,
    link: str,
    at: datetime | None = None,
) -> list[Notification]:
    """The finished visit's summary, its fee (none in warranty) and the receipt's link, on
    each customer channel, once per visit (`ticket:<id>:receipt:<visit>:<channel>`)."""
    now = at or utcnow()
    params: dict[str, Any] = {
        **ticket_params(session, ticket),
        "work_done": work_done if len(work_done) <= 80 else work_done[:79] + "…",
        "amount": _money(fee),
        "link": link,
    }
    template = "work_receipt" if fee > 0 else "work_receipt_free"
    out = []
    for channel, recipient in customer_channels(session, ticket):
        # The chat renders Markdown: the receipt is a link there, the bare address elsewhere.
        receipt = f"[{t('my.receipt.link')}]({link})" if channel == "widget" else link
        out.append(
            service.enqueue(
                session,
                key=f"ticket:{ticket.id}:receipt:{visit}:{channel}",
                channel=channel,
                recipient=recipient,
                template=template,
                payload={**params, "receipt": receipt},
                ticket_id=ticket.id,
                at=now,
            )
        )
    return out
