"""Master data JSON: list, read, create and update each kind under /api/v1/admin/<kind>;
the workbook template, the import (dry run or apply) and the export. Thin: the rules are in
portal.masterdata.service, the spreadsheets in portal.masterdata.workbook."""

# No `from __future__ import annotations`: the routes are made in a loop, one per kind, and
# FastAPI must see each closure's own policy in its annotations, not a name to look up.

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile as StarletteUpload

from portal.database import SessionDep
from portal.errors import Invalid, NotFound, PortalError
from portal.i18n import both
from portal.masterdata import holidays, service, workbook
from portal.masterdata.policies import Admin, policy_for
from portal.masterdata.ratecards import BOOK_KINDS
from portal.masterdata.service import KINDS, Issue, Kind, Report
from portal.security import Principal, Role
from portal.sla.service import SlaDefaults

router = APIRouter(prefix="/admin", tags=["master data"])

IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
Cells = Annotated[dict[str, Any], Body(examples=[{"name": "浦东服务中心", "kind": "自营"}])]
KindName = Literal[
    "networks",
    "engineers",
    "certificate_rules",
    "products",
    "models",
    "warranty_terms",
    "fault_codes",
    "parts",
    "warehouses",
    "stock",
    "rate_cards",
]
MAX_UPLOAD = 10 * 1024 * 1024
OBJECT_OF = {
    "networks": "object.network",
    "engineers": "object.engineer",
    "certificate_rules": "object.certificate_rule",
    "products": "object.product",
    "models": "object.product_model",
    "warranty_terms": "object.warranty_term",
    "fault_codes": "object.fault_code",
    "parts": "object.part",
    "warehouses": "object.stock_location",
    "stock": "object.stock_balance",
}


def row_json(kind: Kind, session: Session, row: Any) -> dict[str, Any]:
    """A stored row as JSON: its id and its cells in their typed form."""
    cells = kind.read(session, row)
    return {"id": row.id, **{k: _json(v) for k, v in cells.items()}}


def _json(value: object) -> object:
    return str(value) if value is not None and not isinstance(value, int | str | list) else value


def issues_response(issues: list[Issue], status: int = 422) -> JSONResponse:
    """A refused save or import: every problem, each naming its column (and sheet and row)."""
    zh, en = both("masterdata.invalid_rows", n=len(issues))
    errors = [
        {"field": i.column, "loc": [i.column], "type": "invalid", **i.as_dict()} for i in issues
    ]
    return JSONResponse(
        {
            "error": "invalid_request",
            "message": f"{zh} / {en}",
            "message_zh": zh,
            "message_en": en,
            "errors": errors,
        },
        status_code=status,
    )


def manager_network(principal: Principal) -> int | None:
    """The network a network manager's writes are pinned to (None for the admin)."""
    if principal.role is Role.NETWORK_MANAGER:
        return principal.network_id if principal.network_id is not None else -1
    return None


def _register(kind: Kind) -> None:
    """The four routes of one kind, guarded by its policy."""
    policy = policy_for(kind.name)
    Caller = Annotated[Principal, policy.api]
    what = OBJECT_OF[kind.name]

    def list_(session: SessionDep, principal: Caller) -> list[dict[str, Any]]:
        rows = service.list_rows(session, kind, scope=policy.scope(principal))
        return [row_json(kind, session, r) for r in rows]

    def read(row_id: IdPath, session: SessionDep, principal: Caller) -> dict[str, Any]:
        row = service.get_row(session, kind, row_id=row_id, scope=policy.scope(principal))
        if row is None:
            raise NotFound(what)
        return row_json(kind, session, row)

    def create(cells: Cells, session: SessionDep, principal: Caller) -> Response:
        saved = service.save(
            session,
            kind,
            cells=cells,
            actor=principal.actor,
            upsert=False,
            network_id=manager_network(principal),
        )
        if saved.issues:
            session.rollback()
            return issues_response(saved.issues)
        return JSONResponse(row_json(kind, session, saved.row), status_code=201)

    def update(row_id: IdPath, cells: Cells, session: SessionDep, principal: Caller) -> Response:
        row = service.get_row(session, kind, row_id=row_id, scope=policy.scope(principal))
        if row is None:
            raise NotFound(what)
        # A partial update: the cells not sent keep their stored values.
        merged = {**kind.read(session, row), **cells}
        saved = service.save(
            session,
            kind,
            cells=merged,
            row=row,
            actor=principal.actor,
            network_id=manager_network(principal),
        )
        if saved.issues:
            session.rollback()
            return issues_response(saved.issues)
        return JSONResponse(row_json(kind, session, saved.row))

    columns = ", ".join(f"`{c.key}` ({c.title('zh')})" for c in kind.columns)
    base = f"/{kind.name}"
    summary: Callable[[str], str] = lambda verb: f"{verb} {kind.title('en').lower()}"  # noqa: E731
    router.add_api_route(
        base,
        list_,
        methods=["GET"],
        summary=summary("List"),
        description=f"{kind.title('en')} ({kind.title('zh')}). Fields: {columns}.",
    )
    router.add_api_route(base + "/{row_id}", read, methods=["GET"], summary=summary("Read one of"))
    router.add_api_route(
        base,
        create,
        methods=["POST"],
        status_code=201,
        summary=summary("Create"),
        description=f"Fields: {columns}. Lists are 「a、b」 strings or JSON arrays.",
        response_model=None,
    )
    router.add_api_route(
        base + "/{row_id}",
        update,
        methods=["PATCH"],
        summary=summary("Update one of"),
        description="Only the fields sent change.",
        response_model=None,
    )


for _kind in KINDS.values():
    _register(_kind)


@router.get("/masterdata/template.xlsx", response_class=Response)
def template(principal: Admin) -> Response:
    """An empty workbook: one sheet per kind with its headings."""
    return _xlsx(workbook.write_xlsx({}), "masterdata-template.xlsx")


@router.get("/masterdata/export", response_class=Response)
def export(
    session: SessionDep,
    principal: Admin,
    format: Literal["xlsx", "csv"] = "xlsx",
    kind: Annotated[KindName | None, Query()] = None,
) -> Response:
    """Every kind as one workbook, or one kind as CSV; importing it back changes nothing."""
    if format == "csv":
        if kind is None:
            raise Invalid("masterdata.csv_needs_kind", field="kind")
        k = BOOK_KINDS[kind]
        return Response(
            workbook.write_csv(k, service.export_rows(session, k)),
            media_type=workbook.CSV_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{kind}.csv"'},
        )
    data = {name: service.export_rows(session, k) for name, k in BOOK_KINDS.items()}
    return _xlsx(workbook.write_xlsx(data), "masterdata.xlsx")


def _xlsx(data: bytes, filename: str) -> Response:
    return Response(
        data,
        media_type=workbook.XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def run_import(
    session: Session,
    *,
    upload: StarletteUpload,
    kind: str | None,
    apply: bool,
    actor: str,
) -> Report:
    """Read an upload and save every row; rolled back unless applying a clean book."""
    data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise Invalid("error.file_too_large", field="file", mb=MAX_UPLOAD // (1024 * 1024))
    if not data:
        raise Invalid("error.file_empty", field="file")
    try:
        sheets, file_issues = workbook.read_upload(data, filename=upload.filename or "", kind=kind)
    except workbook.BadFile as exc:
        raise Invalid(str(exc), field="file") from None
    report = service.import_book(session, sheets, actor=actor)
    report.issues[:0] = file_issues
    if not apply or not report.ok:
        session.rollback()
    return report


@router.post("/masterdata/import", response_model=None)
async def import_(
    session: SessionDep,
    principal: Admin,
    file: Annotated[UploadFile, File(description="An .xlsx workbook or a .csv of one kind")],
    apply: Annotated[bool, Form()] = False,
    kind: Annotated[KindName | None, Form()] = None,
) -> Response:
    """Import a workbook (or a CSV of `kind`). Without `apply` a dry run: every error by
    sheet, row and column, nothing stored. With `apply` all rows or, on any error, none."""
    try:
        report = await run_import(
            session, upload=file, kind=kind, apply=apply, actor=principal.actor
        )
    except PortalError:
        session.rollback()
        raise
    body = report.as_dict() | {"applied": apply and report.ok}
    return JSONResponse(body, status_code=200 if report.ok else 422)


class StatutoryIn(BaseModel):
    """Which year's statutory days to load, into which network's calendar."""

    year: int = Field(ge=2004, le=2100, examples=[2026])
    network: str = Field(default="", max_length=100, description="Network name; empty: default")


class StatutoryOut(BaseModel):
    """What loading did: days added, days the calendar already had (local exceptions)."""

    calendar_id: int
    network_id: int | None
    added: int
    kept: int


@router.post("/calendars/statutory", response_model=StatutoryOut)
def load_statutory(
    data: StatutoryIn, request: Request, session: SessionDep, principal: Admin
) -> StatutoryOut:
    """Add China's statutory holidays and 调休 make-up days of a year to a business calendar
    (the SLA clocks count on it); days the calendar already lists are kept as they are."""
    defaults = SlaDefaults.from_settings(request.app.state.settings)
    loaded = holidays.load_statutory(
        session, network_name=data.network, year=data.year, defaults=defaults
    )
    return StatutoryOut(**vars(loaded))
