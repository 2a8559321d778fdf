"""`leadloop dedupe`: the same person twice, in a standalone file or in the stored people."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leadloop.cli._common import DbUrl, console, database, fail, settings
from leadloop.core.clock import utcnow
from leadloop.core.errors import InvalidInput, LeadloopError


def dedupe(
    file: Annotated[Path | None, typer.Argument(help="CSV with a header row (or --warehouse)")] = None,
    id_column: Annotated[
        str | None, typer.Option("--id-column", help="the column that identifies each row")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="clusters CSV: id, cluster_id, match_confidence")
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            min=0.5,
            max=0.9999,
            help="match probability that joins two rows (default: chosen from the fitted model)",
        ),
    ] = None,
    map: Annotated[
        list[str] | None,
        typer.Option(
            "--map", help="'Column=field' (a person field, id, text, or - to leave it out); repeatable"
        ),
    ] = None,
    gmail_dots: Annotated[
        bool, typer.Option("--gmail-dots/--no-gmail-dots", help="a.b@gmail.com is ab@gmail.com")
    ] = True,
    plus_tags: Annotated[
        bool, typer.Option("--plus-tags/--no-plus-tags", help="a+x@d.com is a@d.com")
    ] = True,
    warehouse: Annotated[
        bool, typer.Option("--warehouse", help="dedupe the stored people instead of a file")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="with --warehouse: count, change nothing")
    ] = False,
    database_url: DbUrl = None,
) -> None:
    """Find the same person twice in a standalone file (no e-mail column needed: name, address,
    postcode, birth date and phone work too; one output row per input row), or with --warehouse
    in the stored people: pairs above the auto-merge threshold merge (undoably), the likely ones
    wait in the review queue."""
    if warehouse:
        if file is not None:
            fail(InvalidInput("give a FILE or --warehouse, not both"))
        _dedupe_warehouse(database_url, dry_run=dry_run)
        return
    if file is None or id_column is None or out is None:
        fail(InvalidInput("dedupe a file with: leadloop dedupe FILE.csv --id-column ID --out clusters.csv"))
    from leadloop.identity.columns import parse_maps
    from leadloop.identity.files import dedupe_file  # numpy-heavy matching: not for `leadloop --help`

    tmp = out.with_name(out.name + ".part")
    try:
        maps = parse_maps(map or [])
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            r = dedupe_file(
                file,
                fh,
                id_column=id_column,
                threshold=threshold,
                gmail_dots=gmail_dots,
                plus_tags=plus_tags,
                maps=maps,
            )
    except LeadloopError as exc:
        tmp.unlink(missing_ok=True)
        fail(exc)
    tmp.replace(out)
    console.print("columns:", markup=False)
    for line in r.plan.report():
        console.print(line, markup=False, highlight=False)
    console.print(f"matched on: {', '.join(sorted(r.columns))}")
    res = r.result
    console.print(
        f"threshold {res.threshold:.2f} ({'given' if threshold is not None else 'chosen from the fitted model'}); "
        f"expected by the model there: precision {res.expected_precision:.3f}, "
        f"recall {res.expected_recall:.3f} of the pairs that reached comparison"
    )
    console.print(
        f"[green]{r.rows:,} rows[/] → {r.clusters:,} people ({r.duplicates:,} duplicates) written to {out}"
    )


def _dedupe_warehouse(database_url: str | None, *, dry_run: bool) -> None:
    from leadloop.identity.warehouse import dedupe_warehouse  # numpy-heavy matching, as above

    db = database(settings(database_url))
    try:
        with db.write() as session:
            r = dedupe_warehouse(session, now=utcnow(), dry_run=dry_run)
    except LeadloopError as exc:
        fail(exc)
    finally:
        db.dispose()
    verb = ("would merge", "would queue") if dry_run else ("merged", "queued for review")
    console.print(f"{r.people:,} people, {r.pairs:,} candidate pairs compared")
    console.print(
        f"[green]{r.merged:,} pairs {verb[0]}[/] (undo from the person's page), {r.queued:,} {verb[1]}"
    )
    console.print(
        f"{r.accounts:,} accounts: [green]{r.accounts_merged:,} pairs {verb[0]}[/] (undo from the account's page), "
        f"{r.accounts_queued:,} {verb[1]}"
    )
    if r.learnt and r.model_id:
        say(
            f"decided by a model this pass learnt from the warehouse, in place of {r.model}; the "
            f"real-time matcher now uses it (#{r.model_id}); refit later with `leadloop matcher refit`"
        )
    elif r.learnt:
        say(
            f"decided by a model this dry run learnt from the warehouse and kept nowhere, in place "
            f"of {r.model}"
        )
    else:
        say(f"decided by {r.model}")


def say(line: str) -> None:
    console.print(line, markup=False, highlight=False, soft_wrap=True)
