"""`leadloop scoring …`: the model as a versioned document (export, import, whatif, activate, from
the documents machine) and the predictive model (train, report, backtest)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from leadloop.cli._common import DbUrl, console, database, fail, settings
from leadloop.cli.documents import document_commands
from leadloop.contract.normalise import parse_datetime
from leadloop.core.clock import utcnow
from leadloop.core.errors import LeadloopError
from leadloop.scoring.kind import SCORING
from leadloop.scoring.repository import active_model
from leadloop.scoring.target import Target


def show(summary: dict[str, Any]) -> None:
    console.print(
        f"{summary['leads']:,} leads: {summary['grade_changes']:,} change grade, {summary['new_mqls']:,} become MQL, "
        f"{summary['new_leads']:,} new leads open"
    )
    for label, key in (
        ("grade changes", "grade_change_examples"),
        ("new MQLs", "new_mql_examples"),
        ("new leads", "new_lead_examples"),
    ):
        for example in summary[key]:
            console.print(f"  {label}: {example}")


scoring_app = document_commands(
    SCORING,
    show=show,
    help="Scoring models: export, import a draft, preview, activate; the predictive model.",
)


@scoring_app.command("train")
def train(database_url: DbUrl = None) -> None:
    """Train the predictive model on won and lost opportunities; report on the held-out latest
    quarter beside the rules and a recency baseline; store it, and write each lead's predicted
    probability only if it beats both."""
    from leadloop.scoring import predictive  # scikit-learn: not for `leadloop --help`
    from leadloop.scoring.deal_value import Currency
    from leadloop.scoring.person_predictive import (
        clear_person_predictions,
        predict_people,
        summary,
        train_people_or_why,
    )
    from leadloop.scoring.values import predict_leads, sizes

    db = database(settings(database_url))
    now = utcnow()
    try:
        with db.write() as session:
            model, _ = active_model(session)
            conf = settings(database_url)
            target = Target(conf.predict_target, conf.predict_days)
            trained = predictive.train(session, model, now=now, target=target)
            people = train_people_or_why(session, model, now=now, target=target)
            trained.report.people = summary(people)
            model_id = predictive.save(session, trained, now=now)
            money = Currency(conf.default_currency, conf.fx_rates)
            n = predict_leads(session, model, trained, now=now, currency=money)
            if isinstance(people, str):
                clear_person_predictions(session)
            else:
                predict_people(session, model, people, now=now)
            known = sizes(session, money) if trained.report.shown else None
    except LeadloopError as exc:
        fail(exc)
    for line in trained.report.lines():
        console.print(line)
    if trained.report.shown:
        console.print(
            f"[green]predictive model #{model_id}[/] trained on {trained.trained_on:,} outcomes; "
            f"{n:,} leads scored"
        )
        assert known is not None  # sized whenever the model is shown
        console.print(f"{known[0].upper()}{known[1:]}." if isinstance(known, str) else known.lines()[0])
    else:
        console.print(
            f"[yellow]predictive model #{model_id}[/] trained on {trained.trained_on:,} outcomes and kept "
            "off: no lead shows its probability (see the reason above)"
        )


@scoring_app.command("report")
def report(database_url: DbUrl = None) -> None:
    """The active predictive model's report: ROC AUC, PR AUC, lift by decile, calibration."""
    from leadloop.scoring.predictive import active_report  # scikit-learn: not for `leadloop --help`

    with database(settings(database_url)).read() as session:
        found = active_report(session)
    if found is None:
        fail(LeadloopError("no predictive model has been trained yet: run `leadloop scoring train`"))
    trained_at, n, result = found
    console.print(f"trained {trained_at:%Y-%m-%d %H:%M} UTC on {n:,} outcomes; held-out report:")
    for line in result.lines():
        console.print(line)


@scoring_app.command("backtest")
def backtest(
    as_of: Annotated[
        str, typer.Option("--as-of", help="train on what was known before this date (YYYY-MM-DD)")
    ],
    database_url: DbUrl = None,
) -> None:
    """Train on outcomes known before a date and evaluate on opportunities created after it."""
    from leadloop.scoring.predictive import backtest  # scikit-learn: not for `leadloop --help`

    db = database(settings(database_url))
    try:
        when = parse_datetime(as_of, field="--as-of")
        assert when is not None
        with db.read() as session:
            conf = settings(database_url)
            result = backtest(
                session,
                active_model(session)[0],
                as_of=when,
                now=utcnow(),
                target=Target(conf.predict_target, conf.predict_days),
            )
    except LeadloopError as exc:
        fail(exc)
    console.print(
        f"trained on {result.trained_on:,} outcomes known before {when.date()}; evaluated on what came after:"
    )
    for line in result.report.lines():
        console.print(line)


@scoring_app.command("suggest")
def suggest_model(
    save: Annotated[bool, typer.Option("--save/--dry-run", help="save what wins as a draft model")] = True,
    database_url: DbUrl = None,
) -> None:
    """Learn fit rules from won and lost deals and the half-life that ranks past leads best; what
    beats the model in force on the newest history held out is saved as a draft to try
    (`leadloop scoring whatif ID`) and activate."""
    from leadloop.scoring.suggest import suggest  # scikit-learn: not for `leadloop --help`

    conf = settings(database_url)
    try:
        with database(conf).write() as session:
            found = suggest(
                session, now=utcnow(), target=Target(conf.predict_target, conf.predict_days), save=save
            )
    except LeadloopError as exc:
        fail(exc)
    for line in found.lines():
        console.print(line, markup=False)
    if found.draft_id is not None:
        console.print(f"try it with `leadloop scoring whatif {found.draft_id}`", markup=False)
