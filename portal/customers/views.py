"""Customer JSON routes and the customers' own sign-in with a one-time code."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import JSONResponse

from portal.config import Settings
from portal.customers import service
from portal.customers.models import Customer
from portal.customers.schemas import (
    AddressRead,
    CodeRequest,
    CodeSent,
    CodeVerify,
    CustomerPage,
    CustomerRead,
    CustomerToken,
    CustomerUpdate,
)
from portal.database import SessionDep
from portal.errors import Forbidden, Invalid, NotFound, error_response
from portal.security import CurrentPrincipal, Principal, issue_customer_token, require_roles

router = APIRouter(prefix="/customers", tags=["customers"])
auth_router = APIRouter(prefix="/customer-auth", tags=["customers"])

Desk = Annotated[Principal, require_roles("agent", "dispatcher", "bot")]
PURPOSE = "sign_in"
# Bounded like the column (int4), so an absurd id is a 422, not a driver overflow (500).
CustomerId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def to_read(customer: Customer) -> CustomerRead:
    """The API shape of a customer."""
    return CustomerRead(
        id=customer.id,
        name=customer.name,
        phone=customer.phone,
        tier=customer.tier,
        wechat_openid=customer.wechat_openid,
        created_at=customer.created_at,
        phones=[customer.phone, *(p.phone for p in customer.phones)],
        addresses=[AddressRead.model_validate(a) for a in customer.addresses],
    )


@auth_router.post("/code", response_model=CodeSent, status_code=status.HTTP_202_ACCEPTED)
def request_code(data: CodeRequest, request: Request, session: SessionDep) -> CodeSent:
    """Send a 6-digit code to the phone (SMS through the outbox); one a minute."""
    settings: Settings = request.app.state.settings
    service.request_code(
        session,
        secret=settings.secret_key,
        phone=data.phone,
        purpose=PURPOSE,
        ttl_s=settings.otp_ttl_s,
        demo_mode=settings.demo_mode,
        channel=data.channel,
        external_id=data.external_id,
    )
    return CodeSent(expires_in=settings.otp_ttl_s)


@auth_router.post(
    "/verify",
    response_model=CustomerToken,
    responses={422: {"description": "Wrong, used or expired code"}},
)
def verify_code(
    data: CodeVerify, request: Request, session: SessionDep
) -> CustomerToken | JSONResponse:
    """Check the code; returns the customer's token and binds the channel identity if given."""
    settings: Settings = request.app.state.settings
    try:
        customer = service.verify_code(
            session,
            secret=settings.secret_key,
            phone=data.phone,
            code=data.code,
            purpose=PURPOSE,
            channel=data.channel,
            external_id=data.external_id,
        )
    except Invalid as exc:
        # Answered, not raised, so the counted attempt is committed and 5 misses burn the code.
        return error_response(exc)
    return CustomerToken(
        access_token=issue_customer_token(settings, customer.id), customer_id=customer.id
    )


@router.get("", response_model=CustomerPage)
def list_customers(
    session: SessionDep,
    _p: Desk,
    q: Annotated[str | None, Query(max_length=64)] = None,
    tier: Annotated[str | None, Query(pattern=r"^(normal|vip)$")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> CustomerPage:
    """Customers by name or phone."""
    rows, total = service.list_customers(session, q=q, tier=tier, page=page, page_size=page_size)
    return CustomerPage(
        items=[to_read(c) for c in rows], total=total, page=page, page_size=page_size
    )


def _visible_customer(session: SessionDep, customer_id: int, principal: Principal) -> Customer:
    may = principal.role in {"admin", "agent", "dispatcher", "bot"} or (
        principal.customer_id == customer_id
    )
    if not may:
        raise NotFound("object.customer")
    return service.get_customer(session, customer_id=customer_id)


@router.get("/{customer_id}", response_model=CustomerRead)
def get_customer(
    customer_id: CustomerId, session: SessionDep, principal: CurrentPrincipal
) -> CustomerRead:
    """One customer (desk staff, or the customer themselves)."""
    return to_read(_visible_customer(session, customer_id, principal))


@router.patch("/{customer_id}", response_model=CustomerRead)
def update_customer(
    customer_id: CustomerId,
    data: CustomerUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> CustomerRead:
    """Change a customer's name or tier (desk staff)."""
    customer = _visible_customer(session, customer_id, principal)
    if principal.role not in {"admin", "agent", "dispatcher"}:
        raise Forbidden("error.forbidden")
    for key, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(customer, key, value)
    session.flush()
    return to_read(customer)
