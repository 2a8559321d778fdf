"""Housekeeping: the machinery's own rows are pruned once they have served, so that the tables a
sweeper, a deliverer or a sign-in reads stay the size of the work in hand, not of the years behind
it. A daily timer; each table in bounded batches (one short transaction each), so a first run on a
warehouse with millions of finished rows never holds SQLite's one writer for long.

The retention policy (README, "Retention"):
- outbox: a message sent or given up on, 90 days after it was made (its key, which makes
  enqueueing idempotent, is kept as long as a cause could enqueue it again: the longest SLA and
  drip spans are weeks);
- timers: a timer done 30 days ago (a rescheduled one reuses its row, so only subjects that ended,
  like a closed lead's SLA clock, leave rows behind);
- idempotency keys: 30 days after the request (a client retrying later than that sends a new one);
- sessions: expired ones (sign-in deletes them too, this catches the ones nobody came back to).
What the business owns (activities, leads, audit events, consent history) is never pruned here.
On PostgreSQL it also makes the activity log's partitions for this month and the next three
(store/partitions.py), so a capture never waits for DDL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.logging import get_logger
from leadloop.jobs.timers import Due, schedule
from leadloop.store import partitions
from leadloop.store.bulk import connection
from leadloop.store.tables import IdempotencyKey, Outbox, Timer, WebSession

log = get_logger("leadloop.housekeeping")
HOUSEKEEPING = "housekeeping"  # the timer's kind
BATCH = 5_000


@dataclass(frozen=True)
class Retention:
    outbox_days: int = 90
    timers_days: int = 30
    idempotency_days: int = 30


def _prunes(r: Retention, now: datetime) -> list[tuple[str, Any, Any]]:
    """(name, the table's primary key column, which rows may go) for each table."""
    return [
        (
            "outbox",
            Outbox.id,
            sa.and_(
                Outbox.created_at < now - timedelta(days=r.outbox_days),
                Outbox.sent_at.is_not(None),  # sent or settled; one that failed for good stays to be seen
            ),
        ),
        ("timers", Timer.id, Timer.done_at < now - timedelta(days=r.timers_days)),
        (
            "idempotency_keys",
            IdempotencyKey.key,
            IdempotencyKey.created_at < now - timedelta(days=r.idempotency_days),
        ),
        ("sessions", WebSession.id, WebSession.expires_at <= now),
    ]


def prune_batch(
    session: Session, name: str, *, now: datetime, retention: Retention, batch: int = BATCH
) -> int:
    """Delete up to `batch` rows of one table that the policy lets go; the number deleted."""
    _, key, old = next(p for p in _prunes(retention, now) if p[0] == name)
    ids = session.scalars(sa.select(key).where(old).limit(batch)).all()
    if ids:
        session.execute(sa.delete(key.class_).where(key.in_(ids)))
    return len(ids)


def tables() -> list[str]:
    return [name for name, _, _ in _prunes(Retention(), datetime(2000, 1, 1, tzinfo=UTC))]


def housekeeping_job(
    retention: Retention, *, every: timedelta = timedelta(days=1), batch: int = BATCH
) -> Any:
    """The timer: a batch from each table, then the next run: in a minute while a table had more
    than a batch to let go (a first run on an old warehouse catches up in short transactions), else
    in a day."""

    def handle(session: Session, due: Due, now: datetime) -> list[Any]:
        full = False
        for name in tables():
            full |= prune_batch(session, name, now=now, retention=retention, batch=batch) == batch
        if session.get_bind().dialect.name == "postgresql":  # activities' months ahead (ADR 0043)
            made = partitions.ensure_ahead(connection(session), now.date())
            if made:
                log.info("housekeeping.partitions_made", partitions=made)
        schedule(session, HOUSEKEEPING, "tables", now + (timedelta(minutes=1) if full else every))
        return []

    return handle
