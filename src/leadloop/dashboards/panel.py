"""A dashboard panel: one table of figures, optionally drawn as a chart, exportable as CSV.

Pure. The table is the truth and is always on the page (a screen reader, a phone and a CSV get the
same numbers); the chart is a drawing of some of its columns. Chart.js is handed plain data only, no
code, so the chart configuration is JSON built here and tested here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

Kind = Literal["text", "int", "money", "pct", "days", "minutes"]
ChartKind = Literal["bar", "line", "stacked"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: Kind = "text"


@dataclass(frozen=True)
class Chart:
    kind: ChartKind
    x: str  # the column whose values label the axis
    series: tuple[str, ...]  # the numeric columns drawn
    horizontal: bool = False


@dataclass(frozen=True)
class Panel:
    id: str  # unique on its dashboard; also the CSV's name
    title: str
    columns: tuple[Column, ...]
    rows: tuple[dict[str, Any], ...]
    chart: Chart | None = None
    note: str = ""  # what the figures mean, in a sentence
    empty: str = "Nothing in this period."
    # row index -> {column key -> href}: the leads behind a number (drill-down)
    links: dict[int, dict[str, str]] = field(default_factory=dict)
    error: str = ""  # why this panel could not be read (e.g. amounts in two currencies, no rate)

    def href(self, row: int, key: str) -> str | None:
        return self.links.get(row, {}).get(key)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def csv_rows(panel: Panel) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The header and the rows of the panel's table as the CSV carries them: exact amounts as
    written (a Decimal stays a string, never a float), shares as fractions."""
    header = [c.label for c in panel.columns]
    return header, [tuple(_plain(r.get(c.key)) for c in panel.columns) for r in panel.rows]


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    return None


PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def chart_config(panel: Panel) -> dict[str, Any] | None:
    """The Chart.js configuration of the panel's chart (data only), or None without one."""
    chart = panel.chart
    if chart is None or not panel.rows:
        return None
    labels = {c.key: c.label for c in panel.columns}
    kinds = {c.key: c.kind for c in panel.columns}
    pct = all(kinds.get(s) == "pct" for s in chart.series)
    datasets = []
    for n, key in enumerate(chart.series):
        values = [_number(r.get(key)) for r in panel.rows]
        if pct:
            values = [None if v is None else round(v * 100, 1) for v in values]
        colour = PALETTE[n % len(PALETTE)]
        datasets.append(
            {
                "label": labels.get(key, key),
                "data": values,
                "backgroundColor": colour,
                "borderColor": colour,
                "spanGaps": True,
            }
        )
    scale: dict[str, Any] = {"beginAtZero": True}
    if pct:
        scale["title"] = {"display": True, "text": "%"}
    stacked = chart.kind == "stacked"
    value_axis, label_axis = ("x", "y") if chart.horizontal else ("y", "x")
    return {
        "type": "line" if chart.kind == "line" else "bar",
        "data": {"labels": [str(_plain(r.get(chart.x)) or "—") for r in panel.rows], "datasets": datasets},
        "options": {
            "indexAxis": "y" if chart.horizontal else "x",
            "responsive": True,
            "maintainAspectRatio": False,
            "animation": False,
            "scales": {
                value_axis: {**scale, "stacked": stacked},
                label_axis: {"stacked": stacked, "ticks": {"autoSkip": True}},
            },
            "plugins": {"legend": {"display": len(datasets) > 1, "position": "bottom"}},
        },
    }


def describe(panel: Panel) -> str:
    """The chart's text alternative: what it draws, and where the numbers are."""
    if panel.chart is None:
        return panel.title
    labels = {c.key: c.label for c in panel.columns}
    series = ", ".join(labels.get(s, s) for s in panel.chart.series)
    return (
        f"{panel.title}: {series} by {labels.get(panel.chart.x, panel.chart.x)}; the figures are in the table"
    )


def find(panels: Sequence[Panel], panel_id: str) -> Panel | None:
    return next((p for p in panels if p.id == panel_id), None)
