"""One small factory per model, writing through a real Session (`with db.session() as s:`).

Tickets are opened by `tickets.service.create_ticket` and moved by `tickets.lifecycle.apply`,
so a factory-made ticket has the same events a real one would. Staff users share one cheap
password hash, computed once when this module is imported.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.assets.models import Asset, Product, ProductModel
from portal.config import Settings
from portal.conversations.models import Conversation
from portal.customers.models import Customer, CustomerAddress
from portal.dispatch.models import DispatchVisit
from portal.networks.models import Engineer, EngineerSkill, ServiceNetwork
from portal.security import Principal, issue_customer_token, issue_token
from portal.tickets import lifecycle, service
from portal.tickets.models import Ticket, TicketAttachment, TicketComment
from portal.tickets.schemas import TicketCreate

PASSWORD = "factory-pass"
# Minimal argon2 cost: tests create dozens of users, and verify_password reads the cost from
# the hash itself, so logins still work through the real endpoint.
PASSWORD_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)

_seq = itertools.count(1)


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# A real (red, 4x4) PNG image.
PNG = _png(4, 4)


def _n() -> int:
    return next(_seq)


def phone() -> str:
    """A fresh, valid mainland mobile number."""
    return f"139{_n():08d}"


def network(session: Session, *, city: str = "上海", **fields: Any) -> ServiceNetwork:
    """A service network (网点) in a city."""
    n = _n()
    row = ServiceNetwork(
        code=fields.pop("code", f"NET{n:04d}"),
        name=fields.pop("name", f"{city}第{n}网点"),
        city=city,
        coverage=fields.pop("coverage", []),
        **fields,
    )
    session.add(row)
    session.flush()
    return row


def user(
    session: Session, *, role: str, network: ServiceNetwork | None = None, **fields: Any
) -> User:
    """A staff member with the shared test password."""
    n = _n()
    row = User(
        username=fields.pop("username", f"{role}{n}"),
        display_name=fields.pop("display_name", f"{role} {n}"),
        password_hash=fields.pop("password_hash", PASSWORD_HASH),
        role=role,
        network_id=network.id if network else None,
        **fields,
    )
    session.add(row)
    session.flush()
    return row


def engineer(
    session: Session,
    *,
    network: ServiceNetwork,
    skills: tuple[tuple[str, str], ...] = (("洗衣机", "repair"),),
    **fields: Any,
) -> Engineer:
    """A field engineer of the network, with a login (role engineer) and skills."""
    login = user(session, role="engineer", network=network)
    row = Engineer(
        user_id=login.id,
        network_id=network.id,
        name=fields.pop("name", f"工程师{login.id}"),
        phone=fields.pop("phone", phone()),
        **fields,
    )
    session.add(row)
    session.flush()
    for category, service_type in skills:
        skill(session, engineer=row, product_category=category, service_type=service_type)
    session.refresh(row)
    return row


def skill(
    session: Session,
    *,
    engineer: Engineer,
    product_category: str,
    service_type: str,
    level: int = 1,
) -> EngineerSkill:
    """One skill of an engineer."""
    row = EngineerSkill(
        engineer_id=engineer.id,
        product_category=product_category,
        service_type=service_type,
        level=level,
    )
    session.add(row)
    session.flush()
    return row


def product(session: Session, *, category: str = "洗衣机", **fields: Any) -> Product:
    """A product line."""
    row = Product(category=category, name=fields.pop("name", f"{category}{_n()}"), **fields)
    session.add(row)
    session.flush()
    return row


def product_model(
    session: Session, *, product_: Product | None = None, warranty_months: int = 12
) -> ProductModel:
    """A model code of a product (a new product when none is given)."""
    n = _n()
    row = ProductModel(
        product_id=(product_ or product(session)).id,
        code=f"WM-{n:04d}",
        name=f"型号{n}",
        warranty_months=warranty_months,
    )
    session.add(row)
    session.flush()
    return row


def address(session: Session, *, customer: Customer, **fields: Any) -> CustomerAddress:
    """An address of the customer."""
    row = CustomerAddress(
        customer_id=customer.id,
        label=fields.pop("label", "家"),
        city=fields.pop("city", "上海"),
        district=fields.pop("district", "浦东新区"),
        detail=fields.pop("detail", f"世纪大道{_n()}号"),
        lat=fields.pop("lat", Decimal("31.230000")),
        lng=fields.pop("lng", Decimal("121.470000")),
        is_default=fields.pop("is_default", True),
        **fields,
    )
    session.add(row)
    session.flush()
    return row


def asset(
    session: Session,
    *,
    customer: Customer,
    address_: CustomerAddress | None = None,
    model: ProductModel | None = None,
    install_date: date | None = date(2025, 1, 1),
) -> Asset:
    """An installed unit at the customer."""
    model = model or product_model(session)
    row = Asset(
        serial_number=f"SN{_n():08d}",
        model_id=model.id,
        customer_id=customer.id,
        address_id=address_.id if address_ else None,
        install_date=install_date,
        warranty_end=install_date + relativedelta(months=model.warranty_months)
        if install_date
        else None,
    )
    session.add(row)
    session.flush()
    return row


def customer(
    session: Session, *, with_asset: bool = True, phone_: str | None = None, **fields: Any
) -> Customer:
    """A customer with a default address and (unless told otherwise) one asset there."""
    row = Customer(phone=phone_ or phone(), name=fields.pop("name", f"客户{_n()}"), **fields)
    session.add(row)
    session.flush()
    home = address(session, customer=row)
    if with_asset:
        asset(session, customer=row, address_=home)
    session.refresh(row)
    return row


def conversation(session: Session, *, channel: str = "web", **fields: Any) -> Conversation:
    """A conversation thread on a channel."""
    n = _n()
    row = Conversation(
        public_id=fields.pop("public_id", f"conv{n:06d}"),
        channel=channel,
        sender_id=fields.pop("sender_id", f"visitor{n}"),
        **fields,
    )
    session.add(row)
    session.flush()
    return row


def ticket(
    session: Session,
    *,
    customer: Customer,
    actions: tuple[str, ...] = (),
    engineer: Engineer | None = None,
    at: datetime | None = None,
    **fields: Any,
) -> Ticket:
    """A repair ticket of the customer, moved by `actions` through the lifecycle.

    Intake is complete (so "accept" passes the template); "dispatch" assigns `engineer`.
    `at` dates the creation and every action (for tickets in the past).
    """
    home = customer.addresses[0] if customer.addresses else None
    data = TicketCreate(
        **{
            "product": "洗衣机",
            "fault_description": "滚筒不转了",
            "fault_started": "昨天",
            "preferred_time": "2026-12-08 08:00-20:00",
            "phone": customer.phone,
            "address": home.full if home else "上海浦东新区世纪大道1号",
            "city": home.city if home else "上海",
            "district": home.district if home else "浦东新区",
            **fields,
        }
    )
    row, _ = service.create_ticket(
        session, data=data, actor="service:factory", customer=customer, at=at
    )
    for action in actions:
        payload: dict[str, Any] = {}
        if action == "dispatch":
            assert engineer is not None, "dispatch needs an engineer"
            payload = {"network_id": engineer.network_id, "engineer_id": engineer.id}
        if action == "evaluate":
            payload = {"score": 5, "comment": ""}
        lifecycle.apply(
            session, ticket=row, action=action, actor="system:factory", payload=payload, at=at
        )
        if action == "dispatch":
            row.network_id, row.engineer_id = engineer.network_id, engineer.id  # type: ignore[union-attr]
    session.flush()
    return row


def comment(
    session: Session, *, ticket: Ticket, body: str = "已电话联系客户", internal: bool = True
) -> TicketComment:
    """A note on the ticket."""
    row = TicketComment(ticket_id=ticket.id, author="system:factory", body=body, internal=internal)
    session.add(row)
    session.flush()
    return row


def attachment(
    session: Session, *, ticket: Ticket, root: Path, data: bytes = PNG, filename: str = "photo.png"
) -> TicketAttachment:
    """A file on the ticket, stored under `root` by the real attachment service."""
    uploader = Principal(kind="service", role="bot", name="factory")
    return service.save_attachment(
        session,
        ticket=ticket,
        filename=filename,
        data=data,
        principal=uploader,
        root=root,
        max_bytes=len(data),
    )


def bearer(settings: Settings, who: User | Customer | str) -> dict[str, str]:
    """Authorization headers for a staff user, a customer, or "bot" (the service token)."""
    if isinstance(who, str):
        assert who == "bot"
        token = settings.bot_service_token
    elif isinstance(who, Customer):
        token = issue_customer_token(settings, who.id)
    else:
        token = issue_token(settings, who)
    return {"Authorization": f"Bearer {token}"}


def headers_for(
    session: Session, settings: Settings, role: str, *, network: ServiceNetwork | None = None
) -> dict[str, str]:
    """Authorization headers for a new staff user of this role ("bot": the service token)."""
    if role == "bot":
        return bearer(settings, "bot")
    if role == "engineer":
        assert network is not None, "an engineer belongs to a network"
        eng = engineer(session, network=network)
        return bearer(settings, session.get_one(User, eng.user_id))
    return bearer(settings, user(session, role=role, network=network))


def route_eta(session: Session, ticket: Ticket, *, engineer_id: int, eta: datetime) -> None:
    """The visit dispatch booked for a ticket gets a published route's ETA, on a day the
    customer asked for (an ETA on another day than the one asked promises nothing)."""
    day = eta.astimezone(ZoneInfo("Asia/Shanghai")).date()
    visit = session.scalars(
        select(DispatchVisit).where(DispatchVisit.ticket_id == ticket.id)
    ).first()
    if visit is None:
        visit = DispatchVisit(ticket_id=ticket.id, engineer_id=engineer_id)
        session.add(visit)
    visit.visit_date, visit.eta = day, eta
    ticket.details = {**(ticket.details or {}), "preferred_time": f"{day} 08:00-20:00"}
    session.flush()
