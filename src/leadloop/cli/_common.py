"""What every `leadloop` command shares: the --database-url option, the settings, the one way a
command gets its Database, and how a named error reaches the person (a sentence, exit code 2)."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer
from rich.console import Console

from leadloop import bootstrap
from leadloop.settings import Settings
from leadloop.store.db import Database

console = Console(stderr=True)

DbUrl = Annotated[
    str | None, typer.Option("--database-url", envvar="LEADLOOP_DATABASE_URL", help="SQLAlchemy URL")
]


def settings(database_url: str | None = None) -> Settings:
    return Settings(database_url=database_url) if database_url else Settings()


def database(settings: Settings, *, migrate: bool = True) -> Database:
    """The Database of a CLI command, migrated to the latest schema first. Every command gets its
    Database here, so that what a command's handlers need wired (policies, reactions) is wired once."""
    return bootstrap.database(settings, migrate=migrate)


def fail(exc: Exception) -> NoReturn:
    """Show the named error's sentence, never a traceback, and exit 2."""
    console.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(2)
