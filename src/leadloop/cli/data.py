"""`leadloop import` and `leadloop export`: CSV in and out of the warehouse."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from leadloop.capture.export import export_csv
from leadloop.cli._common import DbUrl, console, database, fail, settings
from leadloop.contract.custom import CustomLimits
from leadloop.core.clock import utcnow
from leadloop.core.errors import LeadloopError


def _parse_maps(maps: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in maps:
        header, sep, field = item.partition("=")
        if not sep or not header.strip():
            raise typer.BadParameter(f"--map takes 'Header=field' (or 'Header=-' to skip), not {item!r}")
        out[header.strip()] = field.strip()
    return out


def import_(
    entity: Annotated[
        str, typer.Argument(help="people | accounts | activities | opportunities | contact_roles | campaigns")
    ],
    file: Annotated[Path, typer.Argument(help="CSV with a header row")],
    map: Annotated[list[str] | None, typer.Option("--map", help="Header=field; repeatable")] = None,
    encoding: Annotated[str | None, typer.Option(help="Force an encoding (default: detect)")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Rows per transaction")] = None,
    rejects: Annotated[Path | None, typer.Option(help="Where bad rows go (default FILE.rejects.csv)")] = None,
    database_url: DbUrl = None,
) -> None:
    """Import a CSV file. Bad rows go to a rejects file with the reason; the rest land. The run is
    recorded like the app's imports (its history, counters, rejects and warnings)."""
    # Capture brings identity matching (numpy, rapidfuzz) and scoring with it.
    from leadloop.capture import runs
    from leadloop.capture.importer import RunLink, run_import
    from leadloop.contract.csvio import open_csv

    config = settings(database_url)
    run_id: int | None = None
    token = secrets.token_hex(16)
    try:
        overrides = _parse_maps(map or [])
        db = database(config)
        src = open_csv(file, entity, overrides=overrides, encoding=encoding)
        with db.write() as session:
            run_id = runs.create(
                session,
                runs.NewRun(
                    entity=entity,
                    filename=file.name,
                    file_sha256=src.sha256,
                    encoding=src.encoding,
                    delimiter=src.delimiter,
                    source="cli",
                    file_bytes=file.stat().st_size,
                    mapping=overrides,
                ),
                now=utcnow(),
                status="running",
                claim=token,
            )
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            disable=not sys.stderr.isatty(),
        ) as progress:
            task = progress.add_task(f"{entity} from {file.name}", total=None)
            report = run_import(
                db,
                entity,
                file,
                now=utcnow,
                overrides=overrides,
                encoding=encoding,
                batch_size=batch_size or config.import_batch_size,
                max_chars=config.max_field_chars,
                custom=CustomLimits(config.max_custom_fields, config.max_custom_chars),
                rejects_path=rejects,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
                run=RunLink(run_id, token),
            )
    except LeadloopError as exc:
        if run_id is not None:
            with db.write() as session:
                runs.fail(session, run_id, token, error=str(exc), now=utcnow())
        fail(exc)
    console.print(
        f"[green]{report.rows:,} rows[/] from {file.name} ({report.encoding}, '{report.delimiter}'): "
        f"{report.created:,} created, {report.updated:,} updated, {report.unchanged:,} unchanged, "
        f"{report.rejected:,} rejected"
    )
    if report.unmapped:
        console.print(f"Kept as custom attributes (no standard field): {', '.join(report.unmapped)}")
    for warning, n in report.warnings.most_common():
        console.print(f"[yellow]warning[/] ({n} rows): {warning} (raw value kept on the record)")
    if report.owners_missing:
        missing = ", ".join(f"{k} ({n})" for k, n in report.owners_missing.most_common(10))
        console.print(f"[yellow]Owners matching no user[/] (their leads keep their owner): {missing}")
    if report.stages_moved or report.owners_set:
        console.print(
            f"Carried over: {report.stages_moved:,} lead stages, {report.owners_set:,} owners "
            f"({report.leads_opened:,} leads opened)"
        )
    if report.rejects_path:
        console.print(f"[yellow]Rejected rows and reasons:[/] {report.rejects_path}")
    console.print(f"Recorded as import #{run_id}.")


def export(
    entity: Annotated[str, typer.Argument(help="people | accounts | leads | activities")],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write ('-' for stdout)")],
    database_url: DbUrl = None,
) -> None:
    """Export to CSV in the contract's field names (formula cells neutralised)."""
    db = database(settings(database_url))
    try:
        if str(out) == "-":
            n = export_csv(db, entity, sys.stdout, now=utcnow())
        else:
            tmp = out.with_name(out.name + ".part")
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                n = export_csv(db, entity, fh, now=utcnow())
            tmp.replace(out)
        from leadloop.auth import audit

        with db.write() as session:
            audit.record(
                session,
                "export",
                at=utcnow(),
                subject=entity,
                detail={"rows": n, "to": str(out), "via": "cli"},
            )
    except LeadloopError as exc:
        fail(exc)
    console.print(f"[green]{n:,} {entity}[/] written to {out}")
