"""One Typer group per kind of versioned document, from one factory: `export | import | whatif |
activate`. A kind's group may add its own commands (scoring adds its predictive model's)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from leadloop.cli._common import DbUrl, console, database, fail, settings
from leadloop.core.clock import utcnow
from leadloop.core.errors import LeadloopError
from leadloop.documents import handlers
from leadloop.documents.model import DocumentKind

Show = Callable[[dict[str, Any]], None]  # prints a what-if summary the kind's way


def document_commands(kind: DocumentKind[Any], *, show: Show, help: str) -> typer.Typer:
    group = typer.Typer(help=help, no_args_is_help=True)
    what, noun = kind.what, kind.noun
    doc_id_arg = typer.Argument(metavar=noun.upper().replace(" ", "_") + "_ID")

    @group.command("export", help=f"The active {what} as YAML (the shipped default until one is activated).")
    def export(
        out: Annotated[Path | None, typer.Option("--out", help="YAML file (default: stdout)")] = None,
        database_url: DbUrl = None,
    ) -> None:
        with database(settings(database_url)).read() as session:
            text = handlers.export(session, kind)
        if out is None:
            typer.echo(text, nl=False)
        else:
            out.write_text(text, encoding="utf-8")
            console.print(f"[green]{noun} written to {out}[/]")

    @group.command("import", help=f"Validate a {what} (errors name the line) and save it as a draft.")
    def import_(file: Annotated[Path, typer.Argument(help="YAML file")], database_url: DbUrl = None) -> None:
        try:
            text = file.read_text(encoding="utf-8")
            with database(settings(database_url)).write() as session:
                draft = handlers.save_draft(session, kind, text, now=utcnow())
        except (LeadloopError, OSError) as exc:
            fail(exc)
        for w in draft.warnings:
            console.print(f"[yellow]warning:[/] {w}")
        console.print(
            f"[green]draft #{draft.id}[/] saved; try it with `leadloop {kind.slug} whatif {draft.id}`"
        )

    @group.command("whatif", help=f"What activating a {what} would change, with examples. Writes nothing.")
    def whatif(
        doc_id: int = doc_id_arg,
        limit: int | None = typer.Option(
            kind.preview_limit,
            "--limit",
            hidden=kind.preview_limit is None,  # only kinds whose what-if replays past items
            help="replay only the latest N",
        ),
        database_url: DbUrl = None,
    ) -> None:
        try:
            with database(settings(database_url)).read() as session:
                _row, doc = handlers.load(session, kind, doc_id)
                summary = handlers.preview(session, kind, doc, now=utcnow(), limit=limit)
        except LeadloopError as exc:
            fail(exc)
        show(summary)

    @group.command("activate", help=f"Activate a {what}, in one transaction with what the kind does then.")
    def activate(doc_id: int = doc_id_arg, database_url: DbUrl = None) -> None:
        try:
            with database(settings(database_url)).write() as session:
                done = handlers.activate(session, kind, doc_id, now=utcnow())
        except LeadloopError as exc:
            fail(exc)
        if summary := done.outcome.summary():
            show(summary)
        console.print(f"[green]{noun} #{doc_id} is active[/]; {len(done.events):,} lead events raised")

    return group
