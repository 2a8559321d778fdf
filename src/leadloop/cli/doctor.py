"""`leadloop doctor`: checks that what must always hold does, says what does not, and repairs it
when asked. Today: every active enrolment in a sequence has exactly one pending timer, and an
ended one has none (a stuck person would never get their next step; a stray timer would run one
for someone who left); and the physical address marketing e-mail must carry is set."""

from __future__ import annotations

from typing import Annotated

import typer

from leadloop.cli._common import DbUrl, console, database, settings
from leadloop.core.clock import utcnow
from leadloop.nurture.repository import broken, repair
from leadloop.store.db import Database

SHOWN = 20


def doctor(
    fix: Annotated[bool, typer.Option("--fix", help="re-arm stuck enrolments, settle stray timers")] = False,
    database_url: DbUrl = None,
) -> None:
    """Check the invariants; exit 1 when one is broken (after --fix: when one is still broken)."""
    config = settings(database_url)
    db = database(config)
    try:
        _check(db, config.mail_postal_address, fix=fix)
    finally:
        db.dispose()


def _check(db: Database, postal_address: str, *, fix: bool) -> None:
    with db.read() as session:
        found = broken(session)
    for b in found[:SHOWN]:
        console.print(f"  enrolment #{b.enrolment_id} ({b.state}): {b.problem}")
    if len(found) > SHOWN:
        console.print(f"  … and {len(found) - SHOWN:,} more")
    if not postal_address:
        console.print(
            "[yellow]warning:[/] LEADLOOP_MAIL_POSTAL_ADDRESS is not set: marketing e-mail goes out "
            "without the sender's physical address, which anti-spam laws (CAN-SPAM, CASL) ask for"
        )
    if found and fix:
        with db.write() as session:
            repair(session, found, now=utcnow())
        with db.read() as session:
            found = broken(session)
        console.print("[green]repaired[/]" if not found else f"[red]{len(found):,} still broken[/]")
    if found:
        console.print(
            f"[red]{len(found):,} enrolment(s) break the rule: one pending timer while active, none after[/]"
        )
        raise typer.Exit(1)
    console.print("[green]every active enrolment has exactly one pending timer; every ended one has none[/]")
