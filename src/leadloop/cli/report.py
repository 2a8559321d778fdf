"""`leadloop report …`: speed-to-lead SLAs and rejections."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from leadloop.cli._common import DbUrl, console, database, fail, settings
from leadloop.core.clock import utcnow
from leadloop.core.errors import InvalidInput
from leadloop.routing.report import GROUPS, rejection_report, sla_report

report_app = typer.Typer(help="Reports: speed-to-lead SLAs, rejections.", no_args_is_help=True)


def _minutes(v: float | None) -> str:
    return "—" if v is None else f"{v:,.1f}"


@report_app.command("sla")
def sla(
    by: Annotated[str, typer.Option(help="rep | team | source | grade")] = "rep",
    days: Annotated[int, typer.Option(help="leads assigned in the last N days")] = 30,
    database_url: DbUrl = None,
) -> None:
    """Time to first touch (median, p90) and the share within SLA."""
    if by not in GROUPS:
        fail(InvalidInput(f"--by must be one of {', '.join(GROUPS)}"))
    now = utcnow()
    with database(settings(database_url)).read() as session:
        rows = sla_report(session, since=now - timedelta(days=days), now=now, by=by)
    table = Table(title=f"Speed to lead, last {days} days, by {by}")
    for col in (by, "assigned", "touched", "median min", "p90 min", "within SLA"):
        table.add_column(col, justify="left" if col == by else "right")
    for r in rows:
        share = (
            f"{r.share_within:.0%} ({r.within_sla}/{r.within_sla + r.missed})"
            if r.share_within is not None
            else "—"
        )
        table.add_row(
            r.group,
            str(r.assigned),
            str(r.touched),
            _minutes(r.median_minutes),
            _minutes(r.p90_minutes),
            share,
        )
    console.print(table)


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
