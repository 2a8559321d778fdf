"""`leadloop db …`: the schema."""

from __future__ import annotations

import typer

from leadloop.cli._common import DbUrl, console, database, settings
from leadloop.store.migrate import check as check_migrations

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(database_url: DbUrl = None) -> None:
    """Apply the migrations."""
    database(settings(database_url)).dispose()
    console.print("[green]database is at the latest migration[/]")


@db_app.command("check")
def check(database_url: DbUrl = None) -> None:
    """Fail if the models and the migrations disagree."""
    db = database(settings(database_url))
    check_migrations(db.engine)
    console.print("[green]models and migrations agree[/]")
