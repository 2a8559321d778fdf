"""`leadloop matcher …`: the model the real-time matcher and the warehouse pass decide with. Refit it
on the warehouse (a what-if first; `--apply` or `activate` makes it the one in use), list the
stored versions, go back to an earlier one."""

from __future__ import annotations

from typing import Annotated

import typer

from leadloop.cli._common import DbUrl, console, database, fail, settings
from leadloop.core.clock import utcnow
from leadloop.core.errors import LeadloopError

matcher_app = typer.Typer(
    help="The dedupe matcher's fitted model: refit on the warehouse (with a what-if), list, activate.",
    no_args_is_help=True,
)


def say(line: str) -> None:
    console.print(line, markup=False, highlight=False, soft_wrap=True)


@matcher_app.command("refit")
def refit(
    apply: Annotated[bool, typer.Option("--apply", help="make the new model the one in use at once")] = False,
    database_url: DbUrl = None,
) -> None:
    """Fit the matcher on the stored people (after a large import, say) and show what it would
    change against the model in use: pairs that would now merge, wait for review, or no longer
    match, with examples. It is stored as a draft; --apply activates it."""
    from leadloop.identity import refit as h  # numpy-heavy matching: not for `leadloop --help`

    db = database(settings(database_url))
    try:
        with db.write() as session:
            r = h.refit(session, now=utcnow(), apply=apply)
    except LeadloopError as exc:
        fail(exc)
    finally:
        db.dispose()
    wi = r.whatif
    say(f"fitted on {r.people:,} live people, {r.pairs:,} candidate pairs: model #{r.model_id}")
    say(f"compared with {r.compared_with}, over the same pairs:")
    for band, label in (
        ("merge", "merge automatically"),
        ("review", "wait for review"),
        ("apart", "no match"),
    ):
        say(f"  {label}: {wi.before[band]:,} → {wi.after[band]:,}")
    if r.judged:
        say(f"{r.judged:,} pairs a person has judged, or that wait for review, stay as they are")
    if not wi.changed:
        say("no pair changes what happens to it")
    for move in wi.moves:
        if not move.count:
            continue
        say(f"{move.count:,} pairs {move.name}, e.g.")
        for e in r.examples[move.name]:
            why = f" ({', '.join(e.reasons)})" if e.reasons else ""
            say(f"  {e.left} ~ {e.right}: {e.before:.3f} → {e.after:.3f}{why}")
    if r.applied:
        console.print(
            f"[green]model #{r.model_id} is active[/]: the real-time matcher and the warehouse pass use it; "
            "`leadloop dedupe --warehouse` acts on the pairs now"
        )
    else:
        console.print(
            f"[green]draft #{r.model_id} saved[/], nothing changed; "
            f"activate it with `leadloop matcher activate {r.model_id}`"
        )


@matcher_app.command("activate")
def activate(
    model_id: Annotated[int, typer.Argument(metavar="MODEL_ID")], database_url: DbUrl = None
) -> None:
    """Make a stored model (a draft, or an earlier one to go back to) the one in use."""
    from leadloop.identity import refit as h

    db = database(settings(database_url))
    try:
        with db.write() as session:
            done = h.activate(session, model_id, now=utcnow())
    except LeadloopError as exc:
        fail(exc)
    finally:
        db.dispose()
    if done.was_active:
        console.print(f"model #{model_id} was already active")
    else:
        console.print(
            f"[green]model #{model_id} is active[/]: the real-time matcher and the warehouse pass use it"
        )


@matcher_app.command("list")
def list_(database_url: DbUrl = None) -> None:
    """The stored models, newest first, and which one the matchers use."""
    from leadloop.identity import refit as h
    from leadloop.identity.match_models import in_use

    db = database(settings(database_url))
    try:
        with db.read() as session:
            rows, current = h.stored_models(session), in_use(session)
    finally:
        db.dispose()
    for m in rows:
        people = f"{m.people:,} people, " if m.people is not None else ""
        state = f"unusable: {m.problem}" if m.problem else m.status
        say(f"#{m.id}  {m.created_at:%Y-%m-%d %H:%M}  {people}{m.pairs:,} pairs  {state}")
    say(f"the matchers use {current.describe()}")
    if drafts := [m.id for m in rows if m.status == "draft" and not m.problem]:
        say(f"activate a draft with `leadloop matcher activate {drafts[0]}`")
    elif current.id is None:
        say("fit one with `leadloop matcher refit` (or the first `leadloop dedupe --warehouse`)")
