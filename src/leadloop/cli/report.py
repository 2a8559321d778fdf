"""`leadloop report …`: speed-to-lead SLAs, rejections and attribution."""

from __future__ import annotations

import csv
import sys
from datetime import date, timedelta
from typing import Annotated

import typer
from rich.table import Table

from leadloop.analytics.attribution import BY, MODELS
from leadloop.analytics.attribution_report import attribution_report
from leadloop.cli._common import DbUrl, console, database, fail, settings
from leadloop.cli.report_tables import add_report_commands
from leadloop.core.clock import utcnow
from leadloop.core.errors import InvalidInput
from leadloop.routing.report import rejection_report

report_app = typer.Typer(
    help="Reports: funnel, audit, ROI, speed to lead, SLA, aging, forecast, capacity, rejections, attribution.",
    no_args_is_help=True,
)


@report_app.command("rejections")
def rejections(days: int = 90, database_url: DbUrl = None) -> None:
    """Leads sales sent back, by source and campaign, with the reasons."""
    with database(settings(database_url)).read() as session:
        rows = rejection_report(session, since=utcnow() - timedelta(days=days))
    table = Table(title=f"Rejections, last {days} days")
    for col in ("source", "campaign", "routed", "rejected", "reasons"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r.source,
            r.campaign,
            str(r.routed),
            str(r.rejected),
            ", ".join(f"{k} {v}" for k, v in r.reasons.items()),
        )
    console.print(table)


_SHORT = {
    "first_touch": "first",
    "last_touch": "last",
    "u_shaped": "U",
    "w_shaped": "W",
    "full_path": "full path",
}
_SHORT |= {"time_decay": "decay"}


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(InvalidInput(f"{option} must be a date like 2026-01-31, not {value!r}"))


@report_app.command("attribution")
def attribution(
    model: Annotated[
        list[str] | None,
        typer.Option("--model", help=f"repeat for several; all by default: {', '.join(MODELS)}"),
    ] = None,
    by: Annotated[str, typer.Option(help=" | ".join(BY))] = "campaign",
    from_: Annotated[str | None, typer.Option("--from", help="first day (YYYY-MM-DD), included")] = None,
    to: Annotated[str | None, typer.Option("--to", help="last day (YYYY-MM-DD), included")] = None,
    campaign: Annotated[
        str | None, typer.Option(help="only this campaign's touches (name or external id)")
    ] = None,
    window_days: Annotated[
        int, typer.Option(min=1, help="touches up to N days before the opportunity")
    ] = 180,
    half_life_days: Annotated[float, typer.Option(min=0.001, help="time-decay half-life in days")] = 7.0,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on standard output instead of a table")] = False,
    database_url: DbUrl = None,
) -> None:
    """Revenue (won, by close date) and pipeline (open, by creation) per campaign, channel or content
    under each attribution model, side by side; one row per currency, never added together."""
    conf = settings(database_url)
    try:
        with database(conf).read() as session:
            rows = attribution_report(
                session,
                now=utcnow(),
                models=model,
                by=by,
                start=_day(from_, "--from"),
                end=_day(to, "--to"),
                campaign=campaign,
                window=timedelta(days=window_days),
                half_life=timedelta(days=half_life_days),
                default_currency=conf.default_currency,
            )
    except InvalidInput as exc:
        fail(exc)
    models = list(dict.fromkeys(model or MODELS))
    header = [by, "currency"] + [f"{m} {k}" for m in models for k in ("revenue", "pipeline")]
    cells = [
        [r.group, r.currency] + [str(v) for m in models for v in (r.revenue[m], r.pipeline[m])] for r in rows
    ]
    if as_csv:
        out = csv.writer(sys.stdout)
        out.writerow(header)
        out.writerows(cells)
        return
    period = f", {from_ or '…'} to {to or '…'}" if from_ or to else ""
    # Two tables, models side by side in each: sixteen columns would not fit a terminal.
    for measure, pick in (("revenue (won)", 0), ("pipeline (open)", 1)):
        table = Table(title=f"Attribution by {by}{period}: {measure}")
        table.add_column(by)
        table.add_column("currency")
        for m in models:
            table.add_column(_SHORT.get(m, m), justify="right")
        for r in rows:
            values = (r.revenue if pick == 0 else r.pipeline).values()
            table.add_row(r.group, r.currency, *(f"{v:,.2f}" for v in values))
        console.print(table)


add_report_commands(report_app)
