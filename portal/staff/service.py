"""Staff accounts as an admin manages them: list, invite with a one-time password, change
role and network, disable and enable, reset the password, require 2-step verification.

Every write here runs on behalf of the admin (the audit hook records it). Two rules hold
whatever the order of requests: the last active admin is never disabled or demoted, and an
admin does not disable or demote themselves (a locked-out company has no way back in but
the command line).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.accounts import service as accounts
from portal.accounts.models import User
from portal.audit.models import AuditRecord
from portal.audit.service import list_records
from portal.errors import Conflict, Invalid, NotFound
from portal.networks.models import Engineer, ServiceNetwork
from portal.security import ROLES, Role, hash_password, verify_password
from portal.staff import totp

# The roles whose work is scoped to one service network (they must name one).
NETWORK_ROLES = frozenset({Role.NETWORK_MANAGER.value, Role.ENGINEER.value})
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
# One-time passwords: read aloud or typed from a screen, so nothing that looks alike.
_OTP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789"
ONE_TIME_LENGTH = 14


@dataclass(frozen=True, slots=True)
class Issued:
    """An account and the one-time password just set on it (shown to the admin once)."""

    user: User
    password: str


def one_time_password() -> str:
    """A random initial password; its holder must replace it at the first login."""
    return "".join(secrets.choice(_OTP_ALPHABET) for _ in range(ONE_TIME_LENGTH))


def list_users(
    session: Session,
    *,
    role: str | None = None,
    network_id: int | None = None,
    active: bool | None = None,
) -> list[User]:
    """Staff accounts, by username; each filter given narrows the list."""
    stmt = select(User).order_by(User.username)
    if role:
        stmt = stmt.where(User.role == role)
    if network_id is not None:
        stmt = stmt.where(User.network_id == network_id)
    if active is not None:
        stmt = stmt.where(User.is_active.is_(active))
    return list(session.scalars(stmt).all())


def get_user(session: Session, *, user_id: int) -> User:
    """One staff account, or 404."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("object.user")
    return user


def _role(role: str) -> str:
    if not role:
        raise Invalid("staff.role_required", field="role")
    if role not in ROLES:
        raise Invalid("staff.role_unknown", field="role", role=role)
    return role


def _network(session: Session, role: str, network_id: int | None) -> int | None:
    """The network the role keeps: required for managers and engineers, none for others."""
    if role not in NETWORK_ROLES:
        return None
    return _known_network(session, network_id)


def _new_network(session: Session, role: str, network_id: int | None) -> int | None:
    """A new account's network: as `_network`, but one chosen for a role that has none is
    refused rather than dropped, so the admin learns the account is not the network's."""
    if role not in NETWORK_ROLES:
        if network_id is not None:
            raise Invalid("staff.network_not_for_role", field="network_id")
        return None
    return _known_network(session, network_id)


def _known_network(session: Session, network_id: int | None) -> int:
    """The network, which must be given and exist."""
    if network_id is None:
        raise Invalid("staff.network_required", field="network_id")
    if session.get(ServiceNetwork, network_id) is None:
        raise Invalid("staff.network_unknown", field="network_id")
    return network_id


def new_account_problems(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: str,
    network_id: int | None,
) -> list[Invalid]:
    """Every reason a new account would be refused, each naming its field (the form shows
    them all at once rather than one per try)."""
    problems: list[Invalid] = []
    name = username.strip()
    if not USERNAME.match(name):
        problems.append(Invalid("staff.username_invalid", field="username"))
    elif session.scalar(select(User.id).where(User.username == name)) is not None:
        problems.append(Invalid("admin.exists", field="username", username=name))
    if not display_name.strip():
        problems.append(Invalid("staff.name_invalid", field="display_name"))
    try:
        _new_network(session, _role(role), network_id)
    except Invalid as exc:
        problems.append(exc)
    return problems


def invite(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: str,
    network_id: int | None = None,
) -> Issued:
    """A new account with a one-time password that must be changed at the first login."""
    username = username.strip()
    if not USERNAME.match(username):
        raise Invalid("staff.username_invalid", field="username")
    role = _role(role)
    network_id = _new_network(session, role, network_id)
    password = one_time_password()
    user = accounts.create_staff(
        session,
        username=username,
        role=role,
        password=password,
        display_name=display_name.strip(),
        network_id=network_id,
        must_change_password=True,
    )
    return Issued(user=user, password=password)


def _active_admins(session: Session) -> list[int]:
    # Locked on PostgreSQL, so two admins demoting each other at once cannot both pass.
    return list(
        session.scalars(
            select(User.id)
            .where(User.role == Role.ADMIN.value, User.is_active.is_(True))
            .order_by(User.id)
            .with_for_update()
        ).all()
    )


def _keep_an_admin(session: Session, user: User, *, actor_id: int | None) -> None:
    """Refuse to take away an active admin when it is the caller or the last one."""
    if user.role != Role.ADMIN.value or not user.is_active:
        return
    if user.id == actor_id:
        raise Conflict("staff.not_yourself")
    if [uid for uid in _active_admins(session) if uid != user.id] == []:
        raise Conflict("staff.last_admin")


def update(
    session: Session,
    *,
    user: User,
    actor_id: int | None,
    display_name: str | None = None,
    role: str | None = None,
    network_id: int | None = None,
) -> User:
    """Change an account's name, role or network (the network only for the roles that have
    one). An engineer's network follows their engineer record in master data."""
    role = _role(role) if role is not None else user.role
    if role != user.role:
        if role != Role.ADMIN.value:
            _keep_an_admin(session, user, actor_id=actor_id)
        elif user.id == actor_id:
            raise Conflict("staff.not_yourself")
    network = _network(session, role, network_id if network_id is not None else user.network_id)
    if role == Role.ENGINEER.value:
        linked = session.scalar(select(Engineer.network_id).where(Engineer.user_id == user.id))
        if linked is not None and linked != network:
            raise Invalid("staff.engineer_network", field="network_id")
    if display_name is not None:
        name = display_name.strip()
        if not name or len(name) > 100:
            raise Invalid("staff.name_invalid", field="display_name")
        # One person, one name: the engineer record (jobs, dispatch, the customer's notices)
        # is renamed with the login. Read before any change, so that nothing is flushed early
        # (the audit log records one change per flush).
        engineer = session.scalar(select(Engineer).where(Engineer.user_id == user.id))
        user.display_name = name
        if engineer is not None:
            engineer.name = name[:64]
    user.role = role
    user.network_id = network
    session.flush()
    return user


def set_active(session: Session, *, user: User, active: bool, actor_id: int | None) -> User:
    """Disable (no login; every session and token ends at once) or enable an account."""
    if user.is_active == active:
        return user
    if not active:
        _keep_an_admin(session, user, actor_id=actor_id)
        user.auth_version += 1
    user.is_active = active
    session.flush()
    return user


def reset_password(session: Session, *, user: User) -> Issued:
    """A new one-time password (shown once) to be changed at the next login; the sessions and
    tokens the account had stop working."""
    password = one_time_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.auth_version += 1
    session.flush()
    return Issued(user=user, password=password)


def require_totp(session: Session, *, user: User, required: bool) -> User:
    """Require 2-step verification of this account (its next login sets it up) or not."""
    user.totp_required = required
    session.flush()
    return user


def clear_totp(session: Session, *, user: User) -> User:
    """Switch off an account's 2-step verification (a lost phone and no recovery codes);
    if it is required, the next login sets it up again."""
    totp.disable(session, user=user)
    return user


def change_password(session: Session, *, user: User, new: str, again: str) -> User:
    """The holder's own new password: twice the same, strong, not the one it replaces.
    Sessions and tokens issued before stop working (the caller re-issues its own)."""
    if new != again:
        raise Invalid("admin.password_mismatch", field="password")
    accounts.check_password(username=user.username, password=new)
    if verify_password(new, user.password_hash):
        raise Invalid("staff.password_same", field="password")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.auth_version += 1
    session.flush()
    return user


def counts_by_role(session: Session) -> dict[str, int]:
    """Active accounts per role (the list page's summary)."""
    rows = session.execute(
        select(User.role, func.count()).where(User.is_active.is_(True)).group_by(User.role)
    ).all()
    return {role: n for role, n in rows}


def network_names(session: Session) -> dict[int, str]:
    """Every service network's name, by id (for filters and forms)."""
    rows = session.execute(select(ServiceNetwork.id, ServiceNetwork.name)).all()
    return {nid: name for nid, name in sorted(rows, key=lambda r: r[1])}


def recent_changes(
    session: Session, *, user_id: int, limit: int = 10
) -> list[tuple[AuditRecord, list[tuple[str, str, str]]]]:
    """The latest audit records of this account, newest first, each with the fields it
    changed (name, before, after; secrets show as ***)."""
    records = list_records(session, entity="users", entity_id=str(user_id), page_size=limit)
    out = []
    for record in records:
        before, after = record.before or {}, record.after or {}
        changed = [
            (key, str(before.get(key, "")), str(value))
            for key, value in after.items()
            if before.get(key) != value
        ]
        out.append((record, changed))
    return out
