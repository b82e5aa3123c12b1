"""The steps of a staff login after the password: the 2-step verification code, setting it up
when an admin requires it, and choosing a new password after a reset or an invitation.

Between the password and the last step the session holds only a pending login (who, which
session version, where to go, until when): no page or API accepts it. Code failures are
recorded and throttled as password failures are (`accounts.service.login_code`).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from channels.rest.client_ip import request_address
from portal.accounts import service as accounts
from portal.accounts.models import User
from portal.audit.service import ACTOR_KEY
from portal.database import SessionDep, utcnow
from portal.errors import PortalError, TooManyRequests
from portal.i18n import t
from portal.security import Role
from portal.staff import service, totp
from portal.templating import PAGE_ROUTER_OPTIONS, render, request_lang, see_other

router = APIRouter(**PAGE_ROUTER_OPTIONS)

PENDING = "pending_login"
# How long the steps after a correct password may take before the password is asked again.
PENDING_S = 600
ENROL_SECRET = "pending_totp_secret"
ISSUER = "售后服务平台"

# Where a role lands when the login was not for a particular page: engineers work in the
# phone app, knowledge editors in the FAQ, everyone else starts from the ticket list.
HOME = {
    Role.ENGINEER: "/field",
    Role.KNOWLEDGE_EDITOR: "/knowledge",
    Role.EXPERT: "/consults",
    Role.QUALITY: "/quality",
}


def safe_next(target: str) -> str:
    """Only local paths, so the login form cannot bounce anyone to another site."""
    return target if target.startswith("/") and not target.startswith("//") else ""


def landing(role: str, target: str) -> str:
    """The asked-for page, or the role's home when none was asked for."""
    return safe_next(target) or HOME.get(Role(role), "/tickets")


def _step(user: User, pending: dict[str, Any]) -> str | None:
    """The next step this login still needs, or None when it is complete."""
    if user.totp_secret and not pending.get("code_ok"):
        return "/login/code"
    if user.totp_required and not user.totp_secret:
        return "/login/enrol"
    if user.must_change_password:
        return "/login/password"
    return None


def _finish(request: Request, user: User, target: str) -> Response:
    request.session.clear()
    request.session["uid"] = user.id
    request.session["av"] = user.auth_version
    return see_other(landing(user.role, target))


def begin(request: Request, user: User, target: str) -> Response:
    """After a correct password: the session starts, or the first remaining step is asked."""
    request.session.clear()
    pending = {
        "uid": user.id,
        "av": user.auth_version,
        "next": safe_next(target),
        "until": time.time() + PENDING_S,
        "code_ok": False,
    }
    step = _step(user, pending)
    if step is None:
        return _finish(request, user, target)
    request.session[PENDING] = pending
    return see_other(step)


def _advance(request: Request, user: User, pending: dict[str, Any]) -> Response:
    step = _step(user, pending)
    if step is None:
        return _finish(request, user, str(pending.get("next") or ""))
    request.session[PENDING] = pending
    return see_other(step)


def _pending(request: Request, session: Session) -> tuple[User, dict[str, Any]] | None:
    """The login waiting for its next step, if it is still good (same account version, not
    disabled, not expired)."""
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or float(pending.get("until", 0)) < time.time():
        return None
    if not isinstance(pending.get("uid"), int):
        return None
    user = session.get(User, pending["uid"])
    if user is None or not user.is_active or user.auth_version != pending.get("av"):
        return None
    return user, pending


def _again(request: Request) -> Response:
    request.session.pop(PENDING, None)
    return see_other("/login")


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    response = render(request, name, context, status_code=status)
    # Secrets and one-time codes are on these pages: never kept by a browser or a proxy.
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/login/code", response_class=Response)
def code_form(request: Request, session: SessionDep) -> Response:
    """Ask for the 6-digit code of the authenticator app (or a recovery code)."""
    if _pending(request, session) is None:
        return _again(request)
    return _page(request, "staff/login_code.html", {"error": None})


@router.post("/login/code", response_class=Response)
def code_submit(
    request: Request, session: SessionDep, code: Annotated[str, Form(max_length=32)] = ""
) -> Response:
    """Check the code, throttled with the password attempts of the same account and address."""
    found = _pending(request, session)
    if found is None:
        return _again(request)
    user, pending = found
    settings = request.app.state.settings
    sealing = totp.sealing_key(settings.secret_key)
    lang = request_lang(request)
    try:
        ok = accounts.login_code(
            session,
            username=user.username,
            ip=request_address(request, settings.proxies),
            verify=lambda: totp.second_factor(
                session, user=user, code=code, now=utcnow(), key=sealing
            ),
            limits=accounts.LoginLimits.from_settings(settings),
        )
    except TooManyRequests as exc:
        message = exc.message_zh if lang == "zh" else exc.message_en
        return _page(request, "staff/login_code.html", {"error": message}, 429)
    if not ok:
        return _page(request, "staff/login_code.html", {"error": t("staff.code_wrong", lang)}, 401)
    pending["code_ok"] = True
    return _advance(request, user, pending)


def _enrol_context(request: Request, user: User) -> dict[str, Any]:
    secret = request.session.get(ENROL_SECRET)
    if not isinstance(secret, str) or not secret:
        secret = totp.new_secret()
        request.session[ENROL_SECRET] = secret
    uri = totp.provisioning_uri(secret, username=user.username, issuer=ISSUER)
    return {"secret": secret, "qr": totp.qr_svg(uri), "error": None, "codes": None}


@router.get("/login/enrol", response_class=Response)
def enrol_form(request: Request, session: SessionDep) -> Response:
    """An admin requires 2-step verification of this account: set it up before going on."""
    found = _pending(request, session)
    if found is None:
        return _again(request)
    return _page(request, "staff/login_enrol.html", _enrol_context(request, found[0]))


@router.post("/login/enrol", response_class=Response)
def enrol_submit(
    request: Request, session: SessionDep, code: Annotated[str, Form(max_length=32)] = ""
) -> Response:
    """Confirm the app's first code; the recovery codes are shown once, then the login goes on."""
    found = _pending(request, session)
    if found is None:
        return _again(request)
    user, pending = found
    context = _enrol_context(request, user)
    session.info[ACTOR_KEY] = f"user:{user.id}"  # the holder sets it up: audited as them
    codes = totp.enable(
        session,
        user=user,
        secret=context["secret"],
        code=code,
        now=utcnow(),
        key=totp.sealing_key(request.app.state.settings.secret_key),
    )
    if not codes:
        context["error"] = t("staff.code_wrong", request_lang(request))
        return _page(request, "staff/login_enrol.html", context, 422)
    request.session.pop(ENROL_SECRET, None)
    pending["code_ok"] = True
    request.session[PENDING] = pending
    context.update(codes=codes, next_url=_step(user, pending) or "/login/continue")
    return _page(request, "staff/login_enrol.html", context)


@router.get("/login/continue", response_class=Response)
def continue_login(request: Request, session: SessionDep) -> Response:
    """After the recovery codes were shown: start the session (or the next step)."""
    found = _pending(request, session)
    if found is None:
        return _again(request)
    user, pending = found
    return _advance(request, user, pending)


@router.get("/login/password", response_class=Response)
def password_form(request: Request, session: SessionDep) -> Response:
    """Choose a new password in place of a one-time one."""
    if _pending(request, session) is None:
        return _again(request)
    return _page(request, "staff/login_password.html", {"error": None})


@router.post("/login/password", response_class=Response)
def password_submit(
    request: Request,
    session: SessionDep,
    password: Annotated[str, Form(max_length=200)] = "",
    again: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Set the new password; every older session and token of the account ends."""
    found = _pending(request, session)
    if found is None:
        return _again(request)
    user, pending = found
    if not pending.get("code_ok") and user.totp_secret:
        return see_other("/login/code")
    session.info[ACTOR_KEY] = f"user:{user.id}"
    try:
        service.change_password(session, user=user, new=password, again=again)
    except PortalError as exc:
        session.rollback()
        message = exc.message_zh if request_lang(request) == "zh" else exc.message_en
        return _page(request, "staff/login_password.html", {"error": message}, 422)
    pending["av"] = user.auth_version
    return _advance(request, user, pending)
