"""`leadloop serve` and `leadloop worker`: the web app and the timer sweeper."""

from __future__ import annotations

import os
import secrets
import signal
import threading
from typing import Annotated

import typer

from leadloop.auth.secret import InsecureSecretKey, choose_key
from leadloop.bootstrap import arm_recurring, form_landers, timer_handlers
from leadloop.cli._common import DbUrl, console, database, fail, settings
from leadloop.core.clock import utcnow
from leadloop.jobs.announce import uses_engine
from leadloop.jobs.worker import Worker, start_in_background


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
    # uvicorn and the web app (FastAPI and every router) load only to serve, not for `--help`.
    import uvicorn

    from leadloop.web.app import create_app

    config = settings(database_url)
    try:
        key = choose_key(config.secret_key, host=host, random_key=secrets.token_urlsafe(32))
    except InsecureSecretKey as exc:
        fail(exc)
    if key.generated:
        console.print(
            "LEADLOOP_SECRET_KEY is not set: serving on localhost with a random key made for this "
            "run; everyone is signed out when it stops."
        )
    config = config.model_copy(update={"secret_key": key.key})
    database(config).dispose()
    if workers > 1:
        os.environ["LEADLOOP_DATABASE_URL"] = config.database_url
        os.environ["LEADLOOP_SECRET_KEY"] = key.key  # one key for every worker process
        uvicorn.run(
            "leadloop.web.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=False,
            log_level="warning",
            proxy_headers=False,  # X-Forwarded-For is ours to judge (LEADLOOP_TRUSTED_PROXIES)
        )
    else:
        web = create_app(config)
        if sweeper:
            ctx = web.state.ctx
            arm_recurring(config, ctx.db, ctx.clock())
            landers = form_landers(config, ctx.db)
            if uses_engine(config):  # PostgreSQL: the engine's worker, in a thread of this process
                from leadloop.jobs.engine import run_worker, worker_app  # loads only where it runs

                app = worker_app(config, ctx.db, timer_handlers(config), ctx.clock, landers)
                threading.Thread(target=run_worker, args=(app, config), daemon=True).start()
            else:
                start_in_background(config, ctx.db, ctx.clock, timer_handlers(config), landers=landers)
        uvicorn.run(web, host=host, port=port, access_log=False, log_level="warning", proxy_headers=False)


def worker(
    once: Annotated[bool, typer.Option("--once", help="sweep what is due now, then exit")] = False,
    database_url: DbUrl = None,
) -> None:
    """Run the timer sweeper: decay crossings, scheduled retraining (and, as they land, SLA clocks
    and drip steps). Several may run against PostgreSQL; each timer runs once."""
    config = settings(database_url)
    db = database(config)
    arm_recurring(config, db, utcnow())
    # SIGTERM (a deployment stopping it) and Ctrl-C: the work in hand finishes, the rest is given
    # back to the other workers, then it exits. Armed before it says it runs.
    stop = threading.Event()
    if not once:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    if uses_engine(config):  # PostgreSQL: the job engine's worker (ADR 0042)
        from leadloop.jobs.engine import run_worker, worker_app  # loads only where it runs

        engine = worker_app(config, db, timer_handlers(config), utcnow, form_landers(config, db))
        if not once:
            console.print(f"working on procrastinate ({config.worker_concurrency} at once) — Ctrl-C to stop")
        run_worker(engine, config, once=once, stop=stop)
        console.print("done: nothing is due" if once else "stopped")
        return
    sweeper = Worker(db, utcnow, timer_handlers(config), settings=config, landers=form_landers(config, db))
    if once:
        console.print(f"{sweeper.run_once():,} timers ran")
        return
    console.print(f"sweeping every {config.sweep_interval_s:g} s — Ctrl-C to stop")
    sweeper.run_forever(interval_s=config.sweep_interval_s, stop=stop)
    console.print("stopped")


def lander(
    database_url: DbUrl = None,
    notify: Annotated[str | None, typer.Option(help="Unix datagram socket told what landed")] = None,
    parent: Annotated[int | None, typer.Option(help="stop when this process has gone")] = None,
) -> None:
    """Land the web forms waiting in the spool, in batches (started by `leadloop serve` on SQLite;
    capture/lander.py)."""
    from leadloop.capture.lander import run_lander
    from leadloop.contract.custom import CustomLimits

    config = settings(database_url)
    run_lander(
        database(config),
        utcnow,
        notify=notify,
        parent=parent,
        custom=CustomLimits(config.max_custom_fields, config.max_custom_chars),
    )
