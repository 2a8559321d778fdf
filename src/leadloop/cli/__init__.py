"""The `leadloop` command: one module per command group, each thin (parse, call a use case,
print the outcome). `python -m leadloop.cli` runs it too."""

from __future__ import annotations

import typer

from leadloop.cli.data import export, import_
from leadloop.cli.db import db_app
from leadloop.cli.dedupe import dedupe
from leadloop.cli.demo import demo
from leadloop.cli.doctor import doctor
from leadloop.cli.enrich import enrich
from leadloop.cli.mailin import mail_in
from leadloop.cli.mailsync import mail_sync
from leadloop.cli.matcher import matcher_app
from leadloop.cli.opportunity import opportunity_app
from leadloop.cli.report import report_app
from leadloop.cli.routing import routing_app
from leadloop.cli.scoring import scoring_app
from leadloop.cli.sequences import sequences_app
from leadloop.cli.serve import lander, serve, worker
from leadloop.cli.tracking import tracking_app
from leadloop.cli.users import keys_app, users_app

app = typer.Typer(help="Leadloop: lead management from the first signal to revenue.", no_args_is_help=True)
app.command()(serve)
app.command()(worker)
app.command(hidden=True)(lander)
app.command()(demo)
app.command("import")(import_)
app.command()(export)
app.command()(dedupe)
app.command()(enrich)
app.command("mail-in")(mail_in)
app.command("mail-sync")(mail_sync)
app.command()(doctor)
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="apikeys")
app.add_typer(db_app, name="db")
app.add_typer(scoring_app, name="scoring")
app.add_typer(routing_app, name="routing")
app.add_typer(sequences_app, name="sequences")
app.add_typer(report_app, name="report")
app.add_typer(tracking_app, name="tracking")
app.add_typer(opportunity_app, name="opportunity")
app.add_typer(matcher_app, name="matcher")

__all__ = ["app"]
