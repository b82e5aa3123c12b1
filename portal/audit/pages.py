"""The audit log page for admins: who changed what and when, filtered by who, by the kind and
id of the object, and by a time range (Beijing time), a page at a time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from portal.accounts.models import User
from portal.accounts.service import display_names
from portal.audit import service
from portal.audit.policies import AuditorPage
from portal.audit.views import masked
from portal.database import Base, SessionDep
from portal.i18n import MESSAGES, Lang, field_label, t
from portal.templating import DISPLAY_ZONE, PAGE_ROUTER_OPTIONS, render, request_lang

router = APIRouter(**PAGE_ROUTER_OPTIONS)

PAGE_SIZE = 50
# A value longer than this is cut in the table (the whole record stays in the API).
SHOWN = 160
TIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


def _entities() -> list[str]:
    """Every table the log may hold records of."""
    return sorted(name for name in Base.metadata.tables if name not in service.SKIPPED)


def entity_label(name: str, lang: Lang) -> str:
    """What an object type (a table) is called in the reader's language; the table's own
    name for one without a label (tests/audit check that every table has one)."""
    key = f"audit.entity.{name}"
    return t(key, lang) if key in MESSAGES else name


def _moment(text: str) -> datetime | None:
    """A time typed in the filter (Beijing time) as UTC; None for none; ValueError if bad."""
    text = text.strip()
    if not text:
        return None
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=DISPLAY_ZONE)
        except ValueError:
            continue
    raise ValueError(text)


def _actor(session: SessionDep, typed: str) -> str | None:
    """The actor a filter names: a username, or an actor as the log writes it (user:12)."""
    typed = typed.strip()
    if not typed or ":" in typed:
        return typed or None
    user_id = session.scalar(select(User.id).where(User.username == typed))
    return f"user:{user_id}" if user_id is not None else None


def _short(value: Any) -> str:
    text = "—" if value is None or value == "" else str(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def _value(key: str, value: Any, lang: Lang) -> Any:
    """A stored value as a reader writes it: yes/no, a role by name, a time in China time
    (records keep UTC ISO strings); anything else as stored."""
    if isinstance(value, bool):
        return t("ui.yes" if value else "ui.no", lang)
    if key == "role" and isinstance(value, str) and f"ui.role.{value}" in MESSAGES:
        return t(f"ui.role.{value}", lang)
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is not None:
            return moment.astimezone(DISPLAY_ZONE).strftime("%Y-%m-%d %H:%M:%S")
    return value


def changes(
    before: dict[str, Any] | None, after: dict[str, Any] | None, lang: Lang = "zh"
) -> list[dict[str, str]]:
    """What a record changed, field by field (for an update only the fields that differ), each
    field by its label and each value as a reader writes it (a tester read is_active True →
    False and a UTC timestamp on a page in China time)."""
    if before is not None and after is not None:
        keys = [k for k in after if before.get(k) != after.get(k)]
    else:
        keys = list((after if after is not None else before) or {})
    return [
        {
            "field": k,
            "label": field_label(k)[0 if lang == "zh" else 1],
            "before": _short(_value(k, before.get(k), lang)) if before is not None else "",
            "after": _short(_value(k, after.get(k), lang)) if after is not None else "",
        }
        for k in keys
    ]


@router.get("/audit", response_class=Response)
def audit_page(
    request: Request,
    session: SessionDep,
    _admin: AuditorPage,
    actor: Annotated[str, Query(max_length=64)] = "",
    entity: Annotated[str, Query(max_length=32)] = "",
    entity_id: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[str, Query(alias="from", max_length=20)] = "",
    until: Annotated[str, Query(alias="to", max_length=20)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The audit log, newest first, filtered; a bad filter says why and keeps what was typed."""
    lang = request_lang(request)
    problems: list[str] = []
    try:
        start = _moment(since)
    except ValueError:
        problems.append(t("ui.audit.bad_time", lang, what=t("ui.audit.from", lang)))
        start = None
    try:
        end = _moment(until)
    except ValueError:
        problems.append(t("ui.audit.bad_time", lang, what=t("ui.audit.to", lang)))
        end = None
    if end is not None and len(until.strip()) == len("2026-11-20"):
        end += timedelta(days=1)  # a date alone means up to the end of that day
    if start is not None and end is not None and end <= start:
        problems.append(t("ui.audit.bad_range", lang))
    who = _actor(session, actor)
    if actor.strip() and who is None:
        problems.append(t("ui.audit.no_such_actor", lang, name=actor.strip()))
    rows = []
    if not problems:
        rows = service.list_records(
            session,
            entity=entity.strip() or None,
            entity_id=entity_id.strip() or None,
            actor=who,
            since=start,
            until=end,
            page=page,
            page_size=PAGE_SIZE,
            peek=True,
        )
    has_next = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    ids = {int(r.actor[5:]) for r in rows if r.actor.startswith("user:") and r.actor[5:].isdigit()}
    names = display_names(session, user_ids=ids)
    records = [
        {
            "row": r,
            "who": names.get(int(r.actor[5:]), r.actor)
            if r.actor.startswith("user:") and r.actor[5:].isdigit()
            else r.actor,
            "changes": changes(masked(r.before), masked(r.after), lang),
        }
        for r in rows
    ]
    usernames = list(session.scalars(select(User.username).order_by(User.username).limit(500)))
    return render(
        request,
        "audit/log.html",
        {
            "records": records,
            "problems": problems,
            "actor": actor,
            "entity": entity,
            "entity_id": entity_id,
            "since": since,
            "until": until,
            "page": page,
            "has_next": has_next,
            "entities": sorted(
                ((e, entity_label(e, lang)) for e in _entities()), key=lambda pair: pair[1]
            ),
            "entity_label": lambda name: entity_label(name, lang),
            "usernames": usernames,
        },
        status_code=422 if problems else 200,
    )
