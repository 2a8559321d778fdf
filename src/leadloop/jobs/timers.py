"""Timers are rows: a kind, a subject, a due time. Scheduling moves the one pending timer of a
(kind, subject); the sweeper claims due rows (safely across workers on PostgreSQL) and marks them
done in the same transaction as the work they trigger."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from leadloop.core.events import Event
from leadloop.jobs.announce import announcer
from leadloop.store.bulk import connection
from leadloop.store.tables import Timer

TIMERS: sa.Table = Timer.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Due:
    id: int
    kind: str
    subject: str
    due_at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class Job:
    """A timer whose slow part only reads: `prepare` runs in a read transaction (on SQLite it does
    not hold the writer lock while a model trains), `apply` writes its result and finishes."""

    prepare: Callable[[Session, Due, datetime], Any]
    apply: Callable[[Session, Due, datetime, Any], list[Event]]


# What a timer of one kind runs: a function of (session, due, now), or a Job. The composition root
# (`leadloop.bootstrap.timer_handlers`) says which kind runs what.
TimerHandler = Callable[[Session, Due, datetime], list[Event]] | Job


def schedule(
    session: Session, kind: str, subject: str, due: datetime, payload: dict[str, Any] | None = None
) -> None:
    """One pending timer per (kind, subject): scheduling again moves it (and re-arms a done one)."""
    conn = connection(session)
    engine = announcer(session)
    armed = due if engine is not None and engine.near(due) else None
    values = {
        "due_at": due,
        "payload": payload or {},
        "done_at": None,
        "claimed_at": None,
        "armed_for": armed,
    }
    updated = conn.execute(
        TIMERS.update().where(TIMERS.c.kind == kind, TIMERS.c.subject == subject).values(**values)
    )
    if not updated.rowcount:
        conn.execute(TIMERS.insert().values(kind=kind, subject=subject, **values))
    if engine is not None and armed is not None:
        engine.timers(session, [(kind, subject, due)])


def schedule_many(session: Session, rows: list[tuple[str, str, datetime, dict[str, Any]]]) -> None:
    """Several (kind, subject, due, payload) at once, in one statement: an upsert on (kind, subject)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    engine = announcer(session)
    near = [engine is not None and engine.near(d) for _, _, d, _ in rows]
    insert = (pg_insert if dialect == "postgresql" else sqlite_insert)(TIMERS)
    stmt = insert.on_conflict_do_update(
        index_elements=["kind", "subject"],
        set_={
            "due_at": insert.excluded.due_at,
            "payload": insert.excluded.payload,
            "done_at": None,
            "claimed_at": None,
            "armed_for": insert.excluded.armed_for,
        },
    )
    connection(session).execute(
        stmt,
        [
            {
                "kind": k,
                "subject": s,
                "due_at": d,
                "payload": p,
                "done_at": None,
                "claimed_at": None,
                "armed_for": d if n else None,
            }
            for (k, s, d, p), n in zip(rows, near, strict=True)
        ],
    )
    if engine is not None and any(near):
        engine.timers(session, [(k, s, d) for (k, s, d, _), n in zip(rows, near, strict=True) if n])


def cancel_many(session: Session, kinds: tuple[str, ...], subjects: list[str], *, now: datetime) -> None:
    """Settle the pending timers of these kinds for these subjects, in one statement."""
    if subjects:
        connection(session).execute(
            TIMERS.update()
            .where(TIMERS.c.kind.in_(kinds), TIMERS.c.subject.in_(subjects), TIMERS.c.done_at.is_(None))
            .values(done_at=now)
        )


def cancel(session: Session, kind: str, subject: str, *, now: datetime) -> None:
    connection(session).execute(
        TIMERS.update()
        .where(TIMERS.c.kind == kind, TIMERS.c.subject == subject, TIMERS.c.done_at.is_(None))
        .values(done_at=now)
    )


def pending(session: Session, kind: str, subject: str) -> datetime | None:
    return session.scalar(
        sa.select(TIMERS.c.due_at).where(
            TIMERS.c.kind == kind, TIMERS.c.subject == subject, TIMERS.c.done_at.is_(None)
        )
    )


def claim(session: Session, *, now: datetime, limit: int, stale_after: timedelta) -> list[Due]:
    """Claim up to `limit` due timers. A claim older than `stale_after` (a worker that died
    mid-way) is claimed again. On PostgreSQL concurrent sweepers skip each other's rows."""
    cond = sa.and_(
        TIMERS.c.done_at.is_(None),
        TIMERS.c.due_at <= now,
        sa.or_(TIMERS.c.claimed_at.is_(None), TIMERS.c.claimed_at < now - stale_after),
    )
    query = sa.select(TIMERS.c.id).where(cond).order_by(TIMERS.c.due_at).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(session.scalars(query))
    if not ids:
        return []
    session.execute(TIMERS.update().where(TIMERS.c.id.in_(ids)).values(claimed_at=now))
    rows = session.execute(
        sa.select(TIMERS.c.id, TIMERS.c.kind, TIMERS.c.subject, TIMERS.c.due_at, TIMERS.c.payload).where(
            TIMERS.c.id.in_(ids)
        )
    ).all()
    return sorted(
        (Due(r.id, r.kind, r.subject, r.due_at, r.payload or {}) for r in rows), key=lambda d: d.due_at
    )


def release(session: Session, dues: Sequence[Due]) -> None:
    """Give claimed timers back unrun (a worker told to stop): the next sweep takes them at once,
    not after the claim goes stale."""
    if dues:
        session.execute(
            TIMERS.update()
            .where(TIMERS.c.id.in_([d.id for d in dues]), TIMERS.c.done_at.is_(None))
            .values(claimed_at=None)
        )


def still_due(session: Session, due: Due) -> bool:
    """Lock the claimed timer's row and say whether running it is still this run's to do: not done
    by another sweeper (one that took over a claim it thought stale), not cancelled, not moved to
    another time since it was claimed. Called in the transaction that runs the handler and marks
    the timer done, so a timer's effects are committed once."""
    query = sa.select(TIMERS.c.due_at, TIMERS.c.done_at).where(TIMERS.c.id == due.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = session.execute(query).first()
    return row is not None and row.done_at is None and row.due_at == due.due_at


def finish(session: Session, due: Due, *, now: datetime) -> None:
    """Done, unless the handler re-armed it (moved due_at): then it waits for its new time."""
    session.execute(
        TIMERS.update()
        .where(TIMERS.c.id == due.id, TIMERS.c.due_at == due.due_at, TIMERS.c.done_at.is_(None))
        .values(done_at=now)
    )
    session.execute(
        TIMERS.update().where(TIMERS.c.id == due.id, TIMERS.c.done_at.is_(None)).values(claimed_at=None)
    )
