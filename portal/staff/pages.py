"""Staff administration pages: accounts (list, invite, edit, disable, reset, 2-step), the
chat desk's teams, and every staff member's own 2-step verification and password. Thin: the
same services as the JSON routes; a refused form comes back with what was typed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.accounts.service import actor_names
from portal.assets.models import Product
from portal.audit.models import AuditRecord
from portal.conversations import service as conversations
from portal.database import SessionDep, utcnow
from portal.errors import Invalid, PortalError
from portal.i18n import MESSAGES, Lang, both, field_label, t
from portal.security import ROLES, Principal, verify_password
from portal.staff import service, teams, totp
from portal.staff.models import AgentTeam
from portal.staff.policies import OwnPage, TeamAdminPage, UserAdminPage
from portal.staff.service import NETWORK_ROLES
from portal.staff.signin import ENROL_SECRET, ISSUER
from portal.templating import (
    PAGE_ROUTER_OPTIONS,
    flash,
    flash_error,
    render,
    request_lang,
    see_other,
)

router = APIRouter(**PAGE_ROUTER_OPTIONS)

IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
Text = Annotated[str, Form(max_length=200)]


def _message(request: Request, exc: PortalError) -> str:
    return exc.message_zh if request_lang(request) == "zh" else exc.message_en


def _ok(request: Request, key: str, **params: object) -> None:
    zh, en = both(key, **params)
    flash(request, "ok", zh, en)


def _private(response: Response) -> Response:
    # One-time passwords, secrets and recovery codes: never kept by a browser or a proxy.
    response.headers["Cache-Control"] = "no-store"
    return response


def _network_id(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 2**31 - 1:
        raise Invalid("staff.network_unknown", field="network_id")
    return int(text)


# ---------------------------------------------------------------- accounts


@router.get("/staff", response_class=Response)
def users_page(
    request: Request,
    session: SessionDep,
    _admin: UserAdminPage,
    role: Annotated[str, Query(max_length=32)] = "",
    network: Annotated[str, Query(max_length=12)] = "",
    active: Annotated[str, Query(max_length=3)] = "",
) -> Response:
    """Every staff account, filtered by role, network and whether it is active."""
    network_id = int(network) if network.isdigit() and int(network) < 2**31 else None
    rows = service.list_users(
        session,
        role=role if role in ROLES else None,
        network_id=network_id,
        active={"yes": True, "no": False}.get(active),
    )
    return render(
        request,
        "staff/users.html",
        {
            "rows": rows,
            "roles": ROLES,
            "networks": service.network_names(session),
            "counts": service.counts_by_role(session),
            "filters": {"role": role, "network": network, "active": active},
            "tab": "users",
        },
    )


def _user_form(
    request: Request,
    session: Session,
    values: dict[str, Any],
    *,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "staff/user_new.html",
        {
            "values": values,
            "roles": ROLES,
            "network_roles": sorted(NETWORK_ROLES),
            "networks": service.network_names(session),
            "error": error,
            "errors": errors or {},
            "tab": "users",
        },
        status_code=status_code,
    )


@router.get("/staff/new", response_class=Response)
def new_user_page(request: Request, session: SessionDep, _admin: UserAdminPage) -> Response:
    """The invitation form."""
    return _user_form(request, session, {})


@router.post("/staff/new", response_class=Response)
def create_user(
    request: Request,
    session: SessionDep,
    _admin: UserAdminPage,
    username: Annotated[str, Form(max_length=64)] = "",
    display_name: Annotated[str, Form(max_length=100)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    network_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Create the account; its one-time password is on this answer and nowhere else."""
    values = {
        "username": username,
        "display_name": display_name,
        "role": role,
        "network_id": network_id,
    }
    try:
        network = _network_id(network_id)
        problems = service.new_account_problems(
            session, username=username, display_name=display_name, role=role, network_id=network
        )
    except Invalid as exc:  # a network that is no number: the other fields still checked
        network, problems = None, [exc]
        problems += [
            p
            for p in service.new_account_problems(
                session, username=username, display_name=display_name, role=role, network_id=None
            )
            if p.field != "network_id"
        ]
    if problems:
        # Every wrong field at once, each at its field; what was typed stays.
        errors = {str(p.field): _message(request, p) for p in problems}
        return _user_form(
            request,
            session,
            values,
            error=t("staff.form_problems", request_lang(request), n=len(errors)),
            errors=errors,
            status_code=422,
        )
    try:
        issued = service.invite(
            session,
            username=username,
            display_name=display_name,
            role=role,
            network_id=network,
        )
    except PortalError as exc:
        session.rollback()
        field = getattr(exc, "field", None)
        return _user_form(
            request,
            session,
            values,
            error=_message(request, exc),
            errors={field: _message(request, exc)} if field else None,
            status_code=exc.status_code,
        )
    return _private(
        render(
            request,
            "staff/issued.html",
            {"account": issued.user, "password": issued.password, "created": True, "tab": "users"},
            status_code=201,
        )
    )


# ---------------------------------------------------------------- teams


def _categories(session: Session) -> list[str]:
    return sorted(set(session.scalars(select(Product.category).distinct())))


def _default_max(request: Request) -> int:
    return int(request.app.state.settings.handoff_default_max_chats)


@router.get("/staff/teams", response_class=Response, name="teams_page")
def teams_page(request: Request, session: SessionDep, _admin: TeamAdminPage) -> Response:
    """Every team with its skills, limit and members."""
    overview = teams.overview(session, default_max=_default_max(request))
    return render(
        request,
        "staff/teams.html",
        {
            "teams": overview,
            "any_differs": any(differs for view in overview for _, differs in view.members),
            "tab": "teams",
        },
    )


def _team_form(
    request: Request,
    session: Session,
    team: AgentTeam | None,
    values: dict[str, Any],
    *,
    error: str | None = None,
    field: str | None = None,
    status_code: int = 200,
) -> Response:
    agents = conversations.list_agents(session, default_max=_default_max(request))
    lines = sorted(set(_categories(session)) | set(values.get("product_lines", [])))
    return render(
        request,
        "staff/team_edit.html",
        {
            "team": team,
            "values": values,
            "lines": lines,
            "agents": agents,
            "error": error,
            "field": field,
            "tab": "teams",
        },
        status_code=status_code,
    )


def _team_values(team: AgentTeam, members: list[int]) -> dict[str, Any]:
    return {
        "code": team.code,
        "name": team.name,
        "product_lines": list(team.product_lines),
        "languages": list(team.languages),
        "max_chats": str(team.max_chats),
        "members": members,
    }


@router.get("/staff/teams/new", response_class=Response)
def new_team_page(request: Request, session: SessionDep, _admin: TeamAdminPage) -> Response:
    """The new team form."""
    values = {"languages": ["zh"], "max_chats": "3", "product_lines": [], "members": []}
    return _team_form(request, session, None, values)


@router.get("/staff/teams/{team_id}", response_class=Response)
def team_page(
    request: Request, team_id: IdPath, session: SessionDep, _admin: TeamAdminPage
) -> Response:
    """One team to edit, with its members."""
    team = teams.get_team(session, team_id=team_id)
    members = [
        a.user_id for a, _ in teams.members(session, team=team, default_max=_default_max(request))
    ]
    return _team_form(request, session, team, _team_values(team, members))


async def _save_team(request: Request, session: Session, team_id: int | None) -> Response:
    form = await request.form()
    code = str(form.get("code") or "")[:32]
    name = str(form.get("name") or "")[:100]
    lines = [str(v)[:32] for v in form.getlist("product_lines")][:40]
    extra = str(form.get("extra_lines") or "")[:400]
    lines += [p.strip() for p in extra.replace("，", ",").split(",") if p.strip()]
    languages = [str(v)[:2] for v in form.getlist("languages")][:4]
    max_chats = str(form.get("max_chats") or "")[:4]
    member_ids = [int(str(v)) for v in form.getlist("members") if str(v).isdigit()][:500]
    values: dict[str, Any] = {
        "code": code,
        "name": name,
        "product_lines": lines,
        "languages": languages,
        "max_chats": max_chats,
        "members": member_ids,
    }
    team = teams.get_team(session, team_id=team_id) if team_id is not None else None
    try:
        if not max_chats.isdigit():
            raise Invalid("staff.team_max_chats", field="max_chats", n=teams.MAX_CHATS)
        # Those who leave keep the settings they had, not the ones saved now: members first
        # (an existing team), then the team, which every member then takes.
        if team is not None:
            teams.set_members(
                session, team=team, user_ids=member_ids, default_max=_default_max(request)
            )
        saved = teams.save_team(
            session,
            team=team,
            code=team.code if team is not None else code,
            name=name,
            product_lines=lines,
            languages=languages,
            max_chats=int(max_chats),
            default_max=_default_max(request),
        )
        if team is None:
            teams.set_members(
                session, team=saved, user_ids=member_ids, default_max=_default_max(request)
            )
    except PortalError as exc:
        session.rollback()
        team = teams.get_team(session, team_id=team_id) if team_id is not None else None
        return _team_form(
            request,
            session,
            team,
            values,
            error=_message(request, exc),
            field=getattr(exc, "field", None),
            status_code=exc.status_code,
        )
    _ok(request, "staff.team_saved", name=saved.name)
    return see_other("/staff/teams")


@router.post("/staff/teams/new", response_class=Response)
async def create_team(request: Request, session: SessionDep, _admin: TeamAdminPage) -> Response:
    """Add a team with its members."""
    return await _save_team(request, session, None)


@router.post("/staff/teams/{team_id}", response_class=Response)
async def update_team(
    request: Request, team_id: IdPath, session: SessionDep, _admin: TeamAdminPage
) -> Response:
    """Save a team; its members' profiles follow."""
    return await _save_team(request, session, team_id)


# ---------------------------------------------------------------- one account (after
# /staff/new and /staff/teams, which its id would otherwise swallow)


@router.get("/staff/{user_id}", response_class=Response)
def user_page(
    request: Request, user_id: IdPath, session: SessionDep, admin: UserAdminPage
) -> Response:
    """One account: its details to edit, and disable, reset and 2-step actions."""
    user = service.get_user(session, user_id=user_id)
    return _user_edit(request, session, user, admin=admin, values=None)


# Bookkeeping columns an administrator has no use for in the account's history.
_HIDDEN_CHANGES = frozenset({"totp_last_step", "created_at"})


def _history(
    session: Session, *, user_id: int, lang: Lang
) -> list[tuple[AuditRecord, str, list[tuple[str, str, str]]]]:
    """The account's latest changes as an administrator reads them: who by name, each field
    by its label, roles, yes/no and networks by name (secrets stay ***)."""
    changes = service.recent_changes(session, user_id=user_id)
    who = actor_names(session, (rec.actor for rec, _ in changes), lang)
    networks = {str(k): v for k, v in service.network_names(session).items()}
    yes_no = {"True": t("ui.yes", lang), "False": t("ui.no", lang)}

    def shown(key: str, value: str) -> str:
        if key == "role" and f"ui.role.{value}" in MESSAGES:
            return t(f"ui.role.{value}", lang)
        if key == "network_id":
            return networks.get(value, value) if value not in ("", "None") else "—"
        if value in yes_no:
            return yes_no[value]
        return "—" if value in ("", "None") else value

    out = []
    for rec, changed in changes:
        fields = [
            (field_label(k)[0 if lang == "zh" else 1], shown(k, old), shown(k, new))
            for k, old, new in changed
            if k not in _HIDDEN_CHANGES
        ]
        out.append((rec, who.get(rec.actor, rec.actor), fields))
    return out


def _user_edit(
    request: Request,
    session: Session,
    user: User,
    *,
    admin: Principal,
    values: dict[str, Any] | None,
    error: str | None = None,
    field: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "staff/user_edit.html",
        {
            "row": user,
            "values": values
            or {
                "display_name": user.display_name,
                "role": user.role,
                "network_id": str(user.network_id or ""),
            },
            "roles": ROLES,
            "network_roles": sorted(NETWORK_ROLES),
            "networks": service.network_names(session),
            "is_me": user.id == admin.user_id,
            "recovery_left": totp.recovery_left(session, user_id=user.id),
            "history": _history(session, user_id=user.id, lang=request_lang(request)),
            "error": error,
            "field": field,
            "tab": "users",
        },
        status_code=status_code,
    )


@router.post("/staff/{user_id}", response_class=Response)
def update_user(
    request: Request,
    user_id: IdPath,
    session: SessionDep,
    admin: UserAdminPage,
    display_name: Annotated[str, Form(max_length=100)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    network_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Save the name, role and network."""
    user = service.get_user(session, user_id=user_id)
    values = {"display_name": display_name, "role": role, "network_id": network_id}
    try:
        service.update(
            session,
            user=user,
            actor_id=admin.user_id,
            display_name=display_name,
            role=role,
            network_id=_network_id(network_id),
        )
    except PortalError as exc:
        session.rollback()
        user = service.get_user(session, user_id=user_id)
        return _user_edit(
            request,
            session,
            user,
            admin=admin,
            values=values,
            error=_message(request, exc),
            field=getattr(exc, "field", None),
            status_code=exc.status_code,
        )
    _ok(request, "staff.saved", username=user.username)
    return see_other(f"/staff/{user_id}")


@router.post("/staff/{user_id}/active", response_class=Response)
def set_active(
    request: Request,
    user_id: IdPath,
    session: SessionDep,
    admin: UserAdminPage,
    active: Annotated[str, Form(max_length=3)] = "",
    confirm: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    """Disable (confirmed on the page first) or enable the account."""
    user = service.get_user(session, user_id=user_id)
    if active != "yes" and confirm != "yes":
        flash_error(request, Invalid("staff.access.disable_unconfirmed", field="confirm"))
        return see_other(f"/staff/{user_id}")
    try:
        service.set_active(session, user=user, active=active == "yes", actor_id=admin.user_id)
    except PortalError as exc:
        session.rollback()
        flash_error(request, exc)
        return see_other(f"/staff/{user_id}")
    _ok(request, "staff.enabled" if active == "yes" else "staff.disabled", username=user.username)
    return see_other(f"/staff/{user_id}")


@router.post("/staff/{user_id}/password-reset", response_class=Response)
def reset_password(
    request: Request, user_id: IdPath, session: SessionDep, _admin: UserAdminPage
) -> Response:
    """A new one-time password, shown on this answer only."""
    issued = service.reset_password(session, user=service.get_user(session, user_id=user_id))
    return _private(
        render(
            request,
            "staff/issued.html",
            {"account": issued.user, "password": issued.password, "created": False, "tab": "users"},
        )
    )


@router.post("/staff/{user_id}/totp-required", response_class=Response)
def require_totp(
    request: Request,
    user_id: IdPath,
    session: SessionDep,
    _admin: UserAdminPage,
    required: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    """Require 2-step verification of the account, or stop requiring it."""
    user = service.get_user(session, user_id=user_id)
    service.require_totp(session, user=user, required=required == "yes")
    _ok(request, "staff.totp_required_on" if required == "yes" else "staff.totp_required_off")
    return see_other(f"/staff/{user_id}")


@router.post("/staff/{user_id}/totp-clear", response_class=Response)
def clear_totp(
    request: Request, user_id: IdPath, session: SessionDep, _admin: UserAdminPage
) -> Response:
    """Switch the account's 2-step verification off (a lost phone)."""
    user = service.get_user(session, user_id=user_id)
    service.clear_totp(session, user=user)
    _ok(request, "staff.totp_cleared", username=user.username)
    return see_other(f"/staff/{user_id}")


# ---------------------------------------------------------------- the reader's own account


def _me(session: Session, principal: Principal) -> User:
    assert principal.user_id is not None  # the policy lets in staff only
    return service.get_user(session, user_id=principal.user_id)


def _security(
    request: Request,
    session: Session,
    me: User,
    *,
    codes: list[str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    secret = request.session.get(ENROL_SECRET) if not me.totp_secret else None
    qr = None
    if isinstance(secret, str) and secret:
        qr = totp.qr_svg(totp.provisioning_uri(secret, username=me.username, issuer=ISSUER))
    return _private(
        render(
            request,
            "staff/security.html",
            {
                "me": me,
                "secret": secret,
                "qr": qr,
                "codes": codes,
                "recovery_left": totp.recovery_left(session, user_id=me.id),
                "error": error,
                "tab": "security",
            },
            status_code=status_code,
        )
    )


@router.get("/account/security", response_class=Response)
def security_page(request: Request, session: SessionDep, principal: OwnPage) -> Response:
    """The reader's 2-step verification and password."""
    return _security(request, session, _me(session, principal))


@router.post("/account/security/totp/start", response_class=Response)
def totp_start(request: Request, session: SessionDep, principal: OwnPage) -> Response:
    """A new secret for the authenticator app, shown as a QR code until confirmed."""
    me = _me(session, principal)
    if not me.totp_secret:
        request.session[ENROL_SECRET] = totp.new_secret()
    return see_other("/account/security")


@router.post("/account/security/totp", response_class=Response)
def totp_confirm(
    request: Request,
    session: SessionDep,
    principal: OwnPage,
    code: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Turn 2-step verification on with the app's first code; recovery codes shown once."""
    me = _me(session, principal)
    secret = request.session.get(ENROL_SECRET)
    if me.totp_secret or not isinstance(secret, str) or not secret:
        return see_other("/account/security")
    key = totp.sealing_key(request.app.state.settings.secret_key)
    codes = totp.enable(session, user=me, secret=secret, code=code, now=utcnow(), key=key)
    if not codes:
        return _security(
            request,
            session,
            me,
            error=both("staff.code_wrong")[0 if request_lang(request) == "zh" else 1],
            status_code=422,
        )
    request.session.pop(ENROL_SECRET, None)
    return _security(request, session, me, codes=codes)


def _prove(request: Request, session: Session, me: User, code: str) -> str | None:
    """None when `code` is a current code of the reader's app, else the message."""
    key = totp.sealing_key(request.app.state.settings.secret_key)
    if not me.totp_secret or not totp.check_code(me, code, now=utcnow(), key=key):
        return both("staff.code_wrong")[0 if request_lang(request) == "zh" else 1]
    session.flush()
    return None


@router.post("/account/security/totp/off", response_class=Response)
def totp_off(
    request: Request,
    session: SessionDep,
    principal: OwnPage,
    code: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Turn 2-step verification off, unless an admin requires it."""
    me = _me(session, principal)
    if me.totp_required:
        flash_error(request, PortalError("staff.totp_is_required"))
        return see_other("/account/security")
    error = _prove(request, session, me, code)
    if error:
        return _security(request, session, me, error=error, status_code=422)
    totp.disable(session, user=me)
    _ok(request, "staff.totp_off_done")
    return see_other("/account/security")


@router.post("/account/security/recovery", response_class=Response)
def recovery_codes(
    request: Request,
    session: SessionDep,
    principal: OwnPage,
    code: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """New recovery codes in place of the old ones, shown once."""
    me = _me(session, principal)
    error = _prove(request, session, me, code)
    if error:
        return _security(request, session, me, error=error, status_code=422)
    return _security(request, session, me, codes=totp.new_recovery_codes(session, user=me))


@router.post("/account/security/password", response_class=Response)
def own_password(
    request: Request,
    session: SessionDep,
    principal: OwnPage,
    current: Text = "",
    password: Text = "",
    again: Text = "",
) -> Response:
    """Change the reader's own password; their other sessions and tokens end, this one goes on."""
    me = _me(session, principal)
    try:
        if not verify_password(current, me.password_hash):
            raise Invalid("staff.current_wrong", field="current")
        service.change_password(session, user=me, new=password, again=again)
    except PortalError as exc:
        session.rollback()
        me = _me(session, principal)
        return _security(request, session, me, error=_message(request, exc), status_code=422)
    request.session["av"] = me.auth_version
    _ok(request, "staff.password_changed")
    return see_other("/account/security")
