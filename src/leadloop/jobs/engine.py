"""The distributed mode's job engine: procrastinate, on PostgreSQL (ADR 0042).

The rows stay the truth: a timer is a `timers` row with a due time, a message an `outbox` row.
On PostgreSQL each timer armed or moved and each message queued also becomes a procrastinate job,
deferred on the capture's own connection (`Deferrer`, the `Announcer` of jobs/announce.py), so the
job is committed exactly when its row is. The same task functions run here as under the sweeper
(`run_timer`, `deliver_key`); a job that wakes for a timer that was moved or cancelled since does
nothing. What the engine adds: workers that listen (LISTEN/NOTIFY) instead of sweeping, retries
with backoff, stalled jobs of a dead worker taken up again (by heartbeat), and pruning.

A timer gets its job only once it comes due within HORIZON (ADR 0044): every fetch walks the
queue's waiting jobs in priority order, and a job for each consent expiry, decay crossing and drip
step months ahead made that walk grow with the warehouse. `timers.armed_for` says which due time
has a job.

A periodic backstop each minute: defers the jobs of timers that came within the horizon, retries
the jobs of workers that stopped beating, runs timers left more than five minutes overdue with no
job to wake them (a warehouse that ran the sweeper before), and prunes finished jobs."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import procrastinate
import sqlalchemy as sa
from procrastinate.jobs import Job as EngineJob
from sqlalchemy.orm import Session

from leadloop.core.clock import Clock
from leadloop.core.logging import get_logger
from leadloop.jobs import memory
from leadloop.jobs.announce import announcer
from leadloop.jobs.outbox import Connection, deliver, deliver_key
from leadloop.jobs.run import run_timer
from leadloop.jobs.timers import TIMERS, Due, TimerHandler, claim
from leadloop.settings import Settings
from leadloop.store.db import Database, normalise_url

log = get_logger("leadloop.jobs")

TIMER_TASK = "leadloop.timer"
MESSAGE_TASK = "leadloop.message"
BACKSTOP_TASK = "leadloop.backstop"
LAND_TASK = "leadloop.land"
QUEUES = ("timers", "outbox")
# Under more work than the workers can do, what waits longest: web forms land first (a lead is never
# stranded), then timers (SLA clocks, drip steps), then the outbox's messages.
LAND_PRIORITY, TIMER_PRIORITY, MESSAGE_PRIORITY = 2, 1, 0
HORIZON = timedelta(minutes=10)  # a timer due sooner has its job; ten backstop rounds of margin
ARM_BATCH = 5000
CATCH_UP_AFTER = timedelta(minutes=5)  # a due timer this late has lost its job: run it anyway
CATCH_UP_BATCH = 500


def conninfo(url: str) -> str:
    """libpq's form of the SQLAlchemy URL (the same server, database and options)."""
    return (
        sa.engine.make_url(normalise_url(url))
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Deferrer:
    """Defers the engine's jobs on the connection of the session that made the rows."""

    def __init__(self, url: str) -> None:
        # Deferring on a given connection needs no pool: the connector is never opened here.
        self.app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=conninfo(url)))

    def near(self, due: datetime) -> bool:
        # The wall clock, as procrastinate's own `now()` wakes the job by it.
        return _aware(due) <= datetime.now(UTC) + HORIZON

    def timers(self, session: Session, rows: list[tuple[str, str, datetime]]) -> None:
        self._defer(
            session,
            [
                self._job(
                    TIMER_TASK,
                    "timers",
                    {"kind": kind, "subject": subject, "due_at": _aware(due).isoformat()},
                    due,
                    priority=TIMER_PRIORITY,
                )
                for kind, subject, due in rows
            ],
        )

    def messages(self, session: Session, rows: list[tuple[str, datetime]]) -> None:
        # One job per key at a time (`lock`): a message is never sent by two jobs at once.
        self._defer(
            session,
            [self._job(MESSAGE_TASK, "outbox", {"key": key}, at, lock=f"outbox:{key}") for key, at in rows],
        )

    @staticmethod
    def _job(
        task: str,
        queue: str,
        kwargs: dict[str, Any],
        at: datetime,
        lock: str | None = None,
        priority: int = 0,
    ) -> EngineJob:
        return EngineJob(
            id=None,
            queue=queue,
            task_name=task,
            lock=lock,
            queueing_lock=None,
            task_kwargs=kwargs,
            scheduled_at=_aware(at),
            priority=priority,
        )

    def _defer(self, session: Session, jobs: list[EngineJob]) -> None:
        if jobs:
            driver = session.connection().connection.driver_connection
            self.app.job_manager.batch_defer_jobs(jobs, connection=driver)


def arm(db: Database, now: datetime) -> int:
    """The arming round: timers due by `now` + HORIZON that hold no job for their due time get
    one, in the transaction that records it (`armed_for`). Returns how many."""
    with db.write() as session:
        engine = announcer(session)
        if engine is None:
            return 0
        rows = session.execute(
            sa.select(TIMERS.c.id, TIMERS.c.kind, TIMERS.c.subject, TIMERS.c.due_at)
            .where(
                TIMERS.c.done_at.is_(None),
                TIMERS.c.due_at <= now + HORIZON,
                sa.or_(TIMERS.c.armed_for.is_(None), TIMERS.c.armed_for != TIMERS.c.due_at),
            )
            .order_by(TIMERS.c.due_at)
            .limit(ARM_BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        if rows:
            engine.timers(session, [(r.kind, r.subject, r.due_at) for r in rows])
            session.execute(
                TIMERS.update().where(TIMERS.c.id.in_([r.id for r in rows])).values(armed_for=TIMERS.c.due_at)
            )
    return len(rows)


def pending_due(db: Database, kind: str, subject: str, due_at: datetime) -> Due | None:
    """The timer a job woke for, if it is still pending at the time the job was deferred for."""
    with db.read() as session:
        row = session.execute(
            sa.select(TIMERS.c.id, TIMERS.c.due_at, TIMERS.c.done_at, TIMERS.c.payload).where(
                TIMERS.c.kind == kind, TIMERS.c.subject == subject
            )
        ).first()
    if row is None or row.done_at is not None or _aware(row.due_at) != _aware(due_at):
        return None  # done, cancelled, or moved (the move deferred a job of its own)
    return Due(row.id, kind, subject, row.due_at, row.payload or {})


def fire(
    db: Database, handlers: dict[str, TimerHandler], kind: str, subject: str, due_at: datetime, now: datetime
) -> int:
    """The timer task: run the timer if this job is still its wake-up. A handler's failure is
    raised, and the engine retries the job with backoff."""
    due = pending_due(db, kind, subject, due_at)
    return 0 if due is None else run_timer(db, handlers, due, now, reraise=True)


def catch_up(db: Database, settings: Settings, handlers: dict[str, TimerHandler], now: datetime) -> int:
    """Timers and messages more than CATCH_UP_AFTER overdue and unclaimed: run and send them here
    (their job was never deferred: made while the sweeper ran). A job that still comes for one
    finds it done. Returns how many."""
    with db.write() as session:
        due = claim(session, now=now - CATCH_UP_AFTER, limit=CATCH_UP_BATCH, stale_after=CATCH_UP_AFTER)
    ran = sum(run_timer(db, handlers, item, now) for item in due)
    return ran + deliver(
        db,
        settings,
        now=now,
        limit=CATCH_UP_BATCH,
        stale_after=CATCH_UP_AFTER,
        due_before=now - CATCH_UP_AFTER,
    )


def worker_app(
    settings: Settings,
    db: Database,
    handlers: dict[str, TimerHandler],
    clock: Clock,
    landers: Sequence[Callable[[datetime], int]] = (),
) -> EngineWorker:
    """The engine's worker side: the tasks, bound to this process's database and handlers."""
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=conninfo(settings.database_url))
    )
    retry = procrastinate.RetryStrategy(max_attempts=10, exponential_wait=3)  # 3 s, 9 s, ... ~16 h

    @app.task(name=TIMER_TASK, queue="timers", retry=retry, priority=TIMER_PRIORITY)
    def timer(kind: str, subject: str, due_at: str) -> int:
        return fire(db, handlers, kind, subject, datetime.fromisoformat(due_at), clock())

    http = httpx.Client(timeout=10)  # one for the worker's webhooks (thread-safe, keep-alive)

    @app.task(name=MESSAGE_TASK, queue="outbox", priority=MESSAGE_PRIORITY)
    def message(key: str) -> int:
        # A failed send records its backoff on the row and defers the next attempt itself.
        return deliver_key(db, settings, key, now=clock(), via=Connection(http))

    @app.periodic(cron="* * * * *", periodic_id="backstop")
    @app.task(name=BACKSTOP_TASK, queue="timers", queueing_lock=BACKSTOP_TASK, priority=LAND_PRIORITY)
    async def backstop(timestamp: int) -> None:
        await tidy(app, settings, db, handlers, clock)

    if landers:

        @app.periodic(cron="* * * * * */5", periodic_id="land")  # every five seconds
        @app.task(name=LAND_TASK, queue="timers", queueing_lock=LAND_TASK, priority=LAND_PRIORITY)
        def land(timestamp: int) -> int:
            return sum(lander(clock()) for lander in landers)

    return EngineWorker(app, http)


async def tidy(
    app: procrastinate.App, settings: Settings, db: Database, handlers: dict[str, TimerHandler], clock: Clock
) -> tuple[int, int]:
    """The backstop's round: timers that came within the horizon get their jobs; the jobs of
    workers that stopped beating are retried (a `kill -9`: their timers and messages run again,
    and find done what was committed); timers and messages overdue past CATCH_UP_AFTER with no
    job are done here; finished jobs older than the retention are pruned; the job table is vacuumed
    and analyzed.
    Returns (jobs retried, timers and messages caught up)."""
    manager = app.job_manager
    while await procrastinate.utils.sync_to_async(arm, db, clock()) == ARM_BATCH:
        pass  # after an outage more than one batch may have come near: arm them all
    stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=settings.jobs_stalled_after_s))
    for job in stalled:
        await manager.retry_job(job)
    if stalled:
        log.warning("jobs.stalled_retried", jobs=len(stalled))
    caught = await procrastinate.utils.sync_to_async(catch_up, db, settings, handlers, clock())
    if caught:
        log.warning("jobs.caught_up", overdue=caught)
    await manager.delete_old_jobs(
        nb_hours=24 * settings.retention_jobs_days,
        include_failed=True,
        include_cancelled=True,
        include_aborted=True,
    )
    await procrastinate.utils.sync_to_async(vacuum_queue, db)
    return len(stalled), caught


def vacuum_queue(db: Database) -> None:
    """VACUUM (ANALYZE) the job table. It churns through its rows within minutes, and the fetch's
    plan depends on fresh statistics: stale ones (autovacuum off, or behind) turned a 0.1 ms fetch
    into a 17 s one in the soak (migration 0039). A few milliseconds a minute; a round that finds
    another one vacuuming waits for it."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE) procrastinate_jobs")


def tidy_once(
    worker: EngineWorker, settings: Settings, db: Database, handlers: dict[str, TimerHandler], clock: Clock
) -> tuple[int, int]:
    """One backstop round now, outside a running worker (an operator after an outage, a test)."""
    result: list[tuple[int, int]] = []

    async def main() -> None:
        async with worker.app.open_async():
            result.append(await tidy(worker.app, settings, db, handlers, clock))

    _run_to_end(main)
    return result[0]


@dataclass
class EngineWorker:
    """The engine's app with the tasks bound, and what its tasks keep open between jobs."""

    app: procrastinate.App
    http: httpx.Client

    def close(self) -> None:
        self.http.close()


def run_worker(
    worker: EngineWorker, settings: Settings, *, once: bool = False, stop: threading.Event | None = None
) -> None:
    """Work until `stop` is set (the command sets it on SIGTERM or Ctrl-C, armed before it says it
    runs: the jobs in hand finish, then it returns), or with `once` until nothing is due. A job
    done is deleted (its row's `done_at` or `sent_at` is the record)."""

    memory.fewer_arenas()  # the engine runs sync tasks on a pool of threads

    async def main() -> None:
        async with worker.app.open_async():
            task = asyncio.create_task(
                worker.app.run_worker_async(
                    queues=list(QUEUES),
                    concurrency=settings.worker_concurrency,
                    wait=not once,
                    delete_jobs="successful",
                    install_signal_handlers=False,
                    stalled_worker_timeout=settings.jobs_stalled_after_s,
                    update_heartbeat_interval=max(1.0, settings.jobs_stalled_after_s / 3),
                    fetch_job_polling_interval=1.0,
                )
            )
            watcher = asyncio.create_task(_cancel_when(stop, task)) if stop is not None else None
            try:
                await task
            except asyncio.CancelledError:  # stopped: procrastinate let the running jobs finish
                pass
            finally:
                if watcher is not None:
                    watcher.cancel()

    try:
        _run_to_end(main)
    finally:
        worker.close()


def _run_to_end(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """asyncio.run, or on a thread of its own when this thread already runs an event loop (a
    caller inside async code, or a test runner's).

    The loop never runs inside an `except` block: every coroutine would see that exception as
    the one being handled (sys.exc_info), and asgiref's sync_to_async, which procrastinate runs
    each sync job through, re-raises it around every job so the job sees it too. Each re-raise
    appends that job's frames to the one exception's traceback: the worker kept every job it
    ever ran (+2.4 MB of Python objects a minute in the soak)."""
    try:
        asyncio.get_running_loop()
        running = True
    except RuntimeError:
        running = False
    if not running:
        asyncio.run(main())
        return
    failed: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # handed to the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=run, name="leadloop-engine")
    thread.start()
    thread.join()
    if failed:
        raise failed[0]


async def _cancel_when(stop: threading.Event, task: asyncio.Task[None]) -> None:
    while not stop.is_set():
        await asyncio.sleep(0.2)
    task.cancel()  # procrastinate's graceful stop: no new job, the running ones finish
