"""`leadloop demo`: a fresh demo world on SQLite, served."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from leadloop.cli._common import console, database
from leadloop.cli.serve import serve
from leadloop.core.clock import utcnow
from leadloop.settings import Settings


def demo(
    path: Annotated[Path, typer.Option(help="SQLite file to (re)build")] = Path("leadloop-demo.db"),
    seed: int = 7,
    accounts: int = 2000,
    people: int = 8000,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve")] = True,
    port: int = 8000,
    live_hand_raisers: Annotated[
        bool,
        typer.Option(
            "--live-hand-raisers/--no-live-hand-raisers",
            help="while serving, post a new demo request every few minutes through the form's capture path",
        ),
    ] = True,
    hand_raiser_minutes: Annotated[
        float, typer.Option(min=0.5, help="minutes between live hand-raisers")
    ] = 3.0,
) -> None:
    """Build a fresh demo world on SQLite and serve it."""
    from leadloop.demo.seed import build_demo  # the world's dedupe pass loads the numpy-heavy matcher

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    settings = Settings(database_url=f"sqlite:///{path}", log_json=False)
    db = database(settings)
    with console.status("Building the demo world…"):
        summary = build_demo(db, seed=seed, n_accounts=accounts, n_people=people, now=utcnow())
    db.dispose()
    table = Table(title=f"Demo world in {path}")
    table.add_column("what")
    table.add_column("count", justify="right")
    for k, v in summary.counts.items():
        table.add_row(k, f"{v:,}")
    console.print(table)
    console.print(
        f"Duplicate accounts from a legacy import: {summary.account_merges} merged, "
        f"{summary.account_reviews} waiting on the Duplicates page"
    )
    logins = Table(title="Demo logins (password for all: " + summary.password + ")")
    logins.add_column("e-mail")
    logins.add_column("role")
    for email, role in summary.logins:
        logins.add_row(email, role)
    console.print(logins)
    if serve_after:
        # The demo has no mail server: its notifications are kept in the outbox, not retried.
        os.environ.setdefault("LEADLOOP_SMTP_HOST", "")
        os.environ["LEADLOOP_DEMO_HAND_RAISER_MINUTES"] = str(hand_raiser_minutes if live_hand_raisers else 0)
        if live_hand_raisers:
            console.print(
                f"A new hand-raiser arrives every {hand_raiser_minutes:g} min (--no-live-hand-raisers to stop)."
            )
        console.print(f"Serving at [bold]http://127.0.0.1:{port}[/] — Ctrl-C to stop.")
        serve(host="127.0.0.1", port=port, workers=1, database_url=settings.database_url)
