"""Reading the dashboards' filters from a query string, and writing them back into links."""

from __future__ import annotations

from datetime import UTC, date, datetime
from urllib.parse import parse_qs

from portal.analytics.filters import Filters, auto_grain

NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)  # already 23 November in Shanghai


def test_the_default_is_the_last_30_local_days() -> None:
    f = Filters.parse({}, now=NOW)
    assert (f.start, f.end, f.period, f.grain) == (
        date(2026, 10, 25),
        date(2026, 11, 23),
        30,
        "day",
    )
    assert f.start_ts == datetime(2026, 10, 24, 16, 0, tzinfo=UTC).timestamp()
    assert f.end_ts == datetime(2026, 11, 23, 16, 0, tzinfo=UTC).timestamp()


def test_dates_win_over_the_period_and_are_put_in_order() -> None:
    f = Filters.parse({"period": "7", "from": "2026-11-20", "to": "2026-09-01"}, now=NOW)
    assert (f.start, f.end, f.period, f.grain) == (
        date(2026, 9, 1),
        date(2026, 11, 20),
        None,
        "week",
    )


def test_nonsense_falls_back_to_the_defaults() -> None:
    f = Filters.parse(
        {"period": "-3", "from": "0001-01-01", "to": "9999-12-31", "network": "x1",
         "engineer": "99999999999", "grain": "hour", "city": " "},
        now=NOW,
    )  # fmt: skip
    assert f.period == 30 and f.network_id is None and f.engineer_id is None
    assert f.city is None and f.grain == "day"


def test_links_carry_the_filters_and_drop_what_is_cleared() -> None:
    f = Filters.parse(
        {"period": "90", "city": "上海", "network": "3", "bucket": "2026-11"}, now=NOW
    )
    params = parse_qs(f.query(bucket=None, network=5))
    assert params == {"period": ["90"], "city": ["上海"], "network": ["5"]}
    drill = parse_qs(f.drill("stage:t4").split("?", 1)[1])
    assert drill["measure"] == ["stage:t4"] and drill["bucket"] == ["2026-11"]


def test_grain_follows_the_span() -> None:
    assert auto_grain(date(2026, 1, 1), date(2026, 1, 31)) == "day"
    assert auto_grain(date(2026, 1, 1), date(2026, 6, 1)) == "week"
    assert auto_grain(date(2026, 1, 1), date(2026, 12, 31)) == "month"
