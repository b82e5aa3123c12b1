"""The knowledge editors' pages under /knowledge: browse and search the FAQ, edit or add an
entry (written back to its YAML file, comments kept), try a question, the unanswered
questions, the history of changes. For knowledge editors and admins.

Thin: loading, searching and saving live in flows, the tables in service. A refused save
shows the form again with every problem in Chinese and English and the editor's text kept.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from knowledge_base import Entry, Hit, KnowledgeBase
from portal.database import SessionDep
from portal.errors import Conflict, NotFound, PortalError
from portal.i18n import both, t
from portal.knowledge import flows, service
from portal.knowledge.policies import EDIT, EditorPage
from portal.security import Principal
from portal.templating import PAGE_ROUTER_OPTIONS, flash, render, request_lang, see_other

router = APIRouter(prefix="/knowledge", **PAGE_ROUTER_OPTIONS)

PAGE_SIZE = 50
LANGS = ("zh", "en")
ENTRY_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
# Generous here so an over-long form is shown again with the reason, not thrown away.
FormText = Annotated[str, Form(max_length=50_000)]
QUESTION_MAX = 300
ANSWER_MAX = 10_000
ALTERNATES_MAX = 100
_SPLIT_TAGS = re.compile(r"[,，;；\n]+")
_SPLIT_PRODUCTS = re.compile(r"[\s,，;；]+")


Editor = EditorPage
# Who may open these pages (the nav's links follow it): the `kb.edit` policy.
EDITOR_ROLES = EDIT.roles
EntryId = Annotated[str, Path(pattern=ENTRY_ID)]


def _context(request: Request, kb: KnowledgeBase | None, **extra: Any) -> dict[str, Any]:
    """What every editor page shows: the index's state and the FAQ folder's problems."""
    lang = request_lang(request)
    errors = [service.issue_messages(i) for i in kb.errors] if kb is not None else []
    return {
        "kb": kb,
        "kb_error": getattr(request.app.state, "kb_error", ""),
        "folder_errors": [zh if lang == "zh" else en for zh, en in errors],
        "section": request.url.path.split("/")[2] if request.url.path.count("/") > 1 else "",
        **extra,
    }


def _kb(request: Request) -> KnowledgeBase:
    return flows.current(request)


# ---------------------------------------------------------------- browse


@router.get("")
def entry_list(
    request: Request,
    session: SessionDep,
    user: Editor,
    category: Annotated[str, Query(max_length=100)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    """Every entry, by category, filtered by words in its id, question, alternates or answer."""
    kb = getattr(request.app.state, "kb", None)
    if kb is None:
        return render(request, "knowledge/list.html", _context(request, None, entries=[]))
    categories = kb.categories()
    chosen = category if category in categories else ""
    entries = kb.entries(chosen or None)
    words = q.strip().lower().split()
    if words:
        entries = [e for e in entries if all(w in _haystack(e) for w in words)]
    total = len(entries)
    shown = entries[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    counts = service.feedback_counts(session, entry_ids=[e.id for e in shown])
    context = _context(
        request,
        kb,
        entries=shown,
        total=total,
        page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        categories=categories,
        category=chosen,
        q=q.strip(),
        counts=counts,
        stats=kb.stats,
    )
    return render(request, "knowledge/list.html", context)


def _haystack(entry: Entry) -> str:
    return "\n".join(
        [entry.id, entry.question, *entry.alternates, *entry.tags, entry.answer]
    ).lower()


# ---------------------------------------------------------------- one entry


def _values(entry: Entry | None) -> dict[str, str]:
    """An entry as the form shows it."""
    if entry is None:
        return {
            "id": "",
            "question": "",
            "alternates": "",
            "tags": "",
            "products": "",
            "lang": "zh",
            "answer": "",
        }
    return {
        "id": entry.id,
        "question": entry.question,
        "alternates": "\n".join(entry.alternates),
        "tags": ", ".join(entry.tags),
        "products": ", ".join(entry.products),
        "lang": entry.lang,
        "answer": entry.answer,
    }


def _fields(values: dict[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The form as entry fields, and what is wrong with it before the FAQ library looks."""
    alternates = [line.strip() for line in values["alternates"].splitlines() if line.strip()]
    fields: dict[str, Any] = {
        "id": values["id"].strip(),
        "question": " ".join(values["question"].split()),
        "alternates": alternates,
        "tags": [w.strip() for w in _SPLIT_TAGS.split(values["tags"]) if w.strip()],
        "products": [w.upper() for w in _SPLIT_PRODUCTS.split(values["products"]) if w],
        "lang": values["lang"] if values["lang"] in LANGS else "zh",
        "answer": values["answer"].replace("\r\n", "\n").strip(),
    }
    if fields["lang"] == "zh":
        del fields["lang"]  # the default, left out as the files leave it out
    problems = []
    if len(fields["question"]) > QUESTION_MAX:
        problems.append(both("kb.form.too_long", field="kb_question", n=QUESTION_MAX))
    if len(fields["answer"]) > ANSWER_MAX:
        problems.append(both("kb.form.too_long", field="kb_answer", n=ANSWER_MAX))
    if len(alternates) > ALTERNATES_MAX or any(len(a) > QUESTION_MAX for a in alternates):
        problems.append(both("kb.form.alternates", n=ALTERNATES_MAX, chars=QUESTION_MAX))
    return fields, problems


def entry_form(
    id: FormText = "",
    question: FormText = "",
    alternates: FormText = "",
    tags: FormText = "",
    products: FormText = "",
    lang: FormText = "zh",
    answer: FormText = "",
) -> dict[str, str]:
    """The entry form's fields as the editor typed them (the edit form sends its id read-only)."""
    return {
        "id": id,
        "question": question,
        "alternates": alternates,
        "tags": tags,
        "products": products,
        "lang": lang,
        "answer": answer,
    }


EntryForm = Annotated[dict[str, str], Depends(entry_form)]


def _files(kb: KnowledgeBase) -> list[str]:
    return sorted({e.source for e in kb.entries()})


def _entry_page(
    request: Request,
    session: Session,
    kb: KnowledgeBase,
    *,
    entry: Entry | None,
    values: dict[str, str],
    errors: list[tuple[str, str]] | None = None,
    status: int = 200,
    version: str = "",
    path: str = "",
    new_path: str = "",
    unanswered_id: str = "",
) -> Response:
    lang = request_lang(request)
    history: list[Any] = []
    counts = service.FeedbackCount()
    if entry is not None:
        revisions, _ = service.list_revisions(session, entry_id=entry.id, limit=20)
        history = [(r, service.revision_diff(r)) for r in revisions]
        counts = service.feedback_counts(session, entry_ids=[entry.id]).get(
            entry.id, service.FeedbackCount()
        )
    context = _context(
        request,
        kb,
        entry=entry,
        values=values,
        errors=[zh if lang == "zh" else en for zh, en in errors or []],
        version=version or (service.entry_version(entry) if entry else ""),
        files=_files(kb),
        path=path,
        new_path=new_path,
        unanswered_id=unanswered_id,
        history=history,
        counts=counts,
        langs=LANGS,
        preview=service.answer_html(values["answer"]) if values["answer"].strip() else None,
    )
    return render(request, "knowledge/entry.html", context, status)


@router.get("/entries/{entry_id}")
def entry_page(request: Request, session: SessionDep, user: Editor, entry_id: EntryId) -> Response:
    """One entry's form, its feedback counts and its history."""
    kb = _kb(request)
    entry = kb.get(entry_id)
    if entry is None:
        raise NotFound("object.kb_entry")
    return _entry_page(request, session, kb, entry=entry, values=_values(entry))


def _save(
    request: Request,
    session: Session,
    kb: KnowledgeBase,
    user: Principal,
    values: dict[str, str],
    *,
    problems: list[tuple[str, str]],
    page: dict[str, Any],
    **where: Any,
) -> Response:
    """Save the form through flows and go to the entry; or show the form again with why not.

    `page` is what the form needs to be shown again (the entry, or the file chosen for a new
    one), `where` what flows.save_entry needs to know which entry or file is written."""

    def again(errors: list[tuple[str, str]], status: int) -> Response:
        return _entry_page(
            request, session, kb, values=values, errors=errors, status=status, **page
        )

    fields, form_problems = _fields(values)
    problems = form_problems + problems
    if problems:
        return again(problems, 422)
    try:
        saved = flows.save_entry(session, kb=kb, fields=fields, editor=user, **where)
    except service.EntryInvalid as exc:
        return again(exc.messages, 422)
    except Conflict as exc:  # only an edit can be stale
        return again([(exc.message_zh, exc.message_en)], 409)
    _saved_flash(request, kb, saved)
    return see_other(f"/knowledge/entries/{saved.id}")


@router.post("/entries/{entry_id}")
def save_entry(
    request: Request,
    session: SessionDep,
    user: Editor,
    entry_id: EntryId,
    values: EntryForm,
    version: FormText = "",
) -> Response:
    """Write the edited entry back to its file (comments and layout kept), then reload."""
    kb = _kb(request)
    entry = kb.get(entry_id)
    if entry is None:
        raise NotFound("object.kb_entry")
    values["id"] = entry_id  # the address names the entry, not the read-only field
    return _save(
        request,
        session,
        kb,
        user,
        values,
        problems=[],
        page={"entry": entry, "version": version},
        entry_id=entry_id,
        version=version,
    )


def _saved_flash(request: Request, kb: KnowledgeBase, saved: Entry) -> None:
    if kb.errors:
        # Written, but another file is broken: search keeps the previous index until fixed.
        flash(
            request,
            "warn",
            t("kb.saved_not_live", "zh", id=saved.id),
            t("kb.saved_not_live", "en", id=saved.id),
        )
    else:
        flash(request, "ok", t("kb.saved", "zh", id=saved.id), t("kb.saved", "en", id=saved.id))


@router.get("/new")
def new_page(
    request: Request,
    session: SessionDep,
    user: Editor,
    question: Annotated[str, Query(max_length=QUESTION_MAX)] = "",
    path: Annotated[str, Query(max_length=255)] = "",
    unanswered: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    """A blank entry form; from an unanswered question, prefilled with it."""
    kb = _kb(request)
    values = _values(None)
    values["question"] = question
    if unanswered is not None:
        values["question"] = service.get_unanswered(session, unanswered_id=unanswered).query
    return _entry_page(
        request,
        session,
        kb,
        entry=None,
        values=values,
        path=path,
        unanswered_id=str(unanswered or ""),
    )


@router.post("/new")
def create_entry(
    request: Request,
    session: SessionDep,
    user: Editor,
    values: EntryForm,
    path: FormText = "",
    new_path: FormText = "",
    unanswered_id: FormText = "",
) -> Response:
    """Add an entry to an existing FAQ file or a new one."""
    kb = _kb(request)
    target = new_path.strip() or path.strip()
    row = None
    if unanswered_id.strip().isdigit():
        row = service.get_unanswered(session, unanswered_id=int(unanswered_id))
    return _save(
        request,
        session,
        kb,
        user,
        values,
        problems=[] if target else [both("kb.form.no_file")],
        page={"entry": None, "path": path, "new_path": new_path, "unanswered_id": unanswered_id},
        path=target,
        unanswered=row,
    )


# ---------------------------------------------------------------- try a question


@router.get("/try")
def try_page(
    request: Request,
    user: Editor,
    q: Annotated[str, Query(max_length=500)] = "",
    product: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    """What customers would get for a question: the ranking with scores and bands (not logged)."""
    kb = _kb(request)
    band, hits = "", list[Hit]()
    if q.strip():
        band, hits = flows.search(None, kb=kb, query=q.strip(), k=10, product=product, source=None)
    context = _context(
        request, kb, q=q.strip(), product=product, band=band, hits=hits, config=kb.config
    )
    name = (
        "knowledge/_ranking.html"
        if request.headers.get("hx-target") == "ranking"
        else ("knowledge/try.html")
    )
    return render(request, name, context)


# ---------------------------------------------------------------- unanswered questions


@router.get("/unanswered")
def unanswered_page(
    request: Request,
    session: SessionDep,
    user: Editor,
    status: Annotated[str, Query(pattern="^(open|resolved|dismissed)$")] = "open",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    """Questions nothing answered, most asked first, with the entries that came closest."""
    kb = getattr(request.app.state, "kb", None)
    rows, total = service.list_unanswered(
        session, status=status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    # The nearest entries, offered as "add as another way of asking".
    near = {r.id: kb.search(r.query, k=3) if kb is not None else [] for r in rows}
    context = _context(
        request,
        kb,
        rows=rows,
        total=total,
        page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        status=status,
        states=service.UNANSWERED_STATES,
        near=near,
    )
    return render(request, "knowledge/unanswered.html", context)


@router.post("/unanswered/{row_id}/alternate")
def add_alternate(
    request: Request,
    session: SessionDep,
    user: Editor,
    row_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    entry_id: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Add the question to an entry as another way of asking it."""
    kb = _kb(request)
    row = service.get_unanswered(session, unanswered_id=row_id)
    try:
        saved = flows.add_alternate(
            session, kb=kb, unanswered=row, entry_id=entry_id.strip(), editor=user
        )
    except PortalError as exc:
        message = exc.message_zh, exc.message_en
        flash(request, "error", *message)
        return see_other("/knowledge/unanswered")
    flash(
        request,
        "ok",
        t("kb.alternate_added", "zh", q=row.query, id=saved.id),
        t("kb.alternate_added", "en", q=row.query, id=saved.id),
    )
    return see_other("/knowledge/unanswered")


@router.post("/unanswered/{row_id}/dismiss")
def dismiss(
    request: Request,
    session: SessionDep,
    user: Editor,
    row_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> Response:
    """Take a question off the list: not something the FAQ should answer."""
    row = service.get_unanswered(session, unanswered_id=row_id)
    service.close_unanswered(session, row=row, status="dismissed", actor=user.actor)
    flash(request, "ok", t("kb.dismissed", "zh", q=row.query), t("kb.dismissed", "en", q=row.query))
    return see_other("/knowledge/unanswered")


# ---------------------------------------------------------------- history and reload


@router.get("/history")
def history_page(
    request: Request,
    session: SessionDep,
    user: Editor,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    """Every saved change, newest first: who, when, which entry, what changed."""
    kb = getattr(request.app.state, "kb", None)
    revisions, total = service.list_revisions(
        session, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    context = _context(
        request,
        kb,
        history=[(r, service.revision_diff(r)) for r in revisions],
        total=total,
        page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
    )
    return render(request, "knowledge/history.html", context)


@router.post("/reload")
def reload(request: Request, user: Editor) -> Response:
    """Read the FAQ files again now (they are also watched); a broken file keeps the old index."""
    kb = _kb(request)
    if kb.reload():
        n = len(kb.entries())
        flash(request, "ok", t("kb.reloaded", "zh", n=n), t("kb.reloaded", "en", n=n))
    else:
        flash(request, "error", t("kb.reload_failed", "zh"), t("kb.reload_failed", "en"))
    return see_other("/knowledge")
