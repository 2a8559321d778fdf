"""`leadloop report funnel|audit|roi|speed|sla|aging|forecast|capacity`: the same tables as the API
(analytics/shapes.py), as Rich tables or CSV, under the shared filters. The CLI refreshes the report
facts first (a server's timer does it there), so a fresh import shows at once."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from leadloop.analytics.facts import refresh
from leadloop.analytics.filters import ReportFilters
from leadloop.analytics.shapes import REPORTS, ask_for
from leadloop.cli._common import DbUrl, console, database, fail, settings
from leadloop.core.clock import utcnow
from leadloop.core.errors import InvalidInput
from leadloop.routing.report import GROUPS

HELP = {
    "funnel": "Inquiry → MQL → SAL → SQL → opportunity → won: conversion and median days per stage, and "
    "the revenue share of recycled and old leads.",
    "audit": "Each handed-over lead as sales experienced it: accepted, rejected, within SLA, converted, won, revenue.",
    "roi": "Per campaign: cost per lead, MQL, SAL, SQL, opportunity and won deal; influence; ROI.",
    "speed": "Conversion by first-response bucket: your own Oldroyd curve.",
    "sla": "Speed to lead (SLA) per rep, team, source or grade.",
    "aging": "Open leads with sales by age and owner.",
    "forecast": "Open pipeline x stage win rate by close month, last year beside it, and a backtest.",
    "capacity": "Leads per rep per week against capacity, response as load grows, handling cost by channel.",
}


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(InvalidInput(f"{option} must be a date like 2026-01-31, not {value!r}"))


def _command(name: str) -> Callable[..., None]:
    def run(
        by: Annotated[
            str | None,
            typer.Option(
                help="group by (cohort, source, campaign, segment, product, team, rep, grade, rule)"
            ),
        ] = None,
        from_: Annotated[str | None, typer.Option("--from", help="first day (YYYY-MM-DD), included")] = None,
        to: Annotated[str | None, typer.Option("--to", help="last day (YYYY-MM-DD), included")] = None,
        days: Annotated[int | None, typer.Option(help="the last N days (instead of --from)")] = None,
        campaign: Annotated[str | None, typer.Option(help="a campaign's name or external id")] = None,
        segment: Annotated[str | None, typer.Option(help="a segment's name or id")] = None,
        team: Annotated[str | None, typer.Option(help="a team's name or id")] = None,
        product: Annotated[str | None, typer.Option(help="a product")] = None,
        currency: Annotated[
            str | None, typer.Option(help="only amounts in this currency (no conversion)")
        ] = None,
        as_csv: Annotated[
            bool, typer.Option("--csv", help="CSV on standard output instead of tables")
        ] = False,
        database_url: DbUrl = None,
    ) -> None:
        if name == "sla" and by is not None and by not in GROUPS:
            fail(InvalidInput(f"--by must be one of {', '.join(GROUPS)}"))
        conf = settings(database_url)
        now = utcnow()
        start = _day(from_, "--from") or (now.date() - timedelta(days=days) if days else None)
        filters = ReportFilters(start, _day(to, "--to"), campaign, segment, team, product)
        db = database(conf)
        try:
            with db.write() as session:
                refresh(
                    session,
                    now=now,
                    default_currency=conf.default_currency,
                    default_product=conf.default_product,
                )
            with db.read() as session:
                tables = REPORTS[name](
                    session, ask_for(conf, now=now, filters=filters, by=by, currency=currency)
                )
        except InvalidInput as exc:
            fail(exc)
        if as_csv:
            out = csv.writer(sys.stdout)
            for i, t in enumerate(tables):
                if len(tables) > 1:
                    if i:
                        out.writerow([])
                    out.writerow([f"# {t.title}"])
                out.writerow(t.header)
                out.writerows(t.rows)
            return
        for t in tables:
            console.print(_rendered(t.title, t.header, t.rows, console.width))

    run.__doc__ = HELP[name]
    return run


def _rendered(title: str, header: list[str], rows: list[list[str]], width: int) -> Table:
    """A table when it fits the terminal; else one small two-column block per row (label, value),
    as the dashboards' tables become cards on a phone: never a grid of truncated "…" cells."""
    need = sum(max([len(h), *(len(r[i] or "—") for r in rows)]) + 3 for i, h in enumerate(header)) + 1
    if need <= width or len(header) <= 2:
        table = Table(title=title)
        for i, h in enumerate(header):
            table.add_column(h, justify="left" if i == 0 else "right")
        for r in rows:
            table.add_row(*(c or "—" for c in r))
        return table
    cards = Table(title=title, show_header=False, show_lines=True)
    cards.add_column(header[0])
    for r in rows:
        block = Table.grid(padding=(0, 2))
        block.add_column(style="bold")
        block.add_column(justify="right")
        for h, c in zip(header[1:], r[1:], strict=True):
            block.add_row(h, c or "—")
        cards.add_row(Group(Text(f"{header[0]}: {r[0] or '—'}", style="bold"), block))
    return cards


def add_report_commands(app: typer.Typer) -> None:
    for name in REPORTS:
        app.command(name)(_command(name))
