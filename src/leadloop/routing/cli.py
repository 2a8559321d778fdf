"""`leadloop routing …`, `leadloop report …` and the routing side of `leadloop users …`. Thin:
parse, call a use case, print the outcome."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

routing_app = typer.Typer(
    help="Routing rules: export, import a draft, what-if on past leads, activate.", no_args_is_help=True
)
report_app = typer.Typer(help="Reports: speed-to-lead SLAs, rejections.", no_args_is_help=True)


def _cli() -> Any:
    from leadloop import cli

    return cli


DbUrl = Annotated[
    str | None, typer.Option("--database-url", envvar="LEADLOOP_DATABASE_URL", help="SQLAlchemy URL")
]


@routing_app.command("export")
def routing_export(
    out: Annotated[Path | None, typer.Option("--out")] = None, database_url: DbUrl = None
) -> None:
    """The active rule set as YAML (the shipped default at first)."""
    from leadloop.routing.repository import active_rules

    c = _cli()
    with c._database(c._settings(database_url)).read() as session:
        text = active_rules(session)[0].to_yaml()
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        c.console.print(f"written to {out}")


@routing_app.command("import")
def routing_import(file: Path, database_url: DbUrl = None) -> None:
    """Validate a rule set (errors name the line) and save it as a draft."""
    from leadloop.core.clock import utcnow
    from leadloop.core.errors import LeadloopError
    from leadloop.routing.admin import save_draft

    c = _cli()
    db = c._database(c._settings(database_url))
    try:
        with db.write() as session:
            rid, warnings = save_draft(session, file.read_text(encoding="utf-8"), now=utcnow())
    except LeadloopError as exc:
        c._fail(exc)
        return
    for w in warnings:
        c.console.print(f"[yellow]warning:[/] {w}")
    c.console.print(f"[green]draft #{rid}[/] saved; try it with `leadloop routing whatif {rid}`")


@routing_app.command("whatif")
def routing_whatif(ruleset_id: int, limit: int = 1000, database_url: DbUrl = None) -> None:
    """Route the latest routed leads again with a draft: who would have got them. Writes nothing."""
    from leadloop.core.clock import utcnow
    from leadloop.core.errors import LeadloopError
    from leadloop.routing.admin import _load, what_if

    c = _cli()
    try:
        with c._database(c._settings(database_url)).read() as session:
            _, rs = _load(session, ruleset_id)
            result = what_if(session, rs, now=utcnow(), limit=limit).summary()
    except LeadloopError as exc:
        c._fail(exc)
        return
    c.console.print(f"{result['leads']:,} leads replayed; {result['changed']:,} would change owner")
    for owner, n in result["by_owner"].items():
        c.console.print(f"  {owner}: {n}")
    for lead_id, account, now_owner, would in result["examples"]:
        c.console.print(f"  lead {lead_id} {account}: {now_owner} → {would}")


@routing_app.command("activate")
def routing_activate(ruleset_id: int, database_url: DbUrl = None) -> None:
    """Activate a rule set (every user it names must exist). New MQLs route with it at once."""
    from leadloop.core.clock import utcnow
    from leadloop.core.errors import LeadloopError
    from leadloop.routing.admin import activate

    c = _cli()
    try:
        with c._database(c._settings(database_url)).write() as session:
            activate(session, ruleset_id, now=utcnow())
    except LeadloopError as exc:
        c._fail(exc)
        return
    c.console.print(f"[green]rule set #{ruleset_id} is active[/]")


@report_app.command("sla")
def report_sla(
    by: Annotated[str, typer.Option(help="rep | team | source | grade")] = "rep",
    days: Annotated[int, typer.Option(help="leads assigned in the last N days")] = 30,
    database_url: DbUrl = None,
) -> None:
    """Time to first touch (median, p90) and the share within SLA."""
    from leadloop.core.clock import utcnow
    from leadloop.routing.report import GROUPS, sla_report

    c = _cli()
    if by not in GROUPS:
        c._fail(ValueError(f"--by must be one of {', '.join(GROUPS)}"))
    now = utcnow()
    with c._database(c._settings(database_url)).read() as session:
        rows = sla_report(session, since=now - timedelta(days=days), now=now, by=by)
    table = Table(title=f"Speed to lead, last {days} days, by {by}")
    for col in (by, "assigned", "touched", "median min", "p90 min", "within SLA"):
        table.add_column(col, justify="left" if col == by else "right")
    for r in rows:
        share = (
            f"{r.share_within:.0%} ({r.within_sla}/{r.within_sla + r.missed})"
            if r.share_within is not None
            else "—"
        )
        table.add_row(
            r.group, str(r.assigned), str(r.touched), _m(r.median_minutes), _m(r.p90_minutes), share
        )
    c.console.print(table)


def _m(v: float | None) -> str:
    return "—" if v is None else f"{v:,.1f}"


@report_app.command("rejections")
def report_rejections(days: int = 90, database_url: DbUrl = None) -> None:
    """Leads sales sent back, by source and campaign, with the reasons."""
    from leadloop.core.clock import utcnow
    from leadloop.routing.report import rejection_report

    c = _cli()
    with c._database(c._settings(database_url)).read() as session:
        rows = rejection_report(session, since=utcnow() - timedelta(days=days))
    table = Table(title=f"Rejections, last {days} days")
    for col in ("source", "campaign", "routed", "rejected", "reasons"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r.source,
            r.campaign,
            str(r.routed),
            str(r.rejected),
            ", ".join(f"{k} {v}" for k, v in r.reasons.items()),
        )
    c.console.print(table)


def register_user_commands(users_app: typer.Typer) -> None:
    @users_app.command("calendar")
    def users_calendar(
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
        from leadloop.core.errors import LeadloopError
        from leadloop.routing.calendar import Calendar, parse_hours
        from leadloop.routing.handlers import set_manager
        from leadloop.routing.repository import users_by_email

        c = _cli()
        try:
            spec = dict(h.split("=", 1) for h in hours or [] if "=" in h)
            if hours and len(spec) != len(hours):
                raise typer.BadParameter("--hours takes day=spans, e.g. mon=09:00-17:00")
            country, _, sub = (holidays or "").partition("/")
            with c._database(c._settings(database_url)).write() as session:
                found = users_by_email(session, {email.lower()} | ({manager.lower()} if manager else set()))
                user = found.get(email.lower())
                if user is None:
                    raise LeadloopError(f"there is no user {email}")
                zone = timezone or user.timezone
                Calendar(
                    zone=zone,
                    hours=parse_hours(spec) if spec else Calendar().hours,
                    holiday_country=country or user.holiday_country,
                    holiday_subdivision=sub or None,
                )
                user.timezone = zone
                if spec:
                    user.working_hours = spec
                if holidays:
                    user.holiday_country, user.holiday_subdivision = country.upper(), (sub.upper() or None)
                if manager:
                    if manager.lower() not in found:
                        raise LeadloopError(f"there is no user {manager}")
                    set_manager(session, user.id, found[manager.lower()].id)
        except LeadloopError as exc:
            c._fail(exc)
            return
        c.console.print(f"[green]{email}[/] calendar saved")

    @users_app.command("away")
    def users_away(
        email: str,
        start: Annotated[str, typer.Option("--from")],
        until: Annotated[str, typer.Option("--until")],
        note: str | None = None,
        database_url: DbUrl = None,
    ) -> None:
        """Out of office: routing skips the rep meanwhile and their SLA clocks stand still."""
        from leadloop.contract.normalise import parse_datetime
        from leadloop.core.errors import InvalidInput, LeadloopError
        from leadloop.routing.handlers import add_away
        from leadloop.routing.repository import user_by_email

        c = _cli()
        try:
            a, b = parse_datetime(start, field="--from"), parse_datetime(until, field="--until")
            if a is None or b is None or b <= a:
                raise InvalidInput("--until must come after --from")
            with c._database(c._settings(database_url)).write() as session:
                user = user_by_email(session, email)
                add_away(session, user.id, a, b, note=note)
        except LeadloopError as exc:
            c._fail(exc)
            return
        c.console.print(f"[green]{email}[/] is away from {a:%Y-%m-%d %H:%M} to {b:%Y-%m-%d %H:%M} UTC")

    @users_app.command("deactivate")
    def users_deactivate(email: str, database_url: DbUrl = None) -> None:
        """A rep who leaves: their open leads are routed again at once, never orphaned."""
        from leadloop.core.clock import utcnow
        from leadloop.core.errors import LeadloopError
        from leadloop.routing.handlers import deactivate_user
        from leadloop.routing.repository import user_by_email

        c = _cli()
        try:
            with c._database(c._settings(database_url)).write() as session:
                user = user_by_email(session, email)
                n = deactivate_user(session, user.id, now=utcnow())
        except LeadloopError as exc:
            c._fail(exc)
            return
        c.console.print(f"[green]{email}[/] deactivated; {n:,} open leads routed again")
