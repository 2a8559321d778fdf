"""The dashboard panel: its CSV carries the table exactly, and its chart draws the table's columns."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from leadloop.dashboards.panel import Chart, Column, Panel, chart_config, csv_rows, describe

COLUMNS = (Column("stage", "Stage"), Column("leads", "Leads", "int"), Column("won", "Won", "money"))


def panel(rows: list[dict[str, object]], chart: Chart | None = None) -> Panel:
    return Panel(id="p", title="Funnel", columns=COLUMNS, rows=tuple(rows), chart=chart)


def test_the_csv_keeps_amounts_exact_and_columns_in_order() -> None:
    header, rows = csv_rows(panel([{"stage": "MQL", "leads": 3, "won": Decimal("1234.57")}]))
    assert header == ["Stage", "Leads", "Won"]
    assert rows == [("MQL", 3, "1234.57")]


def test_a_missing_figure_is_an_empty_cell_not_zero() -> None:
    _, rows = csv_rows(panel([{"stage": "SQL"}]))
    assert rows == [("SQL", None, None)]


@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=20))
def test_the_chart_draws_the_table_s_numbers(values: list[int]) -> None:
    rows = [{"stage": f"s{n}", "leads": v} for n, v in enumerate(values)]
    config = chart_config(panel(rows, Chart("bar", "stage", ("leads",))))
    assert config is not None
    assert config["data"]["labels"] == [f"s{n}" for n in range(len(values))]
    assert config["data"]["datasets"][0]["data"] == [float(v) for v in values]
    assert config["data"]["datasets"][0]["label"] == "Leads"


def test_shares_are_drawn_as_percentages_and_gaps_stay_gaps() -> None:
    p = Panel(
        id="s",
        title="Speed",
        columns=(Column("bucket", "First response"), Column("rate", "Converted", "pct")),
        rows=({"bucket": "< 5 min", "rate": 0.25}, {"bucket": "never", "rate": None}),
        chart=Chart("bar", "bucket", ("rate",)),
    )
    config = chart_config(p)
    assert config is not None
    assert config["data"]["datasets"][0]["data"] == [25.0, None]
    assert config["options"]["scales"]["y"]["title"]["text"] == "%"


def test_no_chart_without_rows_or_spec() -> None:
    assert chart_config(panel([])) is None
    assert chart_config(panel([{"stage": "x", "leads": 1}])) is None
    assert chart_config(panel([], Chart("bar", "stage", ("leads",)))) is None


def test_stacked_and_horizontal_charts_set_their_axes() -> None:
    rows = [{"stage": "a", "leads": 1, "won": Decimal(2)}]
    config = chart_config(panel(rows, Chart("stacked", "stage", ("leads", "won"), horizontal=True)))
    assert config is not None
    assert config["options"]["indexAxis"] == "y"
    assert config["options"]["scales"]["x"]["stacked"] and config["options"]["scales"]["y"]["stacked"]
    assert config["options"]["plugins"]["legend"]["display"] is True


def test_the_text_alternative_names_the_series() -> None:
    p = panel([{"stage": "a", "leads": 1}], Chart("bar", "stage", ("leads", "won")))
    assert describe(p) == "Funnel: Leads, Won by Stage; the figures are in the table"
