"""The stock as a spreadsheet: the rows the stock page shows (its filters applied), as CSV
or an Excel workbook, with the headings in the reader's language."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Font

from portal.i18n import Lang, t
from portal.parts.models import StockBalance

COLUMNS = (
    "ui.parts.location_code",
    "ui.parts.location",
    "ui.parts.code",
    "ui.parts.part",
    "ui.parts.on_hand",
    "ui.parts.reserved",
    "ui.parts.available",
    "ui.parts.defective",
    "ui.parts.min_level",
    "ui.parts.low",
)
WIDTHS = (18, 24, 16, 28, 9, 9, 9, 11, 9, 9)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def stock_rows(balances: Sequence[StockBalance], lang: Lang) -> list[list[str | int]]:
    """A heading row, then one row a location and part; quantities stay numbers."""
    yes, no = t("ui.parts.yes", lang), t("ui.parts.no", lang)
    rows: list[list[str | int]] = [[t(key, lang) for key in COLUMNS]]
    for b in balances:
        rows.append(
            [
                b.location.code,
                b.location.name,
                b.part.code,
                b.part.name,
                b.on_hand,
                b.reserved,
                b.available,
                b.defective,
                b.min_level,
                yes if b.low else no,
            ]
        )
    return rows


def stock_csv(balances: Sequence[StockBalance], lang: Lang) -> bytes:
    """The stock as CSV (UTF-8 with a byte-order mark, so Excel reads the Chinese)."""
    buf = io.StringIO()
    csv.writer(buf).writerows(stock_rows(balances, lang))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def stock_xlsx(balances: Sequence[StockBalance], lang: Lang) -> bytes:
    """The stock as an Excel workbook: one sheet, bold headings, the heading row frozen."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = t("ui.parts.stock", lang)
    for row in stock_rows(balances, lang):
        ws.append(row)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for index, width in enumerate(WIDTHS):
        ws.column_dimensions[chr(ord("A") + index)].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
