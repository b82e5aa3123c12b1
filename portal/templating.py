"""The Jinja2 environment shared by every page, and what every staff page needs: the reader's
language, local times, one-shot flash messages, the CSRF token and one error page."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from portal import csrf
from portal.config import ROOT
from portal.errors import PortalError, validation_errors
from portal.i18n import (
    ACTION_LABELS,
    CHANNEL_LABELS,
    MESSAGES,
    STATUS_LABELS,
    TICKET_TYPE_LABELS,
    Lang,
    field_label,
    label,
    t,
)
from portal.policies import DESK, STAFF
from portal.privacy import masking
from portal.security import Principal
from portal.settlement import ledger, memos
from portal.settlement.models import LedgerAccount

DISPLAY_ZONE = ZoneInfo("Asia/Shanghai")
LANG_COOKIE = "lang"
LANG_COOKIE_AGE = 365 * 24 * 3600
FLASH_KEY = "flash"
# Roles that work the service desk: they edit intake details and see customer records.
DESK_ROLES = DESK.roles


def request_lang(request: Request) -> Lang:
    """The reader's language: the address's ?lang= (a shared link), else the one they chose
    with the language switch, else Chinese."""
    asked = asked_lang(request)
    if asked is not None:
        return asked
    return "en" if request.cookies.get(LANG_COOKIE) == "en" else "zh"


def asked_lang(request: Request) -> Lang | None:
    """The language the address asks for (?lang=zh or en), if any."""
    asked = request.query_params.get("lang")
    if asked == "zh":
        return "zh"
    if asked == "en":
        return "en"
    return None


def remember_lang(request: Request, response: Response) -> Response:
    """A page opened with ?lang= keeps that language for the pages after it (the switch's
    cookie)."""
    asked = asked_lang(request)
    if asked is not None and request.cookies.get(LANG_COOKIE) != asked:
        response.set_cookie(LANG_COOKIE, asked, max_age=LANG_COOKIE_AGE, samesite="lax")
    return response


def _local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(DISPLAY_ZONE).strftime(fmt) if value else ""


def shanghai_today() -> date:
    """Today's date where staff and customers live (warranty checks)."""
    return datetime.now(DISPLAY_ZONE).date()


def duration(seconds: float | None, lang: Lang) -> str:
    """A stage length for people: seconds, minutes, hours and minutes, or days and hours."""
    if seconds is None:
        return t("ui.stage.open", lang)
    total = max(int(round(seconds)), 0)
    if total < 60:
        return t("ui.duration.seconds", lang, s=total)
    minutes = total // 60
    if minutes < 60:
        return t("ui.duration.minutes", lang, m=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return t("ui.duration.hours", lang, h=hours, m=minutes)
    days, hours = divmod(hours, 24)
    return t("ui.duration.days", lang, d=days, h=hours)


def _filesize(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _text(key: str, lang: Lang, **params: object) -> str:
    """A ui.* key that may be missing (a role or tier added later) falls back to the code."""
    return t(key, lang, **params) if key in MESSAGES else key.rsplit(".", 1)[-1]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _query(request: Request, changes: dict[str, object]) -> str:
    """The current page's URL with some query parameters replaced (None or '' drops one)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    params += [(k, str(v)) for k, v in changes.items() if v not in (None, "")]
    params = [(k, v) for k, v in params if v != ""]
    return f"{request.url.path}?{urlencode(params)}" if params else request.url.path


def pop_flash(request: Request) -> dict[str, str] | None:
    """The message left by the previous POST, shown once: on the next whole page, never on
    a fragment a page script fetches (`X-Fragment`), which would otherwise take the message
    meant for the page the POST redirects to (the consult desk refreshes its lists live)."""
    if "session" not in request.scope or request.headers.get("x-fragment"):
        return None
    value = request.session.pop(FLASH_KEY, None)
    return value if isinstance(value, dict) else None


def _page_context(request: Request) -> dict[str, Any]:
    lang = request_lang(request)
    flash = pop_flash(request)
    return {
        "lang": lang,
        "other_lang": "en" if lang == "zh" else "zh",
        "_": lambda key, **params: t(key, lang, **params),
        "status_label": lambda code: label(STATUS_LABELS, code, lang),
        "type_label": lambda code: label(TICKET_TYPE_LABELS, code, lang),
        "channel_label": lambda code: label(CHANNEL_LABELS, code, lang),
        # English action names are written to sit inside sentences; headings start upper case.
        "action_label": lambda code: _capital(label(ACTION_LABELS, code, lang)),
        "field_name": lambda name: _capital(field_label(name)[0 if lang == "zh" else 1]),
        "role_label": lambda role: _text(f"ui.role.{role}", lang),
        # A settlement rule by name; a company's own rule by its code.
        "rule_label": lambda code: (
            t(f"settlement.rule.{code}", lang) if f"settlement.rule.{code}" in MESSAGES else code
        ),
        "urgency_label": lambda code: _text(f"ui.urgency.{code}", lang),
        "tier_label": lambda code: _text(f"ui.tier.{code}", lang),
        "duration": lambda seconds: duration(seconds, lang),
        "csrf_token": lambda: csrf.token(request),
        "csrf_field": csrf.FIELD,
        "query": lambda **changes: _query(request, changes),
        "user": getattr(request.state, "user", None),
        "flash": (flash.get(lang) or flash.get("zh")) if flash else None,
        "flash_kind": flash.get("kind") if flash else None,
        # Demo mode is shown on every staff page, so nobody mistakes it for production.
        "demo_mode": bool(
            getattr(request.app.state, "settings", None) and request.app.state.settings.demo_mode
        ),
        "STATUS_LABELS": STATUS_LABELS,
        "TICKET_TYPE_LABELS": TICKET_TYPE_LABELS,
    }


def yuan(value: Decimal | int | float | str | None, grouped: bool = True) -> str:
    """An amount in yuan as a reader writes it: ¥220.00, ¥12,340.00 with thousands separators
    on every page alike (a tester saw ¥1460.00 beside ¥5,000.00), a refund as -¥85.00 (not
    ¥-85.00); `grouped=False` for a figure a machine reads back."""
    if value is None or value == "":
        return ""
    amount = Decimal(str(value))
    digits = f"{abs(amount):,.2f}" if grouped else f"{abs(amount):.2f}"
    return f"-¥{digits}" if amount < 0 else f"¥{digits}"


@pass_context
def category_filter(context: Any, name: str | None) -> str:
    """Jinja: `{{ ticket.product | category }}`: a product category in the reader's language.
    Categories are the company's own data: the usual household ones have an English name
    (`category.<name>`), any other is shown as the company wrote it."""
    if not name:
        return ""
    key = f"category.{name}"
    return t(key, context.get("lang", "zh")) if key in MESSAGES else name


@pass_context
def city_filter(context: Any, name: str | None) -> str:
    """Jinja: `{{ row.city | city }}`: a city in the reader's language. The big cities have an
    English name (`city.<name>`, with or without 市); any other is shown as written."""
    if not name:
        return ""
    lang = context.get("lang", "zh")
    if lang == "zh":
        return name
    for key in (f"city.{name}", f"city.{name.removesuffix('市')}"):
        if key in MESSAGES:
            return t(key, lang)
    return name


@pass_context
def memo_filter(context: Any, row: memos.HasMemo) -> str:
    """Jinja: `{{ line | memo }}`: a ledger or statement line's memo in the reader's language
    (one written before memos kept their meaning: as written)."""
    return memos.of(row, context.get("lang", "zh"))


@pass_context
def described_filter(context: Any, txn: memos.HasDescription) -> str:
    """Jinja: `{{ txn | described }}`: a ledger transaction's description in the reader's
    language (one stored before descriptions kept their meaning: as written)."""
    return memos.described(txn, context.get("lang", "zh"))


@pass_context
def account_filter(context: Any, row: LedgerAccount) -> str:
    """Jinja: `{{ entry.account | account }}`: a ledger account's name in the reader's language."""
    return ledger.account_label(row, context.get("lang", "zh"))


templates = Jinja2Templates(
    directory=str(ROOT / "portal" / "templates"), context_processors=[_page_context]
)
templates.env.filters["local"] = _local
templates.env.filters["filesize"] = _filesize
templates.env.filters["yuan"] = yuan
templates.env.filters["category"] = category_filter
templates.env.filters["city"] = city_filter
templates.env.filters["memo"] = memo_filter
templates.env.filters["described"] = described_filter
templates.env.filters["account"] = account_filter
# Phones shown to the page's reader as their role allows (portal.privacy.masking).
masking.install(templates.env)
# Defaults for pages rendered outside a staff request; the context processor localises them.
templates.env.globals.update(
    t=t,
    status_label=lambda code: label(STATUS_LABELS, code),
    type_label=lambda code: label(TICKET_TYPE_LABELS, code),
    channel_label=lambda code: label(CHANNEL_LABELS, code),
    STATUS_LABELS=STATUS_LABELS,
)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    """A page from its template (in the language ?lang= asks for, remembered)."""
    page = templates.TemplateResponse(request, name, context or {}, status_code=status_code)
    return remember_lang(request, page)


def flash(request: Request, kind: str, zh: str, en: str) -> None:
    """Leave a message (kind "ok" or "error") for the next page this session sees."""
    request.session[FLASH_KEY] = {"kind": kind, "zh": zh, "en": en}


def flash_error(request: Request, exc: PortalError) -> None:
    """Leave a refused request's message for the next page."""
    flash(request, "error", exc.message_zh, exc.message_en)


def flash_invalid(request: Request, errors: Iterable[Mapping[str, Any]]) -> None:
    """Leave the messages of a form that did not validate (a schema's pydantic errors)."""
    # Located as if in a request body, so a field called "body" keeps its name.
    named = validation_errors([{**err, "loc": ("body", *err.get("loc", ()))} for err in errors])
    flash(
        request,
        "error",
        "；".join(e["message_zh"] for e in named) or t("error.invalid_request", "zh"),
        "; ".join(e["message_en"] for e in named) or t("error.invalid_request", "en"),
    )


def safe_path(target: str, default: str = "/tickets") -> str:
    """Only local paths, so no link of ours can bounce anyone to another site."""
    return target if target.startswith("/") and not target.startswith("//") else default


def see_other(url: str) -> RedirectResponse:
    """The redirect after a POST (post/redirect/get)."""
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, exc: PortalError) -> Response:
    """The error page for a refused page request, in the reader's language."""
    message = exc.message_zh if request_lang(request) == "zh" else exc.message_en
    return render(
        request, "error.html", {"status": exc.status_code, "message": message}, exc.status_code
    )


class PageRoute(APIRoute):
    """A route that answers a PortalError with the HTML error page instead of JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler."""
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except PortalError as exc:
                return error_page(request, exc)
            except RequestValidationError as exc:
                errors = list(exc.errors())
                if any(err.get("loc", ("",))[0] == "path" for err in errors):
                    # /customers/abc names nothing that exists: the plain 404 page.
                    return render(request, "error.html", {"status": 404, "message": None}, 404)
                named = validation_errors(errors)
                refused = PortalError("error.invalid_request")
                refused.status_code = 422
                refused.message_zh += "：" + "；".join(e["message_zh"] for e in named)
                refused.message_en += ": " + "; ".join(e["message_en"] for e in named)
                return error_page(request, refused)

        return page_handler


# Any staff member's page (the caller is remembered for the page header), and the desk's.
Staff = Annotated[Principal, STAFF.page]
Desk = Annotated[Principal, DESK.page]
# Every page router: HTML errors, and the CSRF check on each POST.
PAGE_ROUTER_OPTIONS: dict[str, Any] = {
    "route_class": PageRoute,
    "dependencies": [Depends(csrf.protect)],
}
