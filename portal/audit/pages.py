"""The audit log page for admins: who changed what and when, filtered by who, by the kind and
id of the object, and by a time range (Beijing time), a page at a time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.accounts.service import actor_names
from portal.audit import service
from portal.audit.policies import AuditorPage
from portal.audit.views import masked
from portal.database import Base, SessionDep
from portal.i18n import ACTION_LABELS, MESSAGES, STATUS_LABELS, Lang, field_label, t
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


# How users know an object of each kind (the columns that name it, first non-empty, or all
# joined for a part: code and name) and where its page is ({id} or a named column).
NAMED: dict[str, tuple[tuple[str, ...], bool, str | None]] = {
    "tickets": (("number",), False, "/tickets/{number}"),
    "users": (("display_name", "username"), False, "/staff/{id}"),
    "customers": (("name",), False, "/customers/{id}"),
    "engineers": (("name",), False, None),
    "service_networks": (("name",), False, None),
    "parts": (("code", "name"), True, None),
    "quotes": (("number",), False, None),
    "receipts": (("number",), False, None),
    "shortage_orders": (("number",), False, None),
    "statements": (("number",), False, "/settlement/statements/{id}"),
    "products": (("name",), False, None),
    "product_models": (("code", "name"), True, None),
    "stock_locations": (("name", "code"), False, None),
    "assets": (("serial_number",), False, "/assets/{id}"),
    "complaints": ((), False, "/complaints/{id}"),
    "sop_jobs": (("title",), False, "/sop/{id}"),
    "maintenance_plans": (("name",), False, None),
    "rate_cards": (("name",), False, "/settlement/rate-cards/{id}"),
}
Ref = tuple[str, int]
# Where the words for each kind of object's status are (a ticket's are STATUS_LABELS).
STATUS_WORDS: dict[str, str] = {
    "defective_returns": "parts.return.",
    "quotes": "fees.quote.",
    "shortage_orders": "parts.shortage.",
    "consults": "consult.status.",
    "statements": "settlement.status.",
    "complaints": "complaints.status.",
}
# Codes read as words: "<table>.<column>" (or a key inside a JSON field) → message prefix.
CODE_WORDS: dict[str, str] = {
    "complaints.confirmation": "complaints.confirmation.",
    "complaints.source": "complaints.source.",
    "complaints.reason": "complaints.reason.",
    "sla_timers.state": "sla.state.",
    "fault_cause": "costs.cause.",
}


def _code_word(entity: str, key: str, value: Any, lang: Lang) -> str | None:
    """A code the log holds (awaiting, improper_use) as the word users know, if it has one."""
    prefix = CODE_WORDS.get(f"{entity}.{key}") or CODE_WORDS.get(key)
    if prefix is None or not isinstance(value, str) or f"{prefix}{value}" not in MESSAGES:
        return None
    return t(f"{prefix}{value}", lang)


# Actors as records write them in a text field (created_by, decided_by, actor …).
_ACTOR = re.compile(r"^(user|customer|service|system|widget|bot):")


@dataclass(frozen=True, slots=True)
class Named:
    """An object as a reader knows it: its name (the id when it has none) and its page."""

    name: str
    link: str | None


def _target(entity: str, key: str) -> str | None:
    """The table a field of `entity` points at (owner_id → users), if any."""
    table = Base.metadata.tables.get(entity)
    if table is None or key not in table.c:
        return None
    targets = {fk.column.table.name for fk in table.c[key].foreign_keys}
    return next(iter(targets)) if len(targets) == 1 else None


def _as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


def name_objects(session: Session, refs: set[Ref]) -> dict[Ref, Named]:
    """The names and pages of these objects (table, id), a query per kind of object."""
    out: dict[Ref, Named] = {}
    by_table: dict[str, set[int]] = {}
    for table, id_ in refs:
        by_table.setdefault(table, set()).add(id_)
    for name, ids in by_table.items():
        columns, joined, link = NAMED.get(name, ((), False, None))
        found = Base.metadata.tables.get(name)
        if found is None or "id" not in found.c:
            continue
        wanted = [c for c in columns if c in found.c]
        for row in session.execute(
            select(found.c.id, *(found.c[c] for c in wanted)).where(found.c.id.in_(ids))
        ).mappings():
            words = [str(row[c]) for c in wanted if row[c] not in (None, "")]
            shown = (" ".join(words) if joined else words[0]) if words else f"#{row['id']}"
            where = link.format(**{k: row[k] for k in row}) if link else None
            out[name, row["id"]] = Named(shown, where)
    return out


def _refs(entity: str, entity_id: str, *rows: dict[str, Any] | None) -> set[Ref]:
    """The objects a record names: itself, and every id its fields point at."""
    found: set[Ref] = set()
    own = _as_id(entity_id)
    if own is not None and entity in NAMED:
        found.add((entity, own))
    for row in rows:
        for key, value in (row or {}).items():
            target, id_ = _target(entity, key), _as_id(value)
            if target is not None and id_ is not None:
                found.add((target, id_))
    return found


def _plain_value(value: Any, lang: Lang) -> str:
    """A value inside a JSON field, briefly: yes/no, a list joined, a time in China time."""
    if isinstance(value, bool):
        return t("ui.yes" if value else "ui.no", lang)
    if isinstance(value, list):
        return ("、" if lang == "zh" else ", ").join(_plain_value(v, lang) for v in value)
    if isinstance(value, dict):
        return _summary(value, lang)
    return str(_moment_text(value) if isinstance(value, str) else value)


def _summary(value: dict[str, Any], lang: Lang) -> str:
    """A JSON object as what it holds, each key by its label: 期望上门时间：周三上午；…"""
    colon, sep = ("：", "；") if lang == "zh" else (": ", "; ")
    parts = [
        f"{field_label(str(k))[0 if lang == 'zh' else 1]}{colon}"
        f"{_code_word('', str(k), v, lang) or _plain_value(v, lang)}"
        for k, v in value.items()
        if v not in (None, "", [], {})
    ]
    return sep.join(parts)


def _moment_text(value: str) -> str:
    """A stored date or time as a reader writes it: a moment in China time to the second,
    a time of day to the minute; anything else unchanged."""
    if len(value) == 8 and value[2] == ":" and value[5] == ":" and value.replace(":", "").isdigit():
        return value[:5]
    if len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is not None:
            moment = moment.astimezone(DISPLAY_ZONE)
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return value


def _value(
    key: str,
    value: Any,
    lang: Lang,
    *,
    entity: str = "",
    names: dict[Ref, Named] | None = None,
    actors: dict[str, str] | None = None,
) -> Any:
    """A stored value as a reader writes it: yes/no, a role by name, a time in China time
    (records keep UTC ISO strings), an id by the name of what it points at, an actor by
    name, a JSON object as what it holds; anything else as stored."""
    if isinstance(value, bool):
        return t("ui.yes" if value else "ui.no", lang)
    if key == "role" and isinstance(value, str) and f"ui.role.{value}" in MESSAGES:
        return t(f"ui.role.{value}", lang)
    if key == "urgency" and isinstance(value, str) and f"ui.urgency.{value}" in MESSAGES:
        return t(f"ui.urgency.{value}", lang)
    if key == "action" and entity == "ticket_events" and value in ACTION_LABELS:
        return ACTION_LABELS[value][0 if lang == "zh" else 1]
    if key in ("status", "from_status", "to_status") and isinstance(value, str):
        if entity in ("tickets", "ticket_events") and value in STATUS_LABELS:
            return STATUS_LABELS[value][0 if lang == "zh" else 1]
        word = f"{STATUS_WORDS.get(entity, '')}{value}"
        if entity in STATUS_WORDS and word in MESSAGES:
            return t(word, lang)
    spoken = _code_word(entity, key, value, lang)
    if spoken is not None:
        return spoken
    target, id_ = _target(entity, key), _as_id(value)
    if names is not None and target is not None and id_ is not None and (target, id_) in names:
        return names[target, id_].name
    if isinstance(value, dict):
        return _summary(value, lang)
    if isinstance(value, list):
        return _plain_value(value, lang)
    if isinstance(value, str):
        if actors and value in actors:
            return actors[value]
        return _moment_text(value)
    return value


def changes(
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    lang: Lang = "zh",
    *,
    entity: str = "",
    names: dict[Ref, Named] | None = None,
    actors: dict[str, str] | None = None,
) -> list[dict[str, str]]:
    """What a record changed, field by field (for an update only the fields that differ), each
    field by its label and each value as a reader writes it (a tester read is_active True →
    False, a UTC timestamp on a page in China time, owner_id 7 and a JSON object)."""
    if before is not None and after is not None:
        keys = [k for k in after if before.get(k) != after.get(k)]
    else:
        keys = list((after if after is not None else before) or {})

    def shown(row: dict[str, Any], key: str) -> str:
        value = _value(key, row.get(key), lang, entity=entity, names=names, actors=actors)
        return _short(value)

    return [
        {
            "field": k,
            "label": field_label(k, entity)[0 if lang == "zh" else 1],
            "before": shown(before, k) if before is not None else "",
            "after": shown(after, k) if after is not None else "",
        }
        for k in keys
    ]


def _record_actors(rows: list[dict[str, Any] | None]) -> set[str]:
    return {
        v for row in rows for v in (row or {}).values() if isinstance(v, str) and _ACTOR.match(v)
    }


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
    shown_rows = [(r, masked(r.before), masked(r.after)) for r in rows]
    refs: set[Ref] = set()
    for r, before, after in shown_rows:
        refs |= _refs(r.entity, r.entity_id, before, after)
    objects = name_objects(session, refs)
    names_of = actor_names(
        session,
        {r.actor for r in rows} | _record_actors([x for _, b, a in shown_rows for x in (b, a)]),
        lang,
    )
    records = []
    for r, before, after in shown_rows:
        own = _as_id(r.entity_id)
        ticket_id = _as_id((after or before or {}).get("ticket_id"))
        records.append(
            {
                "row": r,
                "who": names_of.get(r.actor, r.actor),
                # The object as users know it (工单 SR…, a part's code and name), linked.
                "object": objects.get((r.entity, own)) if own is not None else None,
                # What a ticket's own record (an event, a visit, a comment) belongs to.
                "ticket": objects.get(("tickets", ticket_id))
                if ticket_id is not None and r.entity != "tickets"
                else None,
                "changes": changes(
                    before, after, lang, entity=r.entity, names=objects, actors=names_of
                ),
            }
        )
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
