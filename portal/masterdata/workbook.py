"""Spreadsheets in and out: one xlsx workbook with a sheet per kind, or one CSV per kind.

Headings are written 「中文 key」 and read back by either half, so a company may retype
them in Chinese alone; an unknown sheet or column is an error, never silently skipped.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils.exceptions import InvalidFileException

from portal.i18n import both
from portal.masterdata.ratecards import BOOK_KINDS as KINDS
from portal.masterdata.service import Issue, Kind, SheetRows

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"


class BadFile(Exception):
    """The upload is neither a workbook nor a CSV we can read."""


def _issue(key: str, *, at: tuple[str, int, str], **params: object) -> Issue:
    zh, en = both(key, **params)
    sheet, row, column = at
    return Issue(column=column, column_zh="", message_zh=zh, message_en=en, sheet=sheet, row=row)


def sheet_kind(title: str) -> Kind | None:
    """The kind a sheet's title names: 「网点」, 「networks」 or 「网点 networks」."""
    title = title.strip()
    for kind in KINDS.values():
        if title in {kind.name, kind.title("zh"), f"{kind.title('zh')} {kind.name}"}:
            return kind
    return None


def _column_key(kind: Kind, heading: str) -> str | None:
    heading = heading.strip()
    for col in kind.columns:
        if heading in {col.key, col.title("zh"), col.heading, col.title("en")}:
            return col.key
    return None


def _rows(
    kind: Kind, sheet: str, table: Iterable[tuple[Any, ...]], issues: list[Issue]
) -> SheetRows:
    it = iter(table)
    header = next(it, ())
    keys: list[str | None] = []
    for heading in header:
        text = "" if heading is None else str(heading).strip()
        key = _column_key(kind, text) if text else None
        if text and key is None:
            issues.append(_issue("masterdata.unknown_column", at=(sheet, 1, text), column=text))
        keys.append(key)
    rows: list[tuple[int, dict[str, object]]] = []
    for number, values in enumerate(it, start=2):
        cells = {k: v for k, v in zip(keys, values, strict=False) if k is not None}
        if all(v is None or str(v).strip() == "" for v in cells.values()):
            continue  # blank lines between blocks are common in hand-kept sheets
        rows.append((number, cells))
    return SheetRows(kind=kind, sheet=sheet, rows=rows)


def read_upload(
    data: bytes, *, filename: str, kind: str | None = None
) -> tuple[list[SheetRows], list[Issue]]:
    """The sheets of an uploaded workbook (or the one kind of a CSV) and the file-level
    problems (unknown sheets and columns); BadFile when it is neither."""
    issues: list[Issue] = []
    if filename.lower().endswith(".csv"):
        if kind not in KINDS:
            raise BadFile("masterdata.csv_needs_kind")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadFile("masterdata.bad_file") from None
        table = [tuple(r) for r in csv.reader(io.StringIO(text))]
        k = KINDS[kind]
        return [_rows(k, k.title("zh"), table, issues)], issues
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise BadFile("masterdata.bad_file") from None
    sheets: list[SheetRows] = []
    try:
        for ws in book.worksheets:
            found = sheet_kind(ws.title)
            if found is None:
                at = (ws.title, 0, "")
                issues.append(_issue("masterdata.unknown_sheet", at=at, sheet=ws.title))
                continue
            sheets.append(_rows(found, ws.title, ws.iter_rows(values_only=True), issues))
    finally:
        book.close()
    return sheets, issues


def _cell(value: object) -> object:
    return value if isinstance(value, int | str) else str(value)


def write_xlsx(data: dict[str, list[dict[str, object]]]) -> bytes:
    """A workbook with one sheet per kind (in import order), headings first; `data` maps a
    kind to its rows (an empty list gives the template)."""
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for name, kind in KINDS.items():
        ws = book.create_sheet(kind.title("zh"))
        ws.append([c.heading for c in kind.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for i, col in enumerate(kind.columns, start=1):
            ws.column_dimensions[_letter(i)].width = max(12, len(col.heading) * 2)
        for row in data.get(name, []):
            ws.append([_cell(row.get(c.key, "")) for c in kind.columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _letter(index: int) -> str:
    letters = ""
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def write_csv(kind: Kind, rows: list[dict[str, object]]) -> bytes:
    """One kind as CSV with a BOM, so Excel opens the Chinese correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.heading for c in kind.columns])
    for row in rows:
        writer.writerow([row.get(c.key, "") for c in kind.columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
