"""Master data pages: a list and an edit form per kind, the spreadsheet import (dry run
report, apply) and the downloads. Thin: the same service saves a form, an API call and a
spreadsheet row."""

# No `from __future__ import annotations`: the routes are made in a loop, one per kind, and
# FastAPI must see each closure's own policy in its annotations, not a name to look up.

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from portal.database import SessionDep
from portal.errors import NotFound, PortalError
from portal.i18n import both, t
from portal.masterdata import holidays, service, workbook
from portal.masterdata.policies import MANAGE, AdminPage, PeoplePage, policy_for
from portal.masterdata.ratecards import BOOK_KINDS
from portal.masterdata.service import KINDS, Issue, Kind
from portal.masterdata.views import OBJECT_OF, manager_network, run_import
from portal.security import Principal
from portal.sla.service import SlaDefaults
from portal.templating import (
    PAGE_ROUTER_OPTIONS,
    flash,
    flash_error,
    render,
    request_lang,
    see_other,
    shanghai_today,
)

router = APIRouter(**PAGE_ROUTER_OPTIONS)

IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _kinds_for(principal: Principal) -> list[Kind]:
    return [k for k in KINDS.values() if policy_for(k.name).allows(principal)]


@router.get("/masterdata", response_class=Response)
def index(request: Request, session: SessionDep, user: PeoplePage) -> Response:
    """Every kind this caller may edit, with its row count, and the import and exports."""
    kinds = [
        (k, len(service.list_rows(session, k, scope=policy_for(k.name).scope(user))))
        for k in _kinds_for(user)
    ]
    return render(
        request,
        "masterdata/index.html",
        {
            "kinds": kinds,
            "tab_kinds": _kinds_for(user),
            "is_admin": MANAGE.allows(user),
            "kind_names": list(KINDS),
            "networks": service.list_rows(
                session, KINDS["networks"], scope=policy_for("networks").scope(user)
            ),
            "this_year": shanghai_today().year,
        },
    )


def _form_cells(kind: Kind, form: Any) -> dict[str, object]:
    return {c.key: str(form.get(c.key, "")) for c in kind.columns}


def _edit(
    request: Request,
    kind: Kind,
    cells: dict[str, object],
    *,
    user: Principal,
    row_id: int | None,
    issues: list[Issue] | None = None,
) -> Response:
    errors = {i.column: i for i in issues or []}
    return render(
        request,
        "masterdata/edit.html",
        {
            "kind": kind,
            "cells": cells,
            "row_id": row_id,
            "errors": errors,
            "issues": issues or [],
            "tab_kinds": _kinds_for(user),
        },
        status_code=422 if issues else 200,
    )


def _register(kind: Kind) -> None:
    """The list and edit pages of one kind, guarded by its policy."""
    policy = policy_for(kind.name)
    Caller = Annotated[Principal, policy.page]
    base = f"/masterdata/{kind.name}"

    def _row(session: Session, user: Principal, row_id: int) -> Any:
        row = service.get_row(session, kind, row_id=row_id, scope=policy.scope(user))
        if row is None:
            raise NotFound(OBJECT_OF[kind.name])
        return row

    def list_page(request: Request, session: SessionDep, user: Caller) -> Response:
        rows = service.list_rows(session, kind, scope=policy.scope(user))
        table = [
            (r.id, {k: service.cell_text(v) for k, v in kind.read(session, r).items()})
            for r in rows
        ]
        return render(
            request,
            "masterdata/list.html",
            {"kind": kind, "rows": table, "tab_kinds": _kinds_for(user)},
        )

    def new_page(request: Request, user: Caller) -> Response:
        return _edit(request, kind, {}, user=user, row_id=None)

    def edit_page(request: Request, row_id: IdPath, session: SessionDep, user: Caller) -> Response:
        row = _row(session, user, row_id)
        cells = {k: service.cell_text(v) for k, v in kind.read(session, row).items()}
        return _edit(request, kind, cells, user=user, row_id=row_id)

    async def save(
        request: Request,
        session: SessionDep,
        user: Caller,
        row_id: int | None = None,
    ) -> Response:
        row = _row(session, user, row_id) if row_id is not None else None
        cells = _form_cells(kind, await request.form())
        saved = service.save(
            session,
            kind,
            cells=cells,
            row=row,
            actor=user.actor,
            upsert=False,
            network_id=manager_network(user),
        )
        if saved.issues:
            session.rollback()
            return _edit(request, kind, cells, user=user, row_id=row_id, issues=saved.issues)
        zh, en = both("masterdata.saved")
        flash(request, "ok", zh, en)
        return see_other(base)

    async def create(request: Request, session: SessionDep, user: Caller) -> Response:
        return await save(request, session, user)

    async def update(
        request: Request, row_id: IdPath, session: SessionDep, user: Caller
    ) -> Response:
        return await save(request, session, user, row_id)

    router.add_api_route(base, list_page, methods=["GET"], response_class=Response)
    router.add_api_route(base + "/new", new_page, methods=["GET"], response_class=Response)
    router.add_api_route(base + "/new", create, methods=["POST"], response_class=Response)
    router.add_api_route(base + "/{row_id}", edit_page, methods=["GET"], response_class=Response)
    router.add_api_route(base + "/{row_id}", update, methods=["POST"], response_class=Response)


@router.get("/masterdata/import", response_class=Response)
def import_page(request: Request, user: AdminPage) -> Response:
    """The upload form."""
    return render(
        request,
        "masterdata/import.html",
        {"report": None, "kinds": BOOK_KINDS, "tab_kinds": _kinds_for(user)},
    )


@router.post("/masterdata/import", response_class=Response)
async def import_submit(request: Request, session: SessionDep, user: AdminPage) -> Response:
    """A dry run (the report, nothing stored) or an apply (all rows, or none on any error)."""
    form = await request.form()
    upload = form.get("file")
    apply = form.get("apply") == "1"
    kind = str(form.get("kind") or "") or None
    context: dict[str, Any] = {"kinds": BOOK_KINDS, "report": None, "apply": apply, "error": None}
    if not isinstance(upload, UploadFile) or not upload.filename:
        context["error"] = t("error.file_empty", request_lang(request))
        return render(request, "masterdata/import.html", context, status_code=422)
    try:
        report = await run_import(session, upload=upload, kind=kind, apply=apply, actor=user.actor)
    except PortalError as exc:
        session.rollback()
        context["error"] = exc.message_zh if request_lang(request) == "zh" else exc.message_en
        return render(request, "masterdata/import.html", context, status_code=422)
    context["report"] = report
    context["applied"] = apply and report.ok
    return render(request, "masterdata/import.html", context, status_code=200 if report.ok else 422)


@router.post("/masterdata/calendars/statutory", response_class=Response)
async def statutory_submit(request: Request, session: SessionDep, user: AdminPage) -> Response:
    """Load a year's statutory holidays and 调休 days into a business calendar."""
    form = await request.form()
    year = str(form.get("year") or "")
    try:
        if not year.isdigit() or not 2004 <= int(year) <= 2100:
            raise PortalError("masterdata.year_unsupported", year=year)
        loaded = holidays.load_statutory(
            session,
            network_name=str(form.get("network") or ""),
            year=int(year),
            defaults=SlaDefaults.from_settings(request.app.state.settings),
        )
    except PortalError as exc:
        session.rollback()
        flash_error(request, exc)
        return see_other("/masterdata")
    zh, en = both("masterdata.holidays_loaded", year=year, added=loaded.added, kept=loaded.kept)
    flash(request, "ok", zh, en)
    return see_other("/masterdata")


@router.get("/masterdata/template.xlsx", response_class=Response)
def template_download(user: AdminPage) -> Response:
    """The empty workbook."""
    return Response(
        workbook.write_xlsx({}),
        media_type=workbook.XLSX_TYPE,
        headers={"Content-Disposition": 'attachment; filename="masterdata-template.xlsx"'},
    )


@router.get("/masterdata/export.xlsx", response_class=Response)
def export_download(session: SessionDep, user: AdminPage) -> Response:
    """Everything as one workbook, the import's own format."""
    data = {name: service.export_rows(session, k) for name, k in BOOK_KINDS.items()}
    return Response(
        workbook.write_xlsx(data),
        media_type=workbook.XLSX_TYPE,
        headers={"Content-Disposition": 'attachment; filename="masterdata.xlsx"'},
    )


# After the fixed paths above, so /masterdata/import is not read as a kind's row.
for _kind in KINDS.values():
    _register(_kind)
