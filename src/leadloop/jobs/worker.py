"""The sweeper: claims due timers and runs each one's handler in its own transaction, which also
marks the timer done. A handler that raises leaves its claim to expire, so it is retried; one bad
timer never stops the others. Which kind of timer runs what is given in (the composition root,
`leadloop.bootstrap`, knows the capabilities; the sweeper knows none of them)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from leadloop.core.clock import Clock
from leadloop.core.logging import get_logger
from leadloop.jobs.outbox import deliver, deliver_all
from leadloop.jobs.run import run_timer
from leadloop.jobs.timers import Due, TimerHandler, claim, release
from leadloop.settings import Settings
from leadloop.store.db import Database

log = get_logger("leadloop.jobs")


class Worker:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        handlers: dict[str, TimerHandler],
        *,
        batch: int = 200,
        stale_after: timedelta = timedelta(minutes=5),
        settings: Settings | None = None,
        landers: Sequence[Callable[[datetime], int]] = (),
        stop: threading.Event | None = None,
    ) -> None:
        """With `settings`, each sweep also delivers the outbox (e-mail, webhooks). `landers` run
        first each sweep: what waits to land (the web forms' spool) before the timers. When `stop`
        is set (SIGTERM), the timer in hand finishes and the rest of the batch is given back."""
        self.db, self.clock, self.handlers, self.settings = db, clock, handlers, settings
        self.landers = landers
        self.batch, self.stale_after = batch, stale_after
        self.stop = stop or threading.Event()

    def run_once(self) -> int:
        """Sweep every timer due now, delivering what each batch queued before the next (a drip's
        first messages leave while later steps are still being taken), then the whole outbox that
        is due; return how many timers ran."""
        ran = 0
        for lander in self.landers:
            lander(self.clock())
        while True:
            now = self.clock()
            with self.db.write() as session:
                due = claim(session, now=now, limit=self.batch, stale_after=self.stale_after)
            for i, item in enumerate(due):
                if self.stop.is_set():
                    with self.db.write() as session:
                        release(session, due[i:])
                    log.info("sweep.stopped", released=len(due) - i)
                    return ran
                ran += self._run(item, now)
            self._deliver(drain=len(due) < self.batch)
            if len(due) < self.batch or self.stop.is_set():
                return ran

    def _deliver(self, *, drain: bool) -> None:
        """One outbox batch; with `drain`, batches until nothing due is left (not 100 a sweep)."""
        if self.settings is None:
            return
        if drain:
            deliver_all(self.db, self.settings, now=self.clock())
        else:
            deliver(self.db, self.settings, now=self.clock())

    def _run(self, due: Due, now: datetime) -> int:
        return run_timer(self.db, self.handlers, due, now)

    def run_forever(self, *, interval_s: float, stop: threading.Event) -> None:
        self.stop = stop
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # the database may be briefly unavailable; keep sweeping
                log.exception("sweep.failed")
            stop.wait(interval_s)


def start_in_background(
    settings: Settings,
    db: Database,
    clock: Clock,
    handlers: dict[str, TimerHandler],
    landers: Sequence[Callable[[datetime], int]] = (),
) -> threading.Event:
    """The embedded mode: the sweeper runs in a thread of the web process. Set the returned event to stop it."""
    worker = Worker(db, clock, handlers, settings=settings, landers=landers)
    stop = threading.Event()
    thread = threading.Thread(
        target=worker.run_forever,
        kwargs={"interval_s": settings.sweep_interval_s, "stop": stop},
        name="leadloop-sweeper",
        daemon=True,
    )
    thread.start()
    return stop
