"""ECharts options built from the measures: plain JSON, so the page only hands them over.

Every data point may carry a `url`: a click on it opens the tickets behind it
(static/analytics/analytics.js does the navigation).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

PALETTE = ["#1677ff", "#00a870", "#f5a623", "#d03050", "#7b61ff", "#13c2c2", "#8c8c8c"]
# Backlog buckets from young to old: calm to alarming.
AGE_COLOURS = ["#91caff", "#4096ff", "#f5a623", "#fa8c16", "#f5222d", "#a8071a"]

Series = tuple[str, Sequence[float | None], Sequence[str | None]]


def _points(values: Sequence[float | None], urls: Sequence[str | None]) -> list[Any]:
    out: list[Any] = []
    for i, value in enumerate(values):
        url = urls[i] if i < len(urls) else None
        out.append({"value": value, "url": url} if url else {"value": value})
    return out


def _base(*, legend: bool = True) -> dict[str, Any]:
    option: dict[str, Any] = {
        "color": PALETTE,
        "animation": False,
        "tooltip": {"trigger": "axis", "confine": True},
        "grid": {
            "left": 12,
            "right": 24,
            "top": 60 if legend else 24,
            "bottom": 8,
            "containLabel": True,
        },
        "textStyle": {"fontFamily": "PingFang SC, Noto Sans CJK SC, WenQuanYi Zen Hei, sans-serif"},
    }
    if legend:
        option["legend"] = {"top": 0, "type": "scroll"}
    return option


def _category_axis(categories: Sequence[str], *, rotate: bool = False) -> dict[str, Any]:
    axis: dict[str, Any] = {"type": "category", "data": list(categories)}
    if rotate:
        axis["axisLabel"] = {"rotate": 30, "interval": 0}
    return axis


def bar_line(
    categories: Sequence[str],
    *,
    bars: Sequence[Series] = (),
    lines: Sequence[Series] = (),
    bar_axis: str = "",
    line_axis: str = "%",
    line_max: float | None = 100,
    rotate: bool = False,
) -> dict[str, Any]:
    """Bars on the left axis (counts), lines on the right one (shares in percent)."""
    option = _base()
    option["xAxis"] = _category_axis(categories, rotate=rotate)
    y_axes: list[dict[str, Any]] = []
    series: list[dict[str, Any]] = []
    if bars:
        y_axes.append({"type": "value", "name": bar_axis, "minInterval": 1})
        for name, values, urls in bars:
            series.append(
                {
                    "type": "bar",
                    "name": name,
                    "data": _points(values, urls),
                    "yAxisIndex": 0,
                    "barMaxWidth": 28,
                    "cursor": "pointer",
                }
            )
    if lines:
        axis: dict[str, Any] = {"type": "value", "name": line_axis, "splitLine": {"show": not bars}}
        if line_axis == "%":
            axis["axisLabel"] = {"formatter": "{value}%"}
            axis["name"] = ""
        if line_max is not None:
            axis["max"] = line_max
        y_axes.append(axis)
        for name, values, urls in lines:
            series.append(
                {
                    "type": "line",
                    "name": name,
                    "data": _points(values, urls),
                    "yAxisIndex": len(y_axes) - 1,
                    "connectNulls": True,
                    "symbolSize": 6,
                    "cursor": "pointer",
                }
            )
    option["yAxis"] = y_axes
    option["series"] = series
    return option


def stacked(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    horizontal: bool = False,
    colours: Sequence[str] | None = None,
    axis_name: str = "",
) -> dict[str, Any]:
    """Stacked bars, one stack per category."""
    option = _base()
    if colours:
        option["color"] = list(colours)
    cat = _category_axis(categories, rotate=not horizontal and len(categories) > 6)
    # A horizontal chart's value axis ends at the right edge: its name would be cut off there
    # (the chart's title gives the unit instead).
    val = {"type": "value", "name": "" if horizontal else axis_name, "minInterval": 1}
    if horizontal:
        cat["inverse"] = True
        option["xAxis"], option["yAxis"] = val, cat
    else:
        option["xAxis"], option["yAxis"] = cat, val
    option["series"] = [
        {
            "type": "bar",
            "name": name,
            "stack": "all",
            "data": _points(values, urls),
            "barMaxWidth": 36,
            "cursor": "pointer",
        }
        for name, values, urls in series
    ]
    return option


def ranking(
    categories: Sequence[str],
    values: Sequence[float | None],
    urls: Sequence[str | None],
    *,
    name: str,
    percent: bool = False,
) -> dict[str, Any]:
    """A horizontal bar per category, biggest on top."""
    option = _base(legend=False)
    option["tooltip"] = {"trigger": "axis", "axisPointer": {"type": "shadow"}, "confine": True}
    value_axis: dict[str, Any] = {"type": "value", "minInterval": 0 if percent else 1}
    if percent:
        value_axis["axisLabel"] = {"formatter": "{value}%"}
    option["xAxis"] = value_axis
    option["yAxis"] = {"type": "category", "data": list(categories), "inverse": True}
    option["series"] = [
        {
            "type": "bar",
            "name": name,
            "data": _points(values, urls),
            "barMaxWidth": 18,
            "cursor": "pointer",
            "label": {"show": True, "position": "right", "formatter": "{c}%" if percent else "{c}"},
        }
    ]
    return option


def stage_bars(
    stages: Sequence[str],
    *,
    series: Sequence[Series],
    axis_name: str,
) -> dict[str, Any]:
    """Stage durations in minutes on a log axis (minutes-long t1 beside week-long t9)."""
    option = _base()
    option["tooltip"] = {"trigger": "axis", "axisPointer": {"type": "shadow"}, "confine": True}
    option["xAxis"] = {**_category_axis(stages), "axisLabel": {"interval": 0}}
    option["yAxis"] = {"type": "log", "name": axis_name, "logBase": 10, "min": 1}
    option["series"] = [
        {
            "type": "bar",
            "name": name,
            "data": _points(values, urls),
            "barMaxWidth": 22,
            "cursor": "pointer",
        }
        for name, values, urls in series
    ]
    return option


def lines_with_warnings(
    categories: Sequence[str],
    series: Sequence[Series],
    warnings: Sequence[float | None],
    *,
    warning_name: str,
) -> dict[str, Any]:
    """Lines, each with its own dashed warning line (same colour) when one is set."""
    option = _base()
    option["xAxis"] = _category_axis(categories)
    option["yAxis"] = {"type": "value", "minInterval": 1}
    out = []
    for i, (name, values, urls) in enumerate(series):
        item: dict[str, Any] = {
            "type": "line",
            "name": name,
            "data": _points(values, urls),
            "symbolSize": 6,
            "cursor": "pointer",
        }
        warn = warnings[i] if i < len(warnings) else None
        if warn:
            item["markLine"] = {
                "symbol": "none",
                "silent": True,
                "lineStyle": {"type": "dashed", "color": PALETTE[i % len(PALETTE)]},
                "label": {"formatter": f"{warning_name} {warn:g}", "position": "insideEndTop"},
                "data": [{"yAxis": warn}],
            }
        out.append(item)
    option["series"] = out
    return option
