"""Password hashing, tokens, who is calling, and the permission dependencies."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import csrf
from portal.accounts.models import User
from portal.audit.service import ACTOR_KEY
from portal.config import Settings
from portal.customers.models import Customer
from portal.database import SessionDep
from portal.errors import Forbidden, Unauthorized
from portal.networks.models import Engineer, ServiceNetwork


class Role(StrEnum):
    """Every kind of caller. Staff roles are stored on `User.role`; the rest are implied by
    how the caller proved who they are (a customer token, the bot's service token) or are the
    platform acting on its own (`SYSTEM`: timers, workers, the demo)."""

    ADMIN = "admin"
    AGENT = "agent"
    DISPATCHER = "dispatcher"
    ENGINEER = "engineer"
    NETWORK_MANAGER = "network_manager"
    KNOWLEDGE_EDITOR = "knowledge_editor"
    FINANCE = "finance"
    # Technical support: answers engineers' consults from the field (远程专家).
    EXPERT = "expert"
    # Factory quality: appraises in-warranty quality cases (鉴定) for the factory cost centre.
    QUALITY = "quality"
    CUSTOMER = "customer"
    # The bot's service account: not a desk role; it reaches only the routes that name it.
    BOT = "bot"
    SYSTEM = "system"


STAFF_ROLES = frozenset(
    {
        Role.ADMIN,
        Role.AGENT,
        Role.DISPATCHER,
        Role.ENGINEER,
        Role.NETWORK_MANAGER,
        Role.KNOWLEDGE_EDITOR,
        Role.FINANCE,
        Role.EXPERT,
        Role.QUALITY,
    }
)
# The roles a staff account may be created with (`python -m portal user add --role`).
ROLES = tuple(r.value for r in Role if r in STAFF_ROLES)

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
    role: Role
    name: str
    user_id: int | None = None
    network_id: int | None = None  # network managers and engineers see only their network
    engineer_id: int | None = None  # engineers see only tickets assigned to them
    customer_id: int | None = None  # customers see only their own tickets
    # A network manager's 伞下店 (outlets under their network): their tickets and stock too.
    outlet_ids: tuple[int, ...] = ()
    # What the page header calls a staff member ("王芳"); the login name when none is set.
    display_name: str = ""

    def __post_init__(self) -> None:
        # A role given as its string (a stored User.role, a test) becomes the enum member, so
        # an unknown role fails here instead of silently matching no policy.
        object.__setattr__(self, "role", Role(self.role))

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
    """A signed bearer token for a staff member (it ends when the account's auth_version
    moves on: a disable, a password reset or change)."""
    return _serializer(settings).dumps({"uid": user.id, "av": user.auth_version})


def issue_customer_token(settings: Settings, customer_id: int) -> str:
    """A signed bearer token for a customer who proved their phone with a one-time code."""
    return _serializer(settings).dumps({"cid": customer_id})


def _staff(session: Session, user_id: object, version: object = 0) -> Principal | None:
    if not isinstance(user_id, int):
        return None
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    # Sessions and tokens from before a disable, a reset or a password change stay dead.
    # (Those issued before versions existed carry none: version 0, as every account starts.)
    if version != user.auth_version:
        return None
    engineer_id = None
    outlets: tuple[int, ...] = ()
    if user.role == Role.ENGINEER:
        engineer_id = session.scalar(select(Engineer.id).where(Engineer.user_id == user.id))
    elif user.role == Role.NETWORK_MANAGER and user.network_id is not None:
        outlets = tuple(
            session.scalars(
                select(ServiceNetwork.id)
                .where(ServiceNetwork.parent_id == user.network_id, ServiceNetwork.kind == "sub")
                .order_by(ServiceNetwork.id)
            )
        )
    return Principal(
        kind="staff",
        role=Role(user.role),
        name=user.username,
        user_id=user.id,
        network_id=user.network_id,
        engineer_id=engineer_id,
        outlet_ids=outlets,
        display_name=user.display_name or user.username,
    )


def _customer(session: Session, customer_id: object) -> Principal | None:
    if not isinstance(customer_id, int):
        return None
    customer = session.get(Customer, customer_id)
    # An erased customer's tokens and sessions end with the erasure (portal.privacy).
    if customer is None or customer.is_erased:
        return None
    return Principal(
        kind="customer", role=Role.CUSTOMER, name=f"customer{customer_id}", customer_id=customer_id
    )


def principal_from_request(request: Request, session: Session) -> Principal | None:
    """The caller from a bearer token or the page session, if any."""
    settings: Settings = request.app.state.settings
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
        if hmac.compare_digest(token.encode(), settings.bot_service_token.encode()):
            return Principal(kind="service", role=Role.BOT, name="bot")
        try:
            data = _serializer(settings).loads(token, max_age=settings.staff_token_ttl_s)
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        if "cid" in data:
            return _customer(session, data["cid"])
        return _staff(session, data.get("uid"), data.get("av", 0))
    if "session" in request.scope:
        if "uid" in request.session:
            return _staff(session, request.session.get("uid"), request.session.get("av", 0))
        if "cid" in request.session:
            return _customer(session, request.session.get("cid"))
    return None


def current_principal(request: Request, session: SessionDep) -> Principal:
    """The authenticated caller, or 401; staff writes in this request get audited."""
    principal = principal_from_request(request, session)
    if principal is None:
        raise Unauthorized("error.unauthorized")
    # A write on the session cookie (not a bearer token) needs the CSRF header (issue 18).
    csrf.require_header(request)
    if principal.kind == "staff":
        session.info[ACTOR_KEY] = principal.actor
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


@dataclass(frozen=True, slots=True)
class Scope:
    """Which rows of a domain a caller sees: every one, or those of one network, one
    engineer or one customer. Nothing set (and not `everything`) means no rows at all.
    A domain's `visible_to(stmt, scope)` turns it into WHERE clauses."""

    everything: bool = False
    network_id: int | None = None
    engineer_id: int | None = None
    customer_id: int | None = None
    # With `network_id`: the 伞下店 under that network, whose rows a parent's manager sees too
    # (tickets, stock); domains that know nothing of outlets read `network_id` alone.
    outlet_ids: tuple[int, ...] = ()

    @property
    def network_ids(self) -> tuple[int, ...]:
        """The network and its outlets (empty without a network)."""
        return () if self.network_id is None else (self.network_id, *self.outlet_ids)

    @property
    def nothing(self) -> bool:
        """Whether no row at all is visible (a manager or engineer without a network)."""
        return not self.everything and (
            self.network_id is None and self.engineer_id is None and self.customer_id is None
        )


NO_ROWS = Scope()
EVERY_ROW = Scope(everything=True)


class Policy:
    """Who may call a route, and which rows it sees there: declared once per route in the
    domain's `policies.py`, used by its JSON views (`.api`) and its pages (`.page`).

    `roles` may call (admin always may, unless `admin=False`); `sees_all` see every row, the
    other allowed roles see their own slice (`Scope`): a network manager their network, an
    engineer their own jobs (and network), a customer their own records. See
    /docs/architecture.md ("How a route declares its policy").
    """

    __slots__ = ("name", "roles", "sees_all", "api", "page")

    # Every policy ever declared, by name: the generated access test reads this.
    registry: dict[str, Policy] = {}

    def __init__(
        self,
        name: str,
        *roles: Role,
        sees_all: tuple[Role, ...] | frozenset[Role] = (),
        admin: bool = True,
    ) -> None:
        self.name = name
        self.roles = frozenset(roles) | ({Role.ADMIN} if admin else frozenset())
        self.sees_all = frozenset(sees_all) | ({Role.ADMIN} if admin else frozenset())
        self.api = Depends(_api_check(self))
        self.page = Depends(_page_check(self))
        if name in Policy.registry and Policy.registry[name].roles != self.roles:
            raise ValueError(f"policy {name!r} declared twice with different roles")
        Policy.registry[name] = self

    def __repr__(self) -> str:
        return f"Policy({self.name!r}, {sorted(self.roles)})"

    def allows(self, principal: Principal | None) -> bool:
        """Whether this caller may call the route at all."""
        return principal is not None and principal.role in self.roles

    def check(self, principal: Principal) -> Principal:
        """The caller, or Forbidden (a 403 in JSON, the 403 page on a page)."""
        if principal.role not in self.roles:
            raise Forbidden("error.forbidden")
        return principal

    def scope(self, principal: Principal) -> Scope:
        """The rows this caller sees under this policy."""
        if principal.role not in self.roles:
            return NO_ROWS
        if principal.role in self.sees_all:
            return EVERY_ROW
        if principal.role is Role.CUSTOMER:
            return Scope(customer_id=principal.customer_id)
        if principal.role is Role.ENGINEER:
            if principal.engineer_id is None:
                return NO_ROWS
            return Scope(engineer_id=principal.engineer_id, network_id=principal.network_id)
        if principal.network_id is not None:
            return Scope(network_id=principal.network_id, outlet_ids=principal.outlet_ids)
        return NO_ROWS


def _api_check(policy: Policy) -> Callable[..., Principal]:
    """The JSON-route dependency of a policy: 401 without a caller, 403 for another role."""

    def check(principal: CurrentPrincipal) -> Principal:
        return policy.check(principal)

    check.policy = policy  # type: ignore[attr-defined]  # found by the generated access test
    return check


def _page_check(policy: Policy) -> Callable[..., Principal]:
    """The page dependency of a policy: the login page without a staff session, the 403 page
    for another role; the caller is remembered for the page header."""

    def check(request: Request, user: PageUser) -> Principal:
        request.state.user = user
        return policy.check(user)

    check.policy = policy  # type: ignore[attr-defined]
    return check


def require_roles(*roles: str):  # type: ignore[no-untyped-def]
    """An unnamed policy's JSON dependency (prefer a named one in the domain's policies.py)."""
    return Policy("anonymous:" + ",".join(sorted(roles)), *(Role(r) for r in roles)).api


class LoginRequired(Exception):
    """A page needs a logged-in staff member; the handler redirects to the login page."""


def page_user(request: Request, session: SessionDep) -> Principal:
    """The staff member behind a page request, or a redirect to /login."""
    principal = _staff(session, request.session.get("uid"), request.session.get("av", 0))
    if principal is None:
        raise LoginRequired(request.url.path)
    session.info[ACTOR_KEY] = principal.actor
    return principal


PageUser = Annotated[Principal, Depends(page_user)]
