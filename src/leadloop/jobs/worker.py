"""The sweeper: claims due timers and runs each one's handler in its own transaction, which also
marks the timer done. A handler that raises leaves its claim to expire, so it is retried; one bad
timer never stops the others. Events are published after each commit."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from leadloop.core.clock import Clock
from leadloop.core.events import Event, EventBus
from leadloop.core.logging import get_logger
from leadloop.jobs.timers import Due, claim, finish
from leadloop.settings import Settings
from leadloop.store.db import Database

log = get_logger("leadloop.jobs")


@dataclass(frozen=True)
class Job:
    """A timer whose slow part only reads: `prepare` runs in a read transaction (on SQLite it does
    not hold the writer lock while a model trains), `apply` writes its result and finishes."""

    prepare: Callable[[Session, Due, datetime], Any]
    apply: Callable[[Session, Due, datetime, Any], list[Event]]


TimerHandler = Callable[[Session, Due, datetime], list[Event]] | Job


def default_handlers(settings: Settings) -> dict[str, TimerHandler]:
    from leadloop.routing.handlers import SLA_TIMERS, sla_timer
    from leadloop.scoring import jobs as scoring

    handlers: dict[str, TimerHandler] = {"lead_cools": scoring.lead_cools}
    handlers.update(dict.fromkeys(SLA_TIMERS, sla_timer))
    if settings.retrain_every_days > 0:
        handlers[scoring.RETRAIN] = scoring.retrain_job(timedelta(days=settings.retrain_every_days))
    if settings.enrich_provider:
        from leadloop.enrich.handlers import ENRICH_SWEEP, sweep_job
        from leadloop.enrich.provider import make_provider

        provider = make_provider(settings.enrich_provider, settings.enrich_path)
        handlers[ENRICH_SWEEP] = sweep_job(provider, timedelta(minutes=settings.enrich_every_minutes))
    return handlers


def arm_recurring(settings: Settings, db: Database, now: datetime) -> None:
    """Recurring work is a timer that arms its next run; this arms the first one if none is pending."""
    from leadloop.scoring.jobs import ensure_retrain_scheduled

    if settings.retrain_every_days > 0:
        with db.write() as session:
            ensure_retrain_scheduled(session, now=now, every=timedelta(days=settings.retrain_every_days))
    if settings.enrich_provider:
        from leadloop.enrich.handlers import ENRICH_SWEEP
        from leadloop.jobs.timers import pending, schedule

        with db.write() as session:
            if pending(session, ENRICH_SWEEP, "accounts") is None:
                schedule(session, ENRICH_SWEEP, "accounts", now)


class Worker:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        handlers: dict[str, TimerHandler],
        *,
        bus: EventBus | None = None,
        batch: int = 200,
        stale_after: timedelta = timedelta(minutes=5),
        settings: Settings | None = None,
    ) -> None:
        """With `settings`, each sweep also delivers the outbox (e-mail, webhooks)."""
        self.db, self.clock, self.handlers, self.settings = db, clock, handlers, settings
        self.bus = bus or EventBus()
        self.batch, self.stale_after = batch, stale_after

    def run_once(self) -> int:
        """Sweep every timer due now; return how many ran."""
        ran = 0
        while True:
            now = self.clock()
            with self.db.write() as session:
                due = claim(session, now=now, limit=self.batch, stale_after=self.stale_after)
            for item in due:
                ran += self._run(item, now)
            if len(due) < self.batch:
                if self.settings is not None:
                    from leadloop.jobs.outbox import deliver

                    deliver(self.db, self.settings, now=self.clock())
                return ran

    def _run(self, due: Due, now: datetime) -> int:
        handler = self.handlers.get(due.kind)
        try:
            if isinstance(handler, Job):
                with self.db.read() as session:
                    prepared = handler.prepare(session, due, now)
            with self.db.write() as session:
                if isinstance(handler, Job):
                    events = handler.apply(session, due, now, prepared)
                else:
                    events = handler(session, due, now) if handler else []
                finish(session, due, now=now)
        except Exception:
            log.exception("timer.failed", kind=due.kind, subject=due.subject)
            return 0
        if handler is None:
            log.warning("timer.unknown_kind", kind=due.kind, subject=due.subject)
        self.bus.publish(events)
        return 1

    def run_forever(self, *, interval_s: float, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # the database may be briefly unavailable; keep sweeping
                log.exception("sweep.failed")
            stop.wait(interval_s)


def start_in_background(
    settings: Settings, db: Database, clock: Clock, *, bus: EventBus | None = None
) -> threading.Event:
    """The embedded mode: the sweeper runs in a thread of the web process. Set the returned event to stop it."""
    worker = Worker(db, clock, default_handlers(settings), bus=bus, settings=settings)
    arm_recurring(settings, db, clock())
    stop = threading.Event()
    thread = threading.Thread(
        target=worker.run_forever,
        kwargs={"interval_s": settings.sweep_interval_s, "stop": stop},
        name="leadloop-sweeper",
        daemon=True,
    )
    thread.start()
    return stop
