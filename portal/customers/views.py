"""Customer JSON routes and the customers' own sign-in with a one-time code."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import select

from channels.rest.client_ip import request_address
from portal.config import Settings
from portal.customers import policies, service
from portal.customers.models import Customer
from portal.customers.policies import Editor, Lister, Reader
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
from portal.errors import Invalid, NotFound, error_response
from portal.ids import IdPath
from portal.privacy.masking import customer_phone
from portal.security import Principal, Scope, issue_customer_token

router = APIRouter(prefix="/customers", tags=["customers"])
auth_router = APIRouter(prefix="/customer-auth", tags=["customers"])

PURPOSE = "sign_in"


def to_read(customer: Customer, principal: Principal) -> CustomerRead:
    """The API shape of a customer, its phones as the caller may see them."""
    return CustomerRead(
        id=customer.id,
        name=customer.name,
        phone=customer_phone(principal, customer),
        tier=customer.tier,
        wechat_openid=customer.wechat_openid,
        created_at=customer.created_at,
        phones=[
            customer_phone(principal, customer, p)
            for p in (customer.phone, *(p.phone for p in customer.phones))
        ],
        addresses=[AddressRead.model_validate(a) for a in customer.addresses],
    )


def _requester(request: Request) -> str:
    """The client address the code limits count (behind TRUSTED_PROXIES, the forwarded one)."""
    settings: Settings = request.app.state.settings
    return service.ip_requester(request_address(request, settings.proxies))


def _inside_channel_only(data: CodeRequest) -> None:
    """A channel identity is bound from inside its channel (WeChat, the chat), never here:
    otherwise whoever proves their own phone could take over someone else's openid."""
    if data.channel or data.external_id:
        raise Invalid("error.identity_outside_channel", field="channel")


@auth_router.post(
    "/code",
    response_model=CodeSent,
    status_code=status.HTTP_202_ACCEPTED,
    responses={429: {"description": "Too soon, or over a cap; see Retry-After"}},
)
def request_code(
    data: CodeRequest, request: Request, session: SessionDep
) -> CodeSent | JSONResponse:
    """Send a 6-digit code to the phone (SMS through the outbox): one a minute, a few a day
    per phone and an hour per client address, within a daily SMS budget."""
    _inside_channel_only(data)
    settings: Settings = request.app.state.settings
    try:
        service.request_code(
            session,
            secret=settings.secret_key,
            phone=data.phone,
            purpose=PURPOSE,
            ttl_s=settings.otp_ttl_s,
            demo_mode=settings.demo_mode,
            requester=_requester(request),
            limits=service.CodeLimits.from_settings(settings),
        )
    except service.BudgetReached as exc:
        return error_response(exc)  # answered, so the admins' alarm is committed
    return CodeSent(expires_in=settings.otp_ttl_s)


@auth_router.post(
    "/verify",
    response_model=CustomerToken,
    responses={
        422: {"description": "Wrong, used or expired code"},
        429: {"description": "Too many wrong codes; see Retry-After"},
    },
)
def verify_code(
    data: CodeVerify, request: Request, session: SessionDep
) -> CustomerToken | JSONResponse:
    """Check the code; returns the customer's token."""
    _inside_channel_only(data)
    settings: Settings = request.app.state.settings
    try:
        customer = service.verify_code(
            session,
            secret=settings.secret_key,
            phone=data.phone,
            code=data.code,
            purpose=PURPOSE,
            requester=_requester(request),
            limits=service.CodeLimits.from_settings(settings),
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
    _p: Lister,
    q: Annotated[str | None, Query(max_length=64)] = None,
    tier: Annotated[str | None, Query(pattern=r"^(normal|vip)$")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> CustomerPage:
    """Customers by name or phone."""
    rows, total = service.list_customers(session, q=q, tier=tier, page=page, page_size=page_size)
    return CustomerPage(
        items=[to_read(c, _p) for c in rows], total=total, page=page, page_size=page_size
    )


def _visible_customer(session: SessionDep, customer_id: int, scope: Scope) -> Customer:
    """The customer, if the caller's scope holds them; 404 (as for none) otherwise."""
    stmt = policies.visible_to(select(Customer).where(Customer.id == customer_id), scope)
    customer = session.scalars(stmt).first()
    if customer is None:
        raise NotFound("object.customer")
    return customer


@router.get("/{customer_id}", response_model=CustomerRead)
def get_customer(customer_id: IdPath, session: SessionDep, principal: Reader) -> CustomerRead:
    """One customer (desk staff, or the customer themselves)."""
    scope = policies.READ.scope(principal)
    return to_read(_visible_customer(session, customer_id, scope), principal)


@router.patch("/{customer_id}", response_model=CustomerRead)
def update_customer(
    customer_id: IdPath,
    data: CustomerUpdate,
    session: SessionDep,
    principal: Editor,
) -> CustomerRead:
    """Change a customer's name or tier (desk staff)."""
    customer = _visible_customer(session, customer_id, policies.EDIT.scope(principal))
    for key, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(customer, key, value)
    session.flush()
    return to_read(customer, principal)
