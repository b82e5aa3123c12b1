"""Staff administration JSON: accounts and agent teams under /api/v1/staff (admins), the
caller's own 2-step verification and password under /api/v1/account. Thin: the rules are in
portal.staff.service, portal.staff.teams and portal.staff.totp."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.database import SessionDep, utcnow
from portal.errors import Conflict, Invalid
from portal.security import Principal, verify_password
from portal.staff import service, teams, totp
from portal.staff.models import AgentTeam
from portal.staff.policies import Own, TeamAdmin, UserAdmin
from portal.staff.schemas import (
    PasswordChange,
    RecoveryCodes,
    StaffRole,
    TeamIn,
    TeamMember,
    TeamMembers,
    TeamRead,
    TotpCode,
    TotpConfirm,
    TotpRequired,
    TotpSecret,
    TotpStatus,
    UserActive,
    UserCreate,
    UserIssued,
    UserRead,
    UserUpdate,
)
from portal.staff.signin import ISSUER

router = APIRouter(prefix="/staff", tags=["staff"])
account_router = APIRouter(prefix="/account", tags=["staff"])

IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


def user_read(user: User) -> UserRead:
    """The API shape of an account."""
    return UserRead(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        network_id=user.network_id,
        is_active=user.is_active,
        must_change_password=user.must_change_password,
        totp_enabled=bool(user.totp_secret),
        totp_required=user.totp_required,
        created_at=user.created_at,
    )


def _issued(issued: service.Issued) -> UserIssued:
    return UserIssued(**user_read(issued.user).model_dump(), one_time_password=issued.password)


@router.get("/users", response_model=list[UserRead])
def users(
    session: SessionDep,
    _admin: UserAdmin,
    role: Annotated[StaffRole | None, Query()] = None,
    network_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    active: Annotated[bool | None, Query()] = None,
) -> list[UserRead]:
    """Staff accounts, filtered by role, network and whether they are active."""
    rows = service.list_users(session, role=role, network_id=network_id, active=active)
    return [user_read(u) for u in rows]


@router.post("/users", response_model=UserIssued, status_code=status.HTTP_201_CREATED)
def create_user(data: UserCreate, session: SessionDep, _admin: UserAdmin) -> UserIssued:
    """Create an account with a one-time password (in this answer only); its holder chooses
    their own at the first login."""
    return _issued(service.invite(session, **data.model_dump()))


@router.get("/users/{user_id}", response_model=UserRead)
def read_user(user_id: IdPath, session: SessionDep, _admin: UserAdmin) -> UserRead:
    """One account."""
    return user_read(service.get_user(session, user_id=user_id))


@router.patch("/users/{user_id}", response_model=UserRead)
def update_user(
    user_id: IdPath, data: UserUpdate, session: SessionDep, admin: UserAdmin
) -> UserRead:
    """Change the name, role or network; the last active admin is never demoted."""
    user = service.get_user(session, user_id=user_id)
    return user_read(
        service.update(session, user=user, actor_id=admin.user_id, **data.model_dump())
    )


@router.put("/users/{user_id}/active", response_model=UserRead)
def set_active(
    user_id: IdPath, data: UserActive, session: SessionDep, admin: UserAdmin
) -> UserRead:
    """Disable (every session and token of the account ends at once) or enable an account."""
    user = service.get_user(session, user_id=user_id)
    return user_read(
        service.set_active(session, user=user, active=data.active, actor_id=admin.user_id)
    )


@router.post("/users/{user_id}/password-reset", response_model=UserIssued)
def reset_password(user_id: IdPath, session: SessionDep, _admin: UserAdmin) -> UserIssued:
    """A new one-time password (in this answer only), to be changed at the next login."""
    return _issued(service.reset_password(session, user=service.get_user(session, user_id=user_id)))


@router.put("/users/{user_id}/totp-required", response_model=UserRead)
def require_totp(
    user_id: IdPath, data: TotpRequired, session: SessionDep, _admin: UserAdmin
) -> UserRead:
    """Require 2-step verification of the account (its next login sets it up), or not."""
    user = service.get_user(session, user_id=user_id)
    return user_read(service.require_totp(session, user=user, required=data.required))


@router.delete("/users/{user_id}/totp", response_model=UserRead)
def clear_totp(user_id: IdPath, session: SessionDep, _admin: UserAdmin) -> UserRead:
    """Switch off an account's 2-step verification (a lost phone without recovery codes)."""
    user = service.get_user(session, user_id=user_id)
    return user_read(service.clear_totp(session, user=user))


# ---------------------------------------------------------------- teams


def team_read(session: Session, request: Request, team: AgentTeam) -> TeamRead:
    """The API shape of a team, with its members."""
    default_max = request.app.state.settings.handoff_default_max_chats
    return TeamRead(
        id=team.id,
        code=team.code,
        name=team.name,
        product_lines=list(team.product_lines),
        languages=list(team.languages),
        max_chats=team.max_chats,
        members=[
            TeamMember(
                user_id=a.user_id,
                username=a.username,
                display_name=a.display_name,
                max_chats=a.max_chats,
                product_lines=list(a.product_lines),
                languages=list(a.languages),
                differs=differs,
            )
            for a, differs in teams.members(session, team=team, default_max=default_max)
        ],
    )


@router.get("/teams", response_model=list[TeamRead])
def list_teams(request: Request, session: SessionDep, _admin: TeamAdmin) -> list[TeamRead]:
    """Every team of the chat desk with its members."""
    return [team_read(session, request, t) for t in teams.list_teams(session)]


@router.post("/teams", response_model=TeamRead, status_code=status.HTTP_201_CREATED)
def create_team(data: TeamIn, request: Request, session: SessionDep, _admin: TeamAdmin) -> TeamRead:
    """Add a team."""
    team = teams.save_team(
        session,
        team=None,
        default_max=request.app.state.settings.handoff_default_max_chats,
        **data.model_dump(),
    )
    return team_read(session, request, team)


@router.put("/teams/{team_id}", response_model=TeamRead)
def update_team(
    team_id: IdPath, data: TeamIn, request: Request, session: SessionDep, _admin: TeamAdmin
) -> TeamRead:
    """Change a team's name, skills and limit; every member's profile follows."""
    team = teams.get_team(session, team_id=team_id)
    if data.code and data.code != team.code:
        raise Invalid("staff.team_code_fixed", field="code")
    values = data.model_dump()
    values["code"] = team.code
    team = teams.save_team(
        session,
        team=team,
        default_max=request.app.state.settings.handoff_default_max_chats,
        **values,
    )
    return team_read(session, request, team)


@router.put("/teams/{team_id}/members", response_model=TeamRead)
def set_members(
    team_id: IdPath, data: TeamMembers, request: Request, session: SessionDep, _admin: TeamAdmin
) -> TeamRead:
    """Make exactly these agents the team's members (they take its skills and limit)."""
    team = teams.get_team(session, team_id=team_id)
    teams.set_members(
        session,
        team=team,
        user_ids=data.user_ids,
        default_max=request.app.state.settings.handoff_default_max_chats,
    )
    return team_read(session, request, team)


# ---------------------------------------------------------------- the caller's own account


def _me(session: Session, principal: Principal) -> User:
    assert principal.user_id is not None  # the policy lets in staff only
    return service.get_user(session, user_id=principal.user_id)


@account_router.get("/totp", response_model=TotpStatus)
def totp_status(session: SessionDep, principal: Own) -> TotpStatus:
    """Whether the caller uses 2-step verification, must, and how many recovery codes remain."""
    me = _me(session, principal)
    return TotpStatus(
        enabled=bool(me.totp_secret),
        required=me.totp_required,
        recovery_codes_left=totp.recovery_left(session, user_id=me.id),
    )


@account_router.post("/totp/secret", response_model=TotpSecret)
def totp_secret(session: SessionDep, principal: Own) -> TotpSecret:
    """A new secret for the authenticator app; nothing changes until it is confirmed."""
    me = _me(session, principal)
    secret = totp.new_secret()
    uri = totp.provisioning_uri(secret, username=me.username, issuer=ISSUER)
    return TotpSecret(secret=secret, otpauth_uri=uri)


@account_router.post("/totp", response_model=RecoveryCodes)
def totp_enable(
    request: Request, data: TotpConfirm, session: SessionDep, principal: Own
) -> RecoveryCodes:
    """Turn 2-step verification on with the app's current code; the recovery codes come back
    in this answer only."""
    me = _me(session, principal)
    if me.totp_secret:
        raise Conflict("staff.totp_on_already")
    key = totp.sealing_key(request.app.state.settings.secret_key)
    codes = totp.enable(session, user=me, secret=data.secret, code=data.code, now=utcnow(), key=key)
    if not codes:
        raise Invalid("staff.code_wrong", field="code")
    return RecoveryCodes(recovery_codes=codes)


def _prove(request: Request, session: Session, me: User, code: str) -> None:
    if not me.totp_secret:
        raise Conflict("staff.totp_off")
    key = totp.sealing_key(request.app.state.settings.secret_key)
    if not totp.check_code(me, code, now=utcnow(), key=key):
        raise Invalid("staff.code_wrong", field="code")
    session.flush()


@account_router.post("/totp/off", response_model=TotpStatus)
def totp_off(request: Request, data: TotpCode, session: SessionDep, principal: Own) -> TotpStatus:
    """Turn the caller's 2-step verification off (a current code proves it is them), unless
    an admin requires it."""
    me = _me(session, principal)
    if me.totp_required:
        raise Conflict("staff.totp_is_required")
    _prove(request, session, me, data.code)
    totp.disable(session, user=me)
    return TotpStatus(enabled=False, required=False, recovery_codes_left=0)


@account_router.post("/totp/recovery-codes", response_model=RecoveryCodes)
def totp_recovery(
    request: Request, data: TotpCode, session: SessionDep, principal: Own
) -> RecoveryCodes:
    """New recovery codes in place of the old ones (a current code proves it is them)."""
    me = _me(session, principal)
    _prove(request, session, me, data.code)
    return RecoveryCodes(recovery_codes=totp.new_recovery_codes(session, user=me))


@account_router.post("/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(data: PasswordChange, session: SessionDep, principal: Own) -> None:
    """Change the caller's own password; every session and token issued before ends (this
    one too: get a new token)."""
    me = _me(session, principal)
    if not verify_password(data.current, me.password_hash):
        raise Invalid("staff.current_wrong", field="current")
    service.change_password(session, user=me, new=data.new, again=data.again)
