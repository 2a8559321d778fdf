"""The web form's durable intake (issue 19: the two-speed capture).

A posted form is checked (its fields settled: capture/form_intake.py), written here as it came,
and answered. Landing it (the person, the activity, scoring, a hand-raise's routing, the SLA clocks,
the rep's e-mail) happens in a batch with the others waiting, in one transaction: the form lane
(capture/lane.py) does it moments later, or the request itself when no lane runs. A burst of forms
therefore costs each visitor one small write, and the warehouse one transaction per batch.

Exactly once: the landing transaction stores the idempotency key `form:<id>`, so a submission
landed by a lander that died before deleting it is found landed and only deleted.

On SQLite the intake is a file of its own beside the warehouse (`<file>-intake`): writing a
submission never waits for the warehouse's single writer, which a batch holds for a while. On
PostgreSQL it is the `form_intake` table, and every web process and worker may land from it.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from leadloop import capture as h
from leadloop.capture.intake import prepare_lead
from leadloop.capture.results import REFUSED
from leadloop.contract.custom import CustomLimits
from leadloop.core.logging import get_logger
from leadloop.store.db import Database, make_engine
from leadloop.store.tables import FormIntake, IdempotencyKey

log = get_logger("leadloop.capture.spool")
T: sa.Table = FormIntake.__table__  # type: ignore[assignment]
CLAIM_FOR = timedelta(minutes=2)  # a lander that died leaves its batch to the next after this
ORPHANED_AFTER = timedelta(seconds=30)  # then the worker lands it, not only the lanes
MAX_ATTEMPTS = 5  # then the submission stays, with its error, for a person to look at
LANDED, REFUSED_HERE, FAILED = "landed", "refused", "failed"


@dataclass(frozen=True)
class Submission:
    id: str
    received_at: datetime
    body: dict[str, Any]
    payload: dict[str, str] = field(default_factory=dict)
    consent: bool = False

    @property
    def key(self) -> str:
        return f"form:{self.id}"


def new_submission(
    body: dict[str, Any], payload: dict[str, str], *, consent: bool, now: datetime
) -> Submission:
    return Submission(uuid.uuid4().hex, now, body, dict(payload), consent)


class Spool:
    """Where submissions wait. `beside(db)` picks the place for the warehouse `db`."""

    def __init__(self, db: Database, *, own_file: bool = False) -> None:
        self._db, self._own_file, self._made = db, own_file, threading.Lock()
        self.separate = own_file  # a file of its own beside a SQLite warehouse

    @classmethod
    def beside(cls, db: Database) -> Spool:
        url = db.engine.url
        if db.is_sqlite and url.database and url.database != ":memory:":
            path = Path(url.database)
            return cls(
                Database(make_engine(f"sqlite:///{path.with_name(path.name + '-intake')}")), own_file=True
            )
        return cls(db)

    @property
    def db(self) -> Database:
        """The spool's database; its own file gets its table on first use (not at start-up: an
        app whose database is down still starts and says so at /healthz)."""
        if self._own_file:
            with self._made:
                if self._own_file:
                    T.create(self._db.engine, checkfirst=True)
                    self._own_file = False
        return self._db

    def put(self, sub: Submission) -> None:
        with self.db.write() as session:
            session.execute(
                sa.insert(T).values(
                    id=sub.id,
                    received_at=sub.received_at,
                    body=sub.body,
                    payload=sub.payload,
                    consent=sub.consent,
                    attempts=0,
                )
            )

    def claim(
        self,
        *,
        now: datetime,
        limit: int,
        ids: Sequence[str] | None = None,
        received_before: datetime | None = None,
    ) -> list[Submission]:
        """Up to `limit` waiting submissions, oldest first (or those of `ids` that still wait, or
        those received before `received_before`), taken for CLAIM_FOR so that another lander
        passes them by."""
        q = (
            sa.select(T)
            .where(sa.or_(T.c.claimed_until.is_(None), T.c.claimed_until < now))
            .where(T.c.attempts < MAX_ATTEMPTS)
            .order_by(T.c.received_at, T.c.id)
            .limit(limit)
        )
        if ids is not None:
            q = q.where(T.c.id.in_(list(ids)))
        if received_before is not None:
            q = q.where(T.c.received_at < received_before)
        with self.db.write() as session:
            if not self.db.is_sqlite:
                q = q.with_for_update(skip_locked=True)
            rows = session.execute(q).mappings().all()
            if rows:
                session.execute(
                    sa.update(T)
                    .where(T.c.id.in_([r["id"] for r in rows]))
                    .values(claimed_until=now + CLAIM_FOR)
                )
        return [Submission(r["id"], r["received_at"], r["body"], r["payload"], r["consent"]) for r in rows]

    def finish(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        if ids:
            with self.db.write() as session:
                session.execute(sa.delete(T).where(T.c.id.in_(ids)))

    def failed(self, sub_id: str, error: str, *, now: datetime) -> None:
        """Counted; tried again after a back-off (1, 2, 4, 8 minutes), then kept with its error."""
        with self.db.write() as session:
            attempts = session.scalar(sa.select(T.c.attempts).where(T.c.id == sub_id)) or 0
            session.execute(
                sa.update(T)
                .where(T.c.id == sub_id)
                .values(
                    attempts=attempts + 1,
                    error=error[:1000],
                    claimed_until=now + timedelta(minutes=2**attempts),
                )
            )

    def waiting(self) -> int:
        with self.db.read() as session:
            return int(session.scalar(sa.select(sa.func.count()).select_from(T)) or 0)

    def stuck(self) -> list[dict[str, Any]]:
        """Submissions that failed every attempt, with their errors: for a person to look at."""
        with self.db.read() as session:
            rows = session.execute(
                sa.select(T.c.id, T.c.received_at, T.c.error).where(T.c.attempts >= MAX_ATTEMPTS)
            ).mappings()
            return [dict(r) for r in rows]


def land(
    db: Database,
    subs: Sequence[Submission],
    *,
    now: datetime,
    source: str = "form",
    custom: CustomLimits | None = None,
) -> dict[str, str]:
    """Land a batch in one transaction of the warehouse; {id: landed | refused}. Raises when the
    batch cannot land (the caller then lands each alone, to find the one that cannot)."""
    outcome: dict[str, str] = {}
    with db.write() as session:
        keys = [s.key for s in subs]
        done = set(session.scalars(sa.select(IdempotencyKey.key).where(IdempotencyKey.key.in_(keys))))
        todo = [s for s in subs if s.key not in done]
        outcome.update({s.id: LANDED for s in subs if s.key in done})
        for consent in (False, True):  # the ingest takes one consent flag a call
            group = [s for s in todo if s.consent == consent]
            if not group:
                continue
            prepared = [
                prepare_lead(s.body, now=s.received_at, custom=custom, activity_payload=s.payload)
                for s in group
            ]
            result = h.ingest_people(
                session,
                [p for p, _ in prepared],
                now=now,
                source=source,
                activities=[a for _, a in prepared],
                explicit_consent=consent,
            )
            for s, o in zip(group, result.outcomes, strict=True):
                outcome[s.id] = REFUSED_HERE if o.status == REFUSED else LANDED
        if todo:
            session.execute(
                sa.insert(IdempotencyKey),
                [
                    {"key": s.key, "request_hash": "", "status_code": 200, "response": {}, "created_at": now}
                    for s in todo
                ],
            )
    return outcome


def land_from(
    spool: Spool,
    db: Database,
    subs: Sequence[Submission],
    *,
    now: datetime,
    custom: CustomLimits | None = None,
) -> dict[str, str]:
    """Land claimed submissions and take them off the spool: the batch in one transaction, or,
    when that fails, each alone, so one bad submission waits with its error and the rest land."""
    try:
        outcome = land(db, subs, now=now, custom=custom)
    except Exception:
        outcome = {}
        for s in subs:  # each alone: one that cannot land waits with its error, the rest land
            try:
                outcome.update(land(db, [s], now=now, custom=custom))
            except Exception as exc:
                log.exception("form.landing_failed", submission=s.id)
                spool.failed(s.id, f"{type(exc).__name__}: {exc}", now=now)
    spool.finish(outcome)
    for sub_id, what in outcome.items():
        if what == REFUSED_HERE:  # an erased person: nothing stored, and the visitor was not told
            log.info("form.refused_erased", submission=sub_id)
    return outcome


def land_here(
    spool: Spool, db: Database, sub: Submission, *, now: datetime, custom: CustomLimits | None = None
) -> str:
    """Land one spooled submission in the caller (a request no lane serves): claimed by its id
    first, so a lane passes it by; 'waiting' when a lane took it first or it must be tried again."""
    mine = spool.claim(now=now, limit=1, ids=[sub.id])
    return land_from(spool, db, mine, now=now, custom=custom).get(sub.id, "waiting") if mine else "waiting"


def land_waiting(
    spool: Spool,
    db: Database,
    *,
    now: datetime,
    custom: CustomLimits | None = None,
    batch: int = 200,
    orphaned_after: timedelta | None = ORPHANED_AFTER,
) -> int:
    """Land every submission that has waited unclaimed for ORPHANED_AFTER (left by a process that
    stopped, or by a request that landed nothing; the fresh ones are the lanes'): the worker's
    part; returns how many were taken. `orphaned_after=None`: every one (a lane stopping)."""
    taken = 0
    before = None if orphaned_after is None else now - orphaned_after
    while subs := spool.claim(now=now, limit=batch, received_before=before):
        land_from(spool, db, subs, now=now, custom=custom)
        taken += len(subs)
    return taken
