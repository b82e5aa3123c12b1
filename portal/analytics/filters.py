"""The filters every dashboard shares: period, region, network, product, channel (and, from a
drill-down, engineer, model, ticket type and one period bucket), and who may see what."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement

from portal.analytics import policies
from portal.analytics.models import TicketStageFact
from portal.errors import Forbidden
from portal.security import Principal

LOCAL = ZoneInfo("Asia/Shanghai")
PERIODS = (7, 30, 90, 180, 365)
DEFAULT_PERIOD = 30
MAX_SPAN_DAYS = 3 * 366
GRAINS = ("day", "week", "month")
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)
# Who may read the dashboards (the nav's links follow it): the `analytics.read` policy.
READERS = policies.READ.roles


F = TicketStageFact.__table__.c


def local_today(now: datetime) -> date:
    """The local calendar day of an instant."""
    return now.astimezone(LOCAL).date()


def day_start(day: date) -> float:
    """Epoch seconds of local midnight at the start of the day."""
    return datetime.combine(day, time(0), tzinfo=LOCAL).timestamp()


@dataclass(frozen=True, slots=True)
class Filters:
    """A dashboard's filters; `start`…`end` are local days, both included."""

    start: date
    end: date
    period: int | None = DEFAULT_PERIOD  # days ending today; None: a custom range
    city: str | None = None
    network_id: int | None = None
    product: str | None = None
    channel: str | None = None
    engineer_id: int | None = None
    model_code: str | None = None
    ticket_type: str | None = None
    bucket: str | None = None  # one day / week (its Monday) / month, from a trend chart
    grain: str = "day"
    locked_network: bool = False  # a network manager's own network; the form hides it

    # ---- building

    @classmethod
    def last(cls, days: int, *, now: datetime, **dims: Any) -> Filters:
        """The last `days` days up to today."""
        end = local_today(now)
        start = end - timedelta(days=days - 1)
        return cls(start=start, end=end, period=days, grain=auto_grain(start, end), **dims)

    @classmethod
    def parse(cls, params: Mapping[str, str], *, now: datetime) -> Filters:
        """Filters from query parameters; anything unreadable falls back to the default."""
        today = local_today(now)
        start = _date(params.get("from"))
        end = _date(params.get("to"))
        period: int | None = None
        if start is None or end is None:
            raw = params.get("period", "")
            period = int(raw) if raw.isdigit() and 1 <= int(raw) <= MAX_SPAN_DAYS else None
            period = period or DEFAULT_PERIOD
            end, start = today, today - timedelta(days=period - 1)
        if end < start:
            start, end = end, start
        if (end - start).days > MAX_SPAN_DAYS:
            start = end - timedelta(days=MAX_SPAN_DAYS)
        grain = params.get("grain", "")
        return cls(
            start=start,
            end=end,
            period=period,
            city=_text(params.get("city")),
            network_id=_int(params.get("network")),
            product=_text(params.get("product")),
            channel=_text(params.get("channel")),
            engineer_id=_int(params.get("engineer")),
            model_code=_text(params.get("model")),
            ticket_type=_text(params.get("type")),
            bucket=_text(params.get("bucket")),
            grain=grain if grain in GRAINS else auto_grain(start, end),
        )

    def scoped(self, principal: Principal) -> Filters:
        """The filters this reader may use: a network manager is held to their network."""
        scope = policies.READ.scope(principal)
        if scope.everything:
            return self
        if scope.network_id is None:
            raise Forbidden("error.forbidden")
        return replace(self, network_id=scope.network_id, locked_network=True)

    # ---- SQL

    @property
    def start_ts(self) -> float:
        """Epoch seconds where the period starts."""
        return day_start(self.start)

    @property
    def end_ts(self) -> float:
        """Epoch seconds where the period ends (exclusive: the next local midnight)."""
        return day_start(self.end + timedelta(days=1))

    @property
    def bucket_column(self) -> Any:
        """The fact column of this grain."""
        return {"day": F.day, "week": F.week, "month": F.month}[self.grain]

    def dims(self) -> list[ColumnElement[bool]]:
        """Conditions on the facts from every filter except the period."""
        conds: list[ColumnElement[bool]] = []
        if self.city:
            conds.append(F.city == self.city)
        if self.network_id is not None:
            conds.append(F.network_id == self.network_id)
        if self.product:
            conds.append(F.product == self.product)
        if self.channel:
            conds.append(F.channel == self.channel)
        if self.engineer_id is not None:
            conds.append(F.engineer_id == self.engineer_id)
        if self.model_code:
            conds.append(F.model_code == self.model_code)
        if self.ticket_type:
            conds.append(F.type == self.ticket_type)
        return conds

    def where(self) -> list[ColumnElement[bool]]:
        """Conditions on the facts: tickets created in the period, matching every filter."""
        conds = [F.created_ts >= self.start_ts, F.created_ts < self.end_ts, *self.dims()]
        if self.bucket:
            conds.append(self.bucket_column == self.bucket)
        return conds

    # ---- links

    def params(self) -> dict[str, str]:
        """The filters as query parameters (what `parse` reads back)."""
        out: dict[str, str] = {}
        if self.period:
            out["period"] = str(self.period)
        else:
            out["from"], out["to"] = self.start.isoformat(), self.end.isoformat()
        for key, value in (
            ("city", self.city),
            ("network", None if self.locked_network else self.network_id),
            ("product", self.product),
            ("channel", self.channel),
            ("engineer", self.engineer_id),
            ("model", self.model_code),
            ("type", self.ticket_type),
            ("bucket", self.bucket),
        ):
            if value not in (None, ""):
                out[key] = str(value)
        if self.grain != auto_grain(self.start, self.end):
            out["grain"] = self.grain
        return out

    def query(self, **changes: object) -> str:
        """The query string of these filters with some parameters changed (None drops)."""
        params = self.params()
        for key, value in changes.items():
            if value is None or value == "":
                params.pop(key, None)
            else:
                params[key] = str(value)
        return urlencode(params)

    def drill(self, measure: str, **changes: object) -> str:
        """The drill-down list of the tickets behind a figure."""
        return f"/analytics/tickets?{self.query(measure=measure, **changes)}"


def auto_grain(start: date, end: date) -> str:
    """Days for a month, weeks up to half a year, months beyond."""
    span = (end - start).days + 1
    if span <= 31:
        return "day"
    if span <= 186:
        return "week"
    return "month"


def _date(value: str | None) -> date | None:
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    # Days far outside any ticket's life would only overflow the arithmetic.
    return day if day is None or EARLIEST <= day <= LATEST else None


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value[:64] or None
