"""A report too wide for the terminal prints each row as a block of label and value, never a grid
of truncated cells; one that fits stays a table."""

from __future__ import annotations

import io

from rich.console import Console

from leadloop.cli.report_tables import _rendered

HEADER = ["campaign", "cost", "leads", "cost per lead", "pipeline", "revenue", "roi"]
ROWS = [
    ["LinkedIn – ABM Q1", "36000.00", "30", "1200.00", "32700.00", "1388100.00", "1.5376"],
    ["Newsletter", "", "9", "", "0.00", "0.00", ""],
]


def _text(width: int) -> str:
    out = Console(width=width, record=True, file=io.StringIO())
    out.print(_rendered("Campaign ROI", HEADER, ROWS, width))
    return out.export_text()


def test_a_wide_report_becomes_blocks_with_every_value_whole() -> None:
    text = _text(60)
    assert "…" not in text
    for value in ("LinkedIn – ABM Q1", "1388100.00", "1.5376", "cost per lead", "Newsletter"):
        assert value in text
    assert "campaign: Newsletter" in text and max(len(line) for line in text.splitlines()) <= 60


def test_a_report_that_fits_stays_one_table() -> None:
    text = _text(200)
    header_line = next(line for line in text.splitlines() if "cost per lead" in line)
    assert "campaign" in header_line and "roi" in header_line  # every column on one line
    assert "campaign: " not in text
