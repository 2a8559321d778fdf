"""The `leadloop` command. Thin: parse, call a use case, print the outcome."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from leadloop.core.clock import utcnow
from leadloop.core.errors import InvalidInput, LeadloopError
from leadloop.settings import Settings
from leadloop.store.db import Database

app = typer.Typer(help="Leadloop: lead management from the first signal to revenue.", no_args_is_help=True)
users_app = typer.Typer(help="Users who sign in to the web app.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for machine clients.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
scoring_app = typer.Typer(
    help="Scoring models: export, import a draft, preview, activate.", no_args_is_help=True
)
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="apikeys")
app.add_typer(db_app, name="db")
app.add_typer(scoring_app, name="scoring")
console = Console(stderr=True)

DbUrl = Annotated[
    str | None, typer.Option("--database-url", envvar="LEADLOOP_DATABASE_URL", help="SQLAlchemy URL")
]


def _settings(database_url: str | None) -> Settings:
    return Settings(database_url=database_url) if database_url else Settings()


def _database(settings: Settings, *, migrate: bool = True) -> Database:
    from leadloop.bootstrap import database

    return database(settings, migrate=migrate)


def _fail(exc: Exception) -> None:
    console.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(2)


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    database_url: DbUrl = None,
    sweeper: Annotated[
        bool,
        typer.Option(
            "--sweeper/--no-sweeper", help="run the timer sweeper in this process (one web worker only)"
        ),
    ] = True,
) -> None:
    """Serve the web app and API (migrating the database first). With one web worker the timer
    sweeper runs in the same process; with several, run `leadloop worker` beside them."""
    import uvicorn

    from leadloop.web.app import create_app

    settings = _settings(database_url)
    _database(settings).dispose()
    if workers > 1:
        import os

        os.environ["LEADLOOP_DATABASE_URL"] = settings.database_url
        uvicorn.run(
            "leadloop.web.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=False,
            log_level="warning",
        )
    else:
        web = create_app(settings)
        if sweeper:
            from leadloop.bootstrap import arm_recurring, timer_handlers
            from leadloop.jobs.worker import start_in_background

            ctx = web.state.ctx
            arm_recurring(settings, ctx.db, ctx.clock())
            start_in_background(settings, ctx.db, ctx.clock, timer_handlers(settings))
        uvicorn.run(web, host=host, port=port, access_log=False, log_level="warning")


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="sweep what is due now, then exit")] = False,
    database_url: DbUrl = None,
) -> None:
    """Run the timer sweeper: decay crossings, scheduled retraining (and, as they land, SLA clocks
    and drip steps). Several may run against PostgreSQL; each timer runs once."""
    import threading

    from leadloop.bootstrap import arm_recurring, timer_handlers
    from leadloop.jobs.worker import Worker

    settings = _settings(database_url)
    db = _database(settings)
    arm_recurring(settings, db, utcnow())
    sweeper = Worker(db, utcnow, timer_handlers(settings), settings=settings)
    if once:
        console.print(f"{sweeper.run_once():,} timers ran")
        return
    console.print(f"sweeping every {settings.sweep_interval_s:g} s — Ctrl-C to stop")
    with contextlib.suppress(KeyboardInterrupt):
        sweeper.run_forever(interval_s=settings.sweep_interval_s, stop=threading.Event())


@app.command()
def demo(
    path: Annotated[Path, typer.Option(help="SQLite file to (re)build")] = Path("leadloop-demo.db"),
    seed: int = 7,
    accounts: int = 2000,
    people: int = 8000,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve")] = True,
    port: int = 8000,
) -> None:
    """Build a fresh demo world on SQLite and serve it."""
    from leadloop.demo.seed import build_demo

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    settings = Settings(database_url=f"sqlite:///{path}", log_json=False)
    db = _database(settings)
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
        import os

        # The demo has no mail server: its notifications are kept in the outbox, not retried.
        os.environ.setdefault("LEADLOOP_SMTP_HOST", "")
        console.print(f"Serving at [bold]http://127.0.0.1:{port}[/] — Ctrl-C to stop.")
        serve(host="127.0.0.1", port=port, workers=1, database_url=settings.database_url)


def _parse_maps(maps: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in maps:
        header, sep, field = item.partition("=")
        if not sep or not header.strip():
            raise typer.BadParameter(f"--map takes 'Header=field' (or 'Header=-' to skip), not {item!r}")
        out[header.strip()] = field.strip()
    return out


@app.command("import")
def import_(
    entity: Annotated[str, typer.Argument(help="people | accounts | activities | opportunities | campaigns")],
    file: Annotated[Path, typer.Argument(help="CSV with a header row")],
    map: Annotated[list[str] | None, typer.Option("--map", help="Header=field; repeatable")] = None,
    encoding: Annotated[str | None, typer.Option(help="Force an encoding (default: detect)")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Rows per transaction")] = None,
    rejects: Annotated[Path | None, typer.Option(help="Where bad rows go (default FILE.rejects.csv)")] = None,
    database_url: DbUrl = None,
) -> None:
    """Import a CSV file. Bad rows go to a rejects file with the reason; the rest land."""
    from leadloop.capture.importer import run_import

    settings = _settings(database_url)
    try:
        overrides = _parse_maps(map or [])
        db = _database(settings)
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            disable=not sys.stderr.isatty(),
        ) as progress:
            task = progress.add_task(f"{entity} from {file.name}", total=None)
            report = run_import(
                db,
                entity,
                file,
                now=utcnow,
                overrides=overrides,
                encoding=encoding,
                batch_size=batch_size or settings.import_batch_size,
                max_chars=settings.max_field_chars,
                rejects_path=rejects,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
    except LeadloopError as exc:
        _fail(exc)
        return
    console.print(
        f"[green]{report.rows:,} rows[/] from {file.name} ({report.encoding}, '{report.delimiter}'): "
        f"{report.created:,} created, {report.updated:,} updated, {report.unchanged:,} unchanged, "
        f"{report.rejected:,} rejected"
    )
    if report.unmapped:
        console.print(f"Kept as custom attributes (no standard field): {', '.join(report.unmapped)}")
    for warning, n in report.warnings.most_common():
        console.print(f"[yellow]warning[/] ({n} rows): {warning} (raw value kept on the record)")
    if report.rejects_path:
        console.print(f"[yellow]Rejected rows and reasons:[/] {report.rejects_path}")


@app.command()
def export(
    entity: Annotated[str, typer.Argument(help="people | accounts | leads | activities")],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write ('-' for stdout)")],
    database_url: DbUrl = None,
) -> None:
    """Export to CSV in the contract's field names (formula cells neutralised)."""
    from leadloop.capture.export import export_csv

    db = _database(_settings(database_url))
    try:
        if str(out) == "-":
            n = export_csv(db, entity, sys.stdout, now=utcnow())
        else:
            tmp = out.with_name(out.name + ".part")
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                n = export_csv(db, entity, fh, now=utcnow())
            tmp.replace(out)
    except LeadloopError as exc:
        _fail(exc)
        return
    console.print(f"[green]{n:,} {entity}[/] written to {out}")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    role: Annotated[str, typer.Option(help="admin | marketing | manager | rep | partner")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    database_url: DbUrl = None,
) -> None:
    from leadloop.auth.handlers import create_user

    db = _database(_settings(database_url))
    try:
        with db.write() as session:
            uid = create_user(session, email=email, name=name, role=role, password=password, now=utcnow())
    except LeadloopError as exc:
        _fail(exc)
        return
    console.print(f"[green]user #{uid}[/] {email} ({role}) created")


@keys_app.command("create")
def apikeys_create(
    user: Annotated[str, typer.Option(help="e-mail of the user the key acts as")],
    name: Annotated[str, typer.Option(help="what the key is for")],
    database_url: DbUrl = None,
) -> None:
    from leadloop.auth.handlers import create_api_key

    db = _database(_settings(database_url))
    try:
        with db.write() as session:
            token = create_api_key(session, user_email=user, name=name, now=utcnow())
    except LeadloopError as exc:
        _fail(exc)
        return
    console.print("API key (shown once; send it as 'Authorization: Bearer <key>'):")
    print(token)


@db_app.command("upgrade")
def db_upgrade(database_url: DbUrl = None) -> None:
    """Apply the migrations."""
    _database(_settings(database_url)).dispose()
    console.print("[green]database is at the latest migration[/]")


@db_app.command("check")
def db_check(database_url: DbUrl = None) -> None:
    """Fail if the models and the migrations disagree."""
    from leadloop.store.migrate import check

    db = _database(_settings(database_url))
    check(db.engine)
    console.print("[green]models and migrations agree[/]")


@scoring_app.command("export")
def scoring_export(
    out: Annotated[Path | None, typer.Option("--out", help="YAML file (default: stdout)")] = None,
    database_url: DbUrl = None,
) -> None:
    """The active scoring model as YAML (the shipped default until one is activated)."""
    from leadloop.scoring.models import export_active

    db = _database(_settings(database_url))
    with db.read() as session:
        text = export_active(session)
    if out is None:
        print(text, end="")
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"[green]model written to {out}[/]")


@scoring_app.command("import")
def scoring_import(
    file: Annotated[Path, typer.Argument(help="scoring model YAML")], database_url: DbUrl = None
) -> None:
    """Validate a model and save it as a draft (it scores nothing until activated)."""
    from leadloop.scoring.models import save_draft

    db = _database(_settings(database_url))
    try:
        text = file.read_text(encoding="utf-8")
        with db.write() as session:
            model_id = save_draft(session, text, now=utcnow())
    except (LeadloopError, OSError) as exc:
        _fail(exc)
        return
    console.print(f"[green]draft #{model_id}[/] saved; preview it with `leadloop scoring whatif {model_id}`")


def _print_preview(summary: dict[str, object]) -> None:
    console.print(
        f"{summary['leads']:,} leads: {summary['grade_changes']:,} change grade, {summary['new_mqls']:,} become MQL, "
        f"{summary['new_leads']:,} new leads open"
    )
    for label, key in (
        ("grade changes", "grade_change_examples"),
        ("new MQLs", "new_mql_examples"),
        ("new leads", "new_lead_examples"),
    ):
        for example in summary[key]:  # type: ignore[attr-defined]
            console.print(f"  {label}: {example}")


@scoring_app.command("whatif")
def scoring_whatif(model_id: int, database_url: DbUrl = None) -> None:
    """What activating a draft would change, with examples. Writes nothing."""
    from sqlalchemy import select

    from leadloop.scoring.document import parse_model
    from leadloop.scoring.models import preview
    from leadloop.store.tables import ScoringModelRow

    db = _database(_settings(database_url))
    with db.read() as session:
        doc = session.scalar(select(ScoringModelRow.document).where(ScoringModelRow.id == model_id))
        if doc is None:
            _fail(LeadloopError(f"there is no scoring model #{model_id}"))
            return
        _print_preview(preview(session, parse_model(doc), now=utcnow()).summary())


@scoring_app.command("activate")
def scoring_activate(model_id: int, database_url: DbUrl = None) -> None:
    """Activate a model: every score is recomputed with it, in one transaction."""
    from leadloop.scoring.models import activate

    db = _database(_settings(database_url))
    now = utcnow()
    try:
        with db.write() as session:
            result, events = activate(session, model_id, now=now)
    except LeadloopError as exc:
        _fail(exc)
        return
    _print_preview(result.summary())
    console.print(f"[green]model #{model_id} is active[/]; {len(events):,} lead events raised")


@scoring_app.command("train")
def scoring_train(database_url: DbUrl = None) -> None:
    """Train the predictive model on won and lost opportunities; report on the held-out latest
    quarter; store it and write each lead's predicted probability."""
    from leadloop.scoring.predictive import predict_leads, save, train
    from leadloop.scoring.repository import active_model

    db = _database(_settings(database_url))
    now = utcnow()
    try:
        with db.write() as session:
            model, _ = active_model(session)
            trained = train(session, model)
            model_id = save(session, trained, now=now)
            n = predict_leads(session, model, trained, now=now)
    except LeadloopError as exc:
        _fail(exc)
        return
    for line in trained.report.lines():
        console.print(line)
    console.print(
        f"[green]predictive model #{model_id}[/] trained on {trained.trained_on:,} outcomes; {n:,} leads scored"
    )


@scoring_app.command("report")
def scoring_report(database_url: DbUrl = None) -> None:
    """The active predictive model's report: ROC AUC, PR AUC, lift by decile, calibration."""
    from leadloop.scoring.predictive import active_report

    db = _database(_settings(database_url))
    with db.read() as session:
        found = active_report(session)
    if found is None:
        _fail(LeadloopError("no predictive model has been trained yet: run `leadloop scoring train`"))
        return
    trained_at, n, report = found
    console.print(f"trained {trained_at:%Y-%m-%d %H:%M} UTC on {n:,} outcomes; held-out report:")
    for line in report.lines():
        console.print(line)


@scoring_app.command("backtest")
def scoring_backtest(
    as_of: Annotated[
        str, typer.Option("--as-of", help="train on what was known before this date (YYYY-MM-DD)")
    ],
    database_url: DbUrl = None,
) -> None:
    """Train on outcomes known before a date and evaluate on opportunities created after it."""
    from leadloop.contract.normalise import parse_datetime
    from leadloop.scoring.predictive import backtest
    from leadloop.scoring.repository import active_model

    db = _database(_settings(database_url))
    try:
        when = parse_datetime(as_of, field="--as-of")
        assert when is not None
        with db.read() as session:
            result = backtest(session, active_model(session)[0], as_of=when)
    except LeadloopError as exc:
        _fail(exc)
        return
    console.print(
        f"trained on {result.trained_on:,} outcomes known before {when.date()}; evaluated on what came after:"
    )
    for line in result.report.lines():
        console.print(line)


@app.command()
def dedupe(
    file: Annotated[Path | None, typer.Argument(help="CSV with a header row (or --warehouse)")] = None,
    id_column: Annotated[
        str | None, typer.Option("--id-column", help="the column that identifies each row")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="clusters CSV: id, cluster_id, match_confidence")
    ] = None,
    threshold: Annotated[
        float, typer.Option(min=0.5, max=0.9999, help="match probability that joins two rows")
    ] = 0.9,
    gmail_dots: Annotated[
        bool, typer.Option("--gmail-dots/--no-gmail-dots", help="a.b@gmail.com is ab@gmail.com")
    ] = True,
    plus_tags: Annotated[
        bool, typer.Option("--plus-tags/--no-plus-tags", help="a+x@d.com is a@d.com")
    ] = True,
    warehouse: Annotated[
        bool, typer.Option("--warehouse", help="dedupe the stored people instead of a file")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="with --warehouse: count, change nothing")
    ] = False,
    database_url: DbUrl = None,
) -> None:
    """Find the same person twice in a standalone file (no e-mail column needed: name, address,
    postcode, birth date and phone work too; one output row per input row), or with --warehouse
    in the stored people: pairs above the auto-merge threshold merge (undoably), the likely ones
    wait in the review queue."""
    if warehouse:
        if file is not None:
            _fail(InvalidInput("give a FILE or --warehouse, not both"))
        _dedupe_warehouse(database_url, dry_run=dry_run)
        return
    if file is None or id_column is None or out is None:
        _fail(InvalidInput("dedupe a file with: leadloop dedupe FILE.csv --id-column ID --out clusters.csv"))
        return
    from leadloop.identity.files import dedupe_file

    tmp = out.with_name(out.name + ".part")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            r = dedupe_file(
                file, fh, id_column=id_column, threshold=threshold, gmail_dots=gmail_dots, plus_tags=plus_tags
            )
    except LeadloopError as exc:
        tmp.unlink(missing_ok=True)
        _fail(exc)
        return
    tmp.replace(out)
    console.print(f"matched on: {', '.join(sorted(r.columns))}")
    console.print(
        f"[green]{r.rows:,} rows[/] → {r.clusters:,} people ({r.duplicates:,} duplicates) written to {out}"
    )


def _dedupe_warehouse(database_url: str | None, *, dry_run: bool) -> None:
    from leadloop.identity.warehouse import dedupe_warehouse

    db = _database(_settings(database_url))
    try:
        with db.write() as session:
            r = dedupe_warehouse(session, now=utcnow(), dry_run=dry_run)
    finally:
        db.dispose()
    verb = ("would merge", "would queue") if dry_run else ("merged", "queued for review")
    console.print(f"{r.people:,} people, {r.pairs:,} candidate pairs compared")
    console.print(
        f"[green]{r.merged:,} pairs {verb[0]}[/] (undo from the person's page), {r.queued:,} {verb[1]}"
    )
    console.print(
        f"{r.accounts:,} accounts: [green]{r.accounts_merged:,} pairs {verb[0]}[/] (undo from the account's page), "
        f"{r.accounts_queued:,} {verb[1]}"
    )
    if r.model_id:
        console.print(f"the real-time matcher now uses the model fitted on this warehouse (#{r.model_id})")


@app.command()
def enrich(
    provider: Annotated[str, typer.Option(help="where firmographics come from: file")] = "file",
    path: Annotated[Path | None, typer.Option(help="reference CSV or Parquet keyed by domain")] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="replace values that are already filled")
    ] = False,
    database_url: DbUrl = None,
) -> None:
    """Enrich every account with a domain: fills empty revenue, employees, SIC, NAICS, sites, industry
    and HQ country, and records where each value came from. Bad reference rows are listed."""
    from leadloop.enrich.handlers import enrich_accounts
    from leadloop.enrich.provider import FileProvider, make_provider

    try:
        source = make_provider(provider, path)
        with _database(_settings(database_url)).write() as session:
            result = enrich_accounts(session, source, now=utcnow(), overwrite=overwrite)
    except LeadloopError as exc:
        _fail(exc)
        return
    if isinstance(source, FileProvider):
        for p in source.problems[:20]:
            console.print(f"[yellow]line {p.line}:[/] {p.message}")
        if len(source.problems) > 20:
            console.print(f"… and {len(source.problems) - 20:,} more rows with problems")
        console.print(f"{source.rows:,} reference rows read, {len(source.problems):,} with problems")
    console.print(
        f"[green]{result.checked:,} accounts checked[/], {result.found:,} found in the reference, "
        f"{result.filled:,} fields filled, {result.kept:,} filled values kept"
    )


def _register_routing() -> None:
    from leadloop.routing.cli import register_user_commands, report_app, routing_app

    app.add_typer(routing_app, name="routing")
    app.add_typer(report_app, name="report")
    register_user_commands(users_app)


_register_routing()

if __name__ == "__main__":  # pragma: no cover
    app()
