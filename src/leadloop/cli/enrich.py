"""`leadloop enrich`: firmographics for every account with a domain, each value with its source."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leadloop.cli._common import DbUrl, console, database, fail, settings
from leadloop.core.clock import utcnow
from leadloop.core.errors import LeadloopError
from leadloop.enrich.handlers import enrich_accounts
from leadloop.enrich.provider import FileProvider, make_provider

MAX_PROBLEMS_SHOWN = 20


def enrich(
    provider: Annotated[str, typer.Option(help="where firmographics come from: file")] = "file",
    path: Annotated[Path | None, typer.Option(help="reference CSV or Parquet keyed by domain")] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="replace values that are already filled")
    ] = False,
    database_url: DbUrl = None,
) -> None:
    """Enrich every account with a domain: fills empty revenue, employees, SIC, NAICS, sites, industry
    and HQ country, and records where each value came from. Bad reference rows are listed."""
    try:
        source = make_provider(provider, path)
        with database(settings(database_url)).write() as session:
            result = enrich_accounts(session, source, now=utcnow(), overwrite=overwrite)
    except LeadloopError as exc:
        fail(exc)
    if isinstance(source, FileProvider):
        for p in source.problems[:MAX_PROBLEMS_SHOWN]:
            console.print(f"[yellow]line {p.line}:[/] {p.message}")
        if len(source.problems) > MAX_PROBLEMS_SHOWN:
            console.print(f"… and {len(source.problems) - MAX_PROBLEMS_SHOWN:,} more rows with problems")
        console.print(f"{source.rows:,} reference rows read, {len(source.problems):,} with problems")
    console.print(
        f"[green]{result.checked:,} accounts checked[/], {result.found:,} found in the reference, "
        f"{result.filled:,} fields filled, {result.kept:,} filled values kept"
    )
