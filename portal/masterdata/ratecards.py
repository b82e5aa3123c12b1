"""The rate-card sheet (价目表) of the master-data workbook: one row per rate line, the card's
code, name and start repeated on each of its rows, its distance bands written once per row
as 「0-10:0/0、10-30:20/10、30-:50/25」 (kilometres from-to: fee / engineer's pay).

A card is read whole: when a code's rows say exactly what its newest version says nothing is
stored; when they differ, the next version is added through `fees.add_card` (a version is
never changed in place, because priced jobs keep theirs); an unknown code is a new card.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.assets.models import Product
from portal.errors import PortalError
from portal.fees import service as fees
from portal.fees.models import ANY, DistanceBand, RateCard, RateLine
from portal.masterdata.service import (
    ANY_SERVICE,
    KINDS,
    SERVICE_TYPES,
    Column,
    Counts,
    Issue,
    Kind,
    RowError,
    SheetRows,
    _c,
    _service_choices,
    _text,
    cell_text,
    parse,
    service_type,
)

WARRANTIES = {"in": "保内", "out": "保外"}
MONEY_COLUMNS = ("service_fee", "hour_rate", "engineer_pay", "engineer_hour_rate")
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T].*)?$")
_BAND = re.compile(
    r"^\s*(\d+(?:\.\d)?)\s*[-~～至]\s*(\d+(?:\.\d)?)?\s*[:：]\s*(\d+(?:\.\d{1,2})?)"
    r"\s*(?:/\s*(\d+(?:\.\d{1,2})?))?\s*$"
)
_CARD_COLUMNS = ("name", "effective_from", "bands")


def _read_line(session: Session, line: RateLine) -> dict[str, object]:
    card = line.card
    service = "" if line.service_type == ANY else line.service_type
    return {
        "code": card.code,
        "name": card.name,
        "effective_from": card.effective_from.isoformat(),
        "service_type": SERVICE_TYPES.get(service, service) or ANY,
        "product_category": line.product_category,
        "warranty": line.warranty,
        "service_fee": line.service_fee,
        "included_minutes": line.included_minutes,
        "hour_rate": line.hour_rate,
        "engineer_pay": line.engineer_pay,
        "engineer_hour_rate": line.engineer_hour_rate,
        "bands": bands_cell(card.bands),
    }


def _find_line(session: Session, v: Mapping[str, Any]) -> RateLine | None:
    """The newest version's line with this code, service type, category and warranty."""
    card = latest(session, str(v["code"]))
    if card is None:
        return None
    for line in card.lines:
        if (line.service_type, line.product_category, line.warranty) == (
            _service(v),
            v["product_category"] or ANY,
            v["warranty"],
        ):
            return line
    return None


def _write_line(
    session: Session, row: RateLine | None, v: Mapping[str, Any], actor: str
) -> tuple[RateLine, bool]:
    """A single line is never written: a card changes only as a whole new version."""
    raise RowError("code", "masterdata.rate_card_whole")


def latest(session: Session, code: str) -> RateCard | None:
    """A code's newest version."""
    return session.scalars(
        select(RateCard).where(RateCard.code == code).order_by(RateCard.version.desc())
    ).first()


def _money(key: str, **kw: Any) -> Column:
    return _c("rate_cards", key, "decimal", **kw)


def bands_cell(bands: list[DistanceBand]) -> str:
    """Distance bands as one cell: 「0-10:0/0、10-:50/25」."""
    out = []
    for b in sorted(bands, key=lambda b: b.min_km):
        upper = "" if b.max_km is None else cell_text(b.max_km)
        out.append(f"{cell_text(b.min_km)}-{upper}:{cell_text(b.fee)}/{cell_text(b.engineer_pay)}")
    return "、".join(out)


def _service(v: Mapping[str, Any]) -> str:
    word = v["service_type"]
    if not word or word in {ANY_SERVICE, "全部", "all", "any"}:
        return ANY
    kind = service_type(word)
    if kind is None:
        raise RowError(
            "service_type",
            "masterdata.not_choice",
            field="service_type",
            **_service_choices(),
        )
    return kind


def _date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = _DATE.match(_text(value))
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            pass
    raise RowError("effective_from", "masterdata.not_date", field="effective_from")


def _bands(text: str) -> list[tuple[Decimal, Decimal | None, Decimal, Decimal]]:
    bands = []
    for item in re.split(r"[,，、;；\n]+", text):
        if not item.strip():
            continue
        m = _BAND.match(item)
        if m is None:
            raise RowError("bands", "masterdata.bad_band", band=item.strip())
        lower, upper = Decimal(m[1]), Decimal(m[2]) if m[2] else None
        if upper is not None and upper <= lower:
            raise RowError("bands", "masterdata.bad_band", band=item.strip())
        bands.append(
            (
                lower.quantize(Decimal("0.1")),
                None if upper is None else upper.quantize(Decimal("0.1")),
                Decimal(m[3]).quantize(Decimal("0.01")),
                Decimal(m[4] or "0").quantize(Decimal("0.01")),
            )
        )
    bands.sort(key=lambda b: b[0])
    for low, high in zip(bands, bands[1:], strict=False):
        if low[1] is None or low[1] > high[0]:
            raise RowError("bands", "fees.bands_overlap")
    return bands


def _cents(col: Column, cells: Mapping[str, object]) -> None:
    """Money has at most two decimal places (the parser would round 12.345 silently)."""
    raw = _text(cells.get(col.key))
    try:
        exponent = Decimal(raw).as_tuple().exponent if raw else 0
    except InvalidOperation:
        return  # the column's own parser names it
    if isinstance(exponent, int) and exponent < -2:
        raise RowError(col.key, "masterdata.not_number", **col.named)


Line = tuple[str, str, str, Decimal, int, Decimal, Decimal, Decimal]
Band = tuple[Decimal, Decimal | None, Decimal, Decimal]


def _stored(card: RateCard) -> tuple[str, date, list[Line], list[Band]]:
    lines = sorted(
        (
            ln.service_type,
            ln.product_category,
            ln.warranty,
            ln.service_fee,
            ln.included_minutes,
            ln.hour_rate,
            ln.engineer_pay,
            ln.engineer_hour_rate,
        )
        for ln in card.lines
    )
    bands = sorted(
        ((b.min_km, b.max_km, b.fee, b.engineer_pay) for b in card.bands), key=lambda b: b[0]
    )
    return card.name, card.effective_from, lines, bands


def _located(sheet: str, row: int, exc: RowError) -> Issue:
    col = next((c for c in RATE_CARDS.columns if c.key == exc.column), None)
    return Issue(
        column=exc.column,
        column_zh=col.title("zh") if col else "",
        message_zh=exc.message_zh,
        message_en=exc.message_en,
        sheet=sheet,
        row=row,
    )


def apply_sheet(session: Session, sheet: SheetRows, counts: Counts, actor: str) -> list[Issue]:
    """Read every row, group them by card, and add a card or its next version where the rows
    differ from the newest version. Every problem comes back located; nothing raised."""
    issues: list[Issue] = []
    categories = set(session.scalars(select(Product.category).distinct()))
    cards: dict[str, dict[str, Any]] = {}
    for number, cells in sheet.rows:
        values, found = parse(RATE_CARDS, cells)
        for col in RATE_CARDS.columns:
            if col.key in MONEY_COLUMNS and not any(i.column == col.key for i in found):
                try:
                    _cents(col, cells)
                except RowError as exc:
                    found.append(_located(sheet.sheet, number, exc))
        try:
            service = _service(values) if "service_type" in values else ANY
        except RowError as exc:
            found.append(_located(sheet.sheet, number, exc))
            service = ANY
        category = values.get("product_category") or ANY
        if category != ANY and "product_category" in values and category not in categories:
            found.append(
                _located(
                    sheet.sheet,
                    number,
                    RowError("product_category", "masterdata.unknown_category", name=category),
                )
            )
        start: date | None = None
        if values.get("effective_from"):
            try:
                start = _date(cells.get("effective_from"))
            except RowError as exc:
                found.append(_located(sheet.sheet, number, exc))
        bands: list[Band] = []
        try:
            bands = _bands(str(values.get("bands") or ""))
        except RowError as exc:
            found.append(_located(sheet.sheet, number, exc))
        for issue in found:
            issue.sheet, issue.row = sheet.sheet, number
        issues.extend(found)
        code = values.get("code")
        if not code:
            continue
        card = cards.setdefault(
            code,
            {"row": number, "name": None, "start": None, "bands": None, "lines": {}, "bad": False},
        )
        card["bad"] = card["bad"] or bool(found)
        bands_ok = not any(i.column == "bands" for i in found)
        for key, value in (
            ("name", values.get("name")),
            ("start", start),
            ("bands", bands if values.get("bands") and bands_ok else None),
        ):
            if value in (None, "") or card[key] is None:
                card[key] = card[key] if value in (None, "") else value
            elif card[key] != value:
                column = {"start": "effective_from"}.get(key, key)
                issues.append(
                    _located(
                        sheet.sheet,
                        number,
                        RowError(column, "masterdata.card_differs", code=code, row=card["row"]),
                    )
                )
                card["bad"] = True
        if found:
            continue
        line_key = (service, category, values["warranty"])
        if line_key in card["lines"]:
            issues.append(
                _located(
                    sheet.sheet,
                    number,
                    RowError(
                        "warranty", "masterdata.duplicate_row", row=card["lines"][line_key][0]
                    ),
                )
            )
            card["bad"] = True
            continue
        card["lines"][line_key] = (
            number,
            (
                service,
                category,
                values["warranty"],
                values["service_fee"],
                60 if values["included_minutes"] is None else values["included_minutes"],
                values["hour_rate"] or Decimal("0.00"),
                values["engineer_pay"],
                values["engineer_hour_rate"] or Decimal("0.00"),
            ),
        )
    for code, card in cards.items():
        if card["bad"]:
            continue
        first = card["row"]
        if not card["name"]:
            issues.append(
                _located(
                    sheet.sheet,
                    first,
                    RowError("name", "validation.missing", field="ratecard_name"),
                )
            )
            continue
        if card["start"] is None:
            issues.append(
                _located(
                    sheet.sheet,
                    first,
                    RowError(
                        "effective_from",
                        "validation.missing",
                        field="effective_from",
                    ),
                )
            )
            continue
        lines: list[Line] = sorted(line for _, line in card["lines"].values())
        card_bands: list[Band] = card["bands"] or []
        previous = latest(session, code)
        if previous is not None and _stored(previous) == (
            card["name"],
            card["start"],
            lines,
            card_bands,
        ):
            counts.unchanged += 1
            continue
        try:
            with session.begin_nested():
                fees.add_card(
                    session,
                    code=code,
                    name=card["name"],
                    effective_from=card["start"],
                    lines=[
                        RateLine(
                            service_type=ln[0],
                            product_category=ln[1],
                            warranty=ln[2],
                            service_fee=ln[3],
                            included_minutes=ln[4],
                            hour_rate=ln[5],
                            engineer_pay=ln[6],
                            engineer_hour_rate=ln[7],
                        )
                        for _, ln in card["lines"].values()
                    ],
                    bands=[
                        DistanceBand(min_km=b[0], max_km=b[1], fee=b[2], engineer_pay=b[3])
                        for b in card_bands
                    ],
                )
        except PortalError as exc:
            column = "effective_from" if exc.key == "fees.card_not_later" else "bands"
            issues.append(_located(sheet.sheet, first, RowError(column, exc.key, **exc.params)))
            continue
        if previous is None:
            counts.created += 1
        else:
            counts.updated += 1
    return issues


def export_rows(session: Session) -> list[dict[str, object]]:
    """Each card's newest version, a row per line (what an import of them would read back
    without adding a version)."""
    rows: list[dict[str, object]] = []
    codes = sorted(set(session.scalars(select(RateCard.code))))
    for code in codes:
        card = latest(session, code)
        assert card is not None
        for line in card.lines:
            rows.append({k: cell_text(v) for k, v in _read_line(session, line).items()})
    return rows


RATE_CARDS = Kind(
    "rate_cards",
    (
        _c("rate_cards", "code", required=True, max_len=32),
        _c("rate_cards", "name", max_len=100),
        _c("rate_cards", "effective_from", max_len=20),
        _c("rate_cards", "service_type", max_len=32),
        _c("rate_cards", "product_category", max_len=32),
        _c("rate_cards", "warranty", "choice", required=True, choices=WARRANTIES),
        _money("service_fee", required=True),
        _c("rate_cards", "included_minutes", "int"),
        _money("hour_rate"),
        _money("engineer_pay", required=True),
        _money("engineer_hour_rate"),
        _c("rate_cards", "bands", max_len=500),
    ),
    ("code", "service_type", "product_category", "warranty"),
    RateLine,
    _read_line,
    _find_line,
    _write_line,
    lambda m: m.id,
    apply_sheet=apply_sheet,
    export=export_rows,
)

# The workbook's sheets in import order: per-row kinds, then the rate cards (which name
# product categories the products sheet may have just added).
BOOK_KINDS: dict[str, Kind] = {**KINDS, RATE_CARDS.name: RATE_CARDS}
