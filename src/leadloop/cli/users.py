"""`leadloop users …` and `leadloop apikeys …`: who signs in, machine clients, and a rep's working
calendar, absences and departure (routing's side of a user)."""

from __future__ import annotations

from typing import Annotated

import typer

from leadloop.cli._common import DbUrl, console, database, fail, settings
from leadloop.contract.normalise import parse_datetime
from leadloop.core.clock import utcnow
from leadloop.core.errors import InvalidInput, LeadloopError
from leadloop.routing.handlers import add_away, deactivate_user, set_manager
from leadloop.routing.repository import user_by_email, users_by_email
from leadloop.routing.staff import set_calendar

users_app = typer.Typer(help="Users who sign in to the web app.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for machine clients.", no_args_is_help=True)


@users_app.command("create")
def create(
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    role: Annotated[str, typer.Option(help="admin | marketing | manager | rep | bdr | partner")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    database_url: DbUrl = None,
) -> None:
    from leadloop.auth.handlers import create_user  # hashes a dummy password (argon2) at import

    db = database(settings(database_url))
    try:
        with db.write() as session:
            uid = create_user(session, email=email, name=name, role=role, password=password, now=utcnow())
    except LeadloopError as exc:
        fail(exc)
    console.print(f"[green]user #{uid}[/] {email} ({role}) created")


@users_app.command("reset-password")
def reset_password(
    email: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    database_url: DbUrl = None,
) -> None:
    """Set a user's password for them: they must choose their own at the next sign-in, and are
    signed out everywhere now."""
    from leadloop.auth.handlers import reset_password as reset

    db = database(settings(database_url))
    try:
        with db.write() as session:
            reset(session, email=email, new_password=password, now=utcnow())
    except LeadloopError as exc:
        fail(exc)
    finally:
        db.dispose()
    console.print(f"[green]{email}[/] password reset; they choose their own at the next sign-in")


@users_app.command("role")
def role(
    email: str,
    new_role: Annotated[str, typer.Argument(help="admin | marketing | manager | rep | bdr | partner")],
    database_url: DbUrl = None,
) -> None:
    """Change a user's role (recorded in the audit log)."""
    from leadloop.auth.handlers import set_role

    db = database(settings(database_url))
    try:
        with db.write() as session:
            set_role(session, email=email, role=new_role, now=utcnow())
    except LeadloopError as exc:
        fail(exc)
    finally:
        db.dispose()
    console.print(f"[green]{email}[/] is now {new_role}")


@keys_app.command("create")
def create_key(
    user: Annotated[str, typer.Option(help="e-mail of the user the key acts as")],
    name: Annotated[str, typer.Option(help="what the key is for")],
    scope: Annotated[
        str, typer.Option(help="full | read (GET only) | capture (leads and activities only, for a website)")
    ] = "full",
    database_url: DbUrl = None,
) -> None:
    from leadloop.auth.handlers import create_api_key  # hashes a dummy password (argon2) at import

    db = database(settings(database_url))
    try:
        with db.write() as session:
            token = create_api_key(session, user_email=user, name=name, now=utcnow(), scope=scope)
    except LeadloopError as exc:
        fail(exc)
    finally:
        db.dispose()
    console.print("API key (shown once; send it as 'Authorization: Bearer <key>'):")
    print(token)


@users_app.command("calendar")
def calendar(
    email: str,
    timezone: Annotated[str | None, typer.Option(help="IANA zone, e.g. Europe/Berlin")] = None,
    hours: Annotated[
        list[str] | None, typer.Option(help="day=spans, e.g. mon=09:00-12:00,13:00-17:00 (repeat)")
    ] = None,
    holidays: Annotated[
        str | None, typer.Option(help="country code, optionally /subdivision, e.g. DE/BE")
    ] = None,
    manager: Annotated[str | None, typer.Option(help="the manager's e-mail (SLA escalations)")] = None,
    database_url: DbUrl = None,
) -> None:
    """Set a rep's working calendar and manager (checked: zone, hours, holiday calendar, no manager cycle)."""
    try:
        spec = dict(h.split("=", 1) for h in hours or [] if "=" in h)
        if hours and len(spec) != len(hours):
            raise typer.BadParameter("--hours takes day=spans, e.g. mon=09:00-17:00")
        with database(settings(database_url)).write() as session:
            found = users_by_email(session, {email.lower()} | ({manager.lower()} if manager else set()))
            user = found.get(email.lower())
            if user is None:
                raise LeadloopError(f"there is no user {email}")
            set_calendar(session, user.id, timezone=timezone, hours=spec or None, holidays=holidays)
            if manager:
                if manager.lower() not in found:
                    raise LeadloopError(f"there is no user {manager}")
                set_manager(session, user.id, found[manager.lower()].id)
    except LeadloopError as exc:
        fail(exc)
    console.print(f"[green]{email}[/] calendar saved")


@users_app.command("away")
def away(
    email: str,
    start: Annotated[str, typer.Option("--from")],
    until: Annotated[str, typer.Option("--until")],
    note: str | None = None,
    database_url: DbUrl = None,
) -> None:
    """Out of office: routing skips the rep meanwhile and their SLA clocks stand still."""
    try:
        a, b = parse_datetime(start, field="--from"), parse_datetime(until, field="--until")
        if a is None or b is None or b <= a:
            raise InvalidInput("--until must come after --from")
        with database(settings(database_url)).write() as session:
            user = user_by_email(session, email)
            add_away(session, user.id, a, b, note=note)
    except LeadloopError as exc:
        fail(exc)
    console.print(f"[green]{email}[/] is away from {a:%Y-%m-%d %H:%M} to {b:%Y-%m-%d %H:%M} UTC")


@users_app.command("deactivate")
def deactivate(email: str, database_url: DbUrl = None) -> None:
    """A rep who leaves: their open leads are routed again at once, never orphaned, and every
    browser they are signed in on is signed out."""
    from leadloop.auth.handlers import deactivated

    db = database(settings(database_url))
    try:
        with db.write() as session:
            user = user_by_email(session, email)
            n = deactivate_user(session, user.id, now=utcnow())
            deactivated(session, user.id, now=utcnow(), by_user_id=None, via="cli")
    except LeadloopError as exc:
        fail(exc)
    finally:
        db.dispose()
    console.print(f"[green]{email}[/] deactivated; {n:,} open leads routed again")
