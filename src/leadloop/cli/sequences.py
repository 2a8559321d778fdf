"""`leadloop sequences …`: sequences as versioned documents (export, import, whatif, activate, from
the documents machine), and enrolling people by hand from a file of e-mail addresses or ids."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
import typer
from sqlalchemy.orm import Session

from leadloop.cli._common import DbUrl, console, database, fail, settings
from leadloop.cli.documents import document_commands
from leadloop.core.clock import utcnow
from leadloop.core.errors import LeadloopError
from leadloop.nurture.handlers import enrol as enrol_people
from leadloop.nurture.handlers import retire as retire_sequence
from leadloop.nurture.kind import SEQUENCES
from leadloop.store.tables import Person


def show(summary: dict[str, Any]) -> None:
    console.print(
        f"{summary['entering']:,} would enter today ({summary['not_again']:,} not again, "
        f"{summary['no_mail']:,} may not be e-mailed); {summary['emails_this_week']:,} e-mails this week"
    )
    for step, n in summary["by_step"].items():
        console.print(f"  step {step}: {n:,}")
    for why, n in summary["deferred"].items():
        console.print(f"  waiting for the {why}: {n:,}")


sequences_app = document_commands(
    SEQUENCES, show=show, help="Drip sequences: export, import a draft, what-if for today, activate."
)


@sequences_app.command("enrol", help="Enrol people (one e-mail address or person id a line) in a sequence.")
def enrol(
    name: Annotated[str, typer.Argument(help="the sequence's name")],
    file: Annotated[Path, typer.Argument(help="a text file: one e-mail address or person id a line")],
    database_url: DbUrl = None,
) -> None:
    try:
        wanted = [line.strip() for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as exc:
        fail(exc)
    db = database(settings(database_url))
    try:
        with db.write() as session:
            done = enrol_people(session, name, _people(session, wanted), trigger="manual", now=utcnow())
    except LeadloopError as exc:
        fail(exc)
    finally:
        db.dispose()
    for person_id, why in done.refused:
        console.print(f"  person #{person_id}: {why}")
    console.print(f"[green]{len(done.enrolled):,} enrolled[/] in {name}; {len(done.refused):,} not")


@sequences_app.command("retire", help="Nobody new enters a sequence; --stop takes the people in it out too.")
def retire(
    name: Annotated[str, typer.Argument(help="the sequence's name")],
    stop: Annotated[bool, typer.Option("--stop", help="end the running enrolments as well")] = False,
    database_url: DbUrl = None,
) -> None:
    db = database(settings(database_url))
    try:
        with db.write() as session:
            ended = retire_sequence(session, name, stop_running=stop, now=utcnow())
    except LeadloopError as exc:
        fail(exc)
    finally:
        db.dispose()
    console.print(f"[green]{name} is retired[/]; {len(ended):,} enrolments stopped")


def _people(session: Session, wanted: list[str]) -> list[tuple[int, int | None]]:
    """Person ids as given, and the people with the addresses given (a missing one is said)."""
    ids = [int(w) for w in wanted if w.isdigit()]
    emails = [w.lower() for w in wanted if not w.isdigit()]
    if emails:
        found = dict(
            session.execute(sa.select(Person.email, Person.id).where(Person.email.in_(emails))).all()
        )
        for e in emails:
            if e not in found:
                console.print(f"[yellow]no person with the address {e}[/]")
        ids += [found[e] for e in emails if e in found]
    return [(i, None) for i in ids]
