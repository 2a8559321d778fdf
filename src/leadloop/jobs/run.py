"""What running one due timer is, whichever runner got to it (the sweeper's loop on SQLite, the
job engine's worker on PostgreSQL, ADR 0042): the handler's writes and the timer's `done` share one
transaction, after a check under the row's lock that the timer is still due."""

from __future__ import annotations

from datetime import datetime

from leadloop.core.logging import get_logger
from leadloop.jobs.timers import Due, Job, TimerHandler, finish, still_due
from leadloop.store.db import Database

log = get_logger("leadloop.jobs")


def run_timer(
    db: Database, handlers: dict[str, TimerHandler], due: Due, now: datetime, *, reraise: bool = False
) -> int:
    """1 when this run did the timer's work, 0 when it was no longer its to do (done elsewhere,
    cancelled or moved meanwhile) or the handler failed. A failure is logged; with `reraise` it is
    also raised (the engine then retries the job with backoff), else the claim expires and the
    sweeper retries it."""
    handler = handlers.get(due.kind)
    try:
        if isinstance(handler, Job):
            with db.read() as session:
                prepared = handler.prepare(session, due, now)
        with db.write() as session:
            if not still_due(session, due):
                return 0
            # A handler publishes what it raised itself, in this transaction (core/reactions.py).
            if isinstance(handler, Job):
                handler.apply(session, due, now, prepared)
            elif handler is not None:
                handler(session, due, now)
            finish(session, due, now=now)
    except Exception:
        log.exception("timer.failed", kind=due.kind, subject=due.subject)
        if reraise:
            raise
        return 0
    if handler is None:
        log.warning("timer.unknown_kind", kind=due.kind, subject=due.subject)
    return 1
