"""Password hashing, tokens, who is calling, and the permission dependencies."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.audit.service import ACTOR_KEY
from portal.config import Settings
from portal.customers.models import Customer
from portal.database import SessionDep
from portal.errors import Forbidden, Unauthorized
from portal.networks.models import Engineer

ROLES = (
    "admin",
    "agent",
    "dispatcher",
    "engineer",
    "network_manager",
    "knowledge_editor",
    "finance",
)
STAFF_ROLES = frozenset(ROLES)

_hasher = PasswordHasher()
# Verified against when the username is unknown, so timing does not reveal which exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    """Whether the password matches the hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, *, username: str, password: str) -> User | None:
    """The active user with these credentials, or None (in constant-ish time)."""
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.is_active:
        verify_password(password, _DUMMY_HASH)
        return None
    return user if verify_password(password, user.password_hash) else None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a staff member, a customer, or the bot's service account."""

    kind: str  # "staff" | "service" | "customer"
    role: str
    name: str
    user_id: int | None = None
    network_id: int | None = None  # network managers and engineers see only their network
    engineer_id: int | None = None  # engineers see only tickets assigned to them
    customer_id: int | None = None  # customers see only their own tickets

    @property
    def actor(self) -> str:
        """How events and audit records name this caller."""
        if self.user_id is not None:
            return f"user:{self.user_id}"
        if self.customer_id is not None:
            return f"customer:{self.customer_id}"
        return f"service:{self.name}"


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="api-token")


def issue_token(settings: Settings, user: User) -> str:
    """A signed bearer token for a staff member."""
    return _serializer(settings).dumps({"uid": user.id})


def issue_customer_token(settings: Settings, customer_id: int) -> str:
    """A signed bearer token for a customer who proved their phone with a one-time code."""
    return _serializer(settings).dumps({"cid": customer_id})


def _staff(session: Session, user_id: object) -> Principal | None:
    if not isinstance(user_id, int):
        return None
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    engineer_id = None
    if user.role == "engineer":
        engineer_id = session.scalar(select(Engineer.id).where(Engineer.user_id == user.id))
    return Principal(
        kind="staff",
        role=user.role,
        name=user.username,
        user_id=user.id,
        network_id=user.network_id,
        engineer_id=engineer_id,
    )


def _customer(session: Session, customer_id: object) -> Principal | None:
    if not isinstance(customer_id, int) or session.get(Customer, customer_id) is None:
        return None
    return Principal(
        kind="customer", role="customer", name=f"customer{customer_id}", customer_id=customer_id
    )


def principal_from_request(request: Request, session: Session) -> Principal | None:
    """The caller from a bearer token or the page session, if any."""
    settings: Settings = request.app.state.settings
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
        if hmac.compare_digest(token.encode(), settings.bot_service_token.encode()):
            return Principal(kind="service", role="bot", name="bot")
        try:
            data = _serializer(settings).loads(token, max_age=settings.staff_token_ttl_s)
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        if "cid" in data:
            return _customer(session, data["cid"])
        return _staff(session, data.get("uid"))
    if "session" in request.scope:
        if "uid" in request.session:
            return _staff(session, request.session.get("uid"))
        if "cid" in request.session:
            return _customer(session, request.session.get("cid"))
    return None


def current_principal(request: Request, session: SessionDep) -> Principal:
    """The authenticated caller, or 401; staff writes in this request get audited."""
    principal = principal_from_request(request, session)
    if principal is None:
        raise Unauthorized("error.unauthorized")
    if principal.kind == "staff":
        session.info[ACTOR_KEY] = principal.actor
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: str):  # type: ignore[no-untyped-def]
    """A dependency that lets only the given roles (or admin) through."""
    allowed = frozenset(roles) | {"admin"}

    def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise Forbidden("error.forbidden")
        return principal

    return Depends(check)


class LoginRequired(Exception):
    """A page needs a logged-in staff member; the handler redirects to the login page."""


def page_user(request: Request, session: SessionDep) -> Principal:
    """The staff member behind a page request, or a redirect to /login."""
    principal = _staff(session, request.session.get("uid"))
    if principal is None:
        raise LoginRequired(request.url.path)
    session.info[ACTOR_KEY] = principal.actor
    return principal


PageUser = Annotated[Principal, Depends(page_user)]
