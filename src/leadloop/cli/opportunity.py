"""`leadloop opportunity convert|update|show`: the lead page's Convert and update forms in the
terminal. `--by` names the user doing it: the same rule as in the app decides whether they may
(the lead's owner, a manager above them, an admin), and the history says who it was."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.table import Table
from sqlalchemy.orm import Session

from leadloop.access.model import EVERYTHING
from leadloop.auth.model import Principal, Role
from leadloop.cli._common import DbUrl, console, database, fail, settings
from leadloop.contract.normalise import parse_money
from leadloop.core.clock import utcnow
from leadloop.core.errors import InvalidInput, LeadloopError, NotFound
from leadloop.opportunities import handlers, queries
from leadloop.opportunities.model import ROLES, STAGES, Change, RoleIn
from leadloop.store.tables import User

opportunity_app = typer.Typer(
    help="Convert a lead to an opportunity, move a deal on, show one.", no_args_is_help=True
)

By = Annotated[str, typer.Option("--by", help="the e-mail of the user doing it (their rights apply)")]


def _user(session: Session, email: str) -> Principal:
    user = session.scalars(sa.select(User).where(sa.func.lower(User.email) == email.strip().lower())).first()
    if user is None or not user.active:
        raise NotFound(f"there is no active user {email!r}")
    return Principal(user.id, user.email, user.name, Role(user.role), via="cli")


def _decimal(text: str | None) -> Decimal | None:
    return parse_money(text, field="amount")


def _date(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{what} {text[:30]!r} is not a date (YYYY-MM-DD)") from None


def _role(text: str, primary: int | None) -> RoleIn:
    """'12' or '12:decision maker'."""
    pid, _, role = text.partition(":")
    if not pid.strip().isdigit():
        raise InvalidInput(f"--contact {text!r}: give a person id, then optionally ':' and a role")
    return RoleIn(int(pid), role.strip() or None, int(pid) == primary)


@opportunity_app.command("convert", help="A lead becomes an opportunity on its account, with contact roles.")
def convert(
    lead_id: Annotated[int, typer.Argument(help="the lead's id")],
    by: By,
    contact: Annotated[
        list[str],
        typer.Option(help="PERSON_ID or PERSON_ID:ROLE (repeat); roles: " + ", ".join(ROLES)),
    ],
    primary: Annotated[
        int | None, typer.Option(help="the primary contact's person id (else the first)")
    ] = None,
    name: Annotated[str | None, typer.Option(help="the deal's name (else 'account · product')")] = None,
    stage: Annotated[str | None, typer.Option(help="one of: " + ", ".join(STAGES))] = None,
    amount: Annotated[str | None, typer.Option(help="the expected amount")] = None,
    currency: Annotated[str | None, typer.Option(help="ISO 4217 (else the default currency)")] = None,
    close: Annotated[str | None, typer.Option(help="expected close date, YYYY-MM-DD")] = None,
    database_url: DbUrl = None,
) -> None:
    db = database(settings(database_url))
    try:
        form = handlers.Conversion(
            roles=[_role(c, primary) for c in contact],
            name=name,
            stage=stage,
            amount=_decimal(amount),
            currency=currency,
            expected_close_on=_date(close, "--close"),
        )
        with db.write() as session:
            oid = handlers.convert(session, lead_id, _user(session, by), form, now=utcnow(), source="cli")
    except LeadloopError as exc:
        fail(exc)
    finally:
        db.dispose()
    console.print(f"[green]Lead #{lead_id} converted:[/] opportunity #{oid} is open.")


@opportunity_app.command(
    "update", help="Move a deal on: stage, amount, close date, won or lost (with a reason)."
)
def update(
    opportunity_id: Annotated[int, typer.Argument(help="the opportunity's id")],
    by: By,
    stage: Annotated[str | None, typer.Option(help="an open stage (reopens a closed deal)")] = None,
    outcome: Annotated[str | None, typer.Option(help="open | won | lost")] = None,
    amount: Annotated[str | None, typer.Option()] = None,
    currency: Annotated[str | None, typer.Option()] = None,
    close: Annotated[str | None, typer.Option(help="expected close date, YYYY-MM-DD")] = None,
    reason: Annotated[str | None, typer.Option(help="why it was lost (needed for lost)")] = None,
    closed_on: Annotated[str | None, typer.Option(help="when it was won or lost, if not today")] = None,
    database_url: DbUrl = None,
) -> None:
    db = database(settings(database_url))
    try:
        change = handlers.require_changes(
            Change(
                stage=stage,
                outcome=outcome,
                amount=_decimal(amount),
                currency=currency,
                expected_close_on=_date(close, "--close"),
                lost_reason=reason,
                closed_on=_date(closed_on, "--closed-on"),
            )
        )
        with db.write() as session:
            handlers.update(session, opportunity_id, _user(session, by), change, now=utcnow(), source="cli")
    except LeadloopError as exc:
        fail(exc)
    finally:
        db.dispose()
    console.print(f"[green]Opportunity #{opportunity_id} saved.[/]")


@opportunity_app.command("show", help="An opportunity with its contact roles and history.")
def show(
    opportunity_id: Annotated[int, typer.Argument(help="the opportunity's id")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON (the API's answer)")] = False,
    database_url: DbUrl = None,
) -> None:
    conf = settings(database_url)
    db = database(conf)
    try:
        with db.read() as session:
            view = queries.opportunity(
                session, opportunity_id, EVERYTHING, default_currency=conf.default_currency
            )
    except LeadloopError as exc:
        fail(exc)
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps(view.as_dict(), default=str, indent=2))
        return
    amount = f"{view.amount:,.2f} {view.currency}" if view.amount is not None else "no amount"
    console.print(
        f"[bold]#{view.id} {view.name or ''}[/] · {view.account} · {view.stage_label} ({view.outcome}) · {amount}"
    )
    if view.lost_reason:
        console.print(f"lost: {view.lost_reason}")
    roles = Table(title="Contact roles")
    for col in ("person", "role", "primary"):
        roles.add_column(col)
    for c in view.contacts:
        roles.add_row(f"#{c.person_id} {c.name}", c.role or "", "yes" if c.is_primary else "")
    console.print(roles)
    history = Table(title="History")
    for col in ("at", "stage", "outcome", "amount", "back", "source", "by"):
        history.add_column(col)
    for h in view.history:
        money = f"{h.amount:,.2f} {h.currency}" if h.amount is not None else ""
        history.add_row(
            h.at.isoformat(timespec="minutes"),
            h.stage or "",
            h.outcome,
            money,
            "yes" if h.backwards else "",
            h.source,
            h.by or "",
        )
    console.print(history)
