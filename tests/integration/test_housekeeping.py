"""Housekeeping on SQLite and PostgreSQL: the daily timer lets go of settled outbox messages,
done timers, old idempotency keys and expired sessions past their retention, in bounded batches;
it keeps everything still in hand (a message waiting or failed for good, a pending timer, a recent
key, a live session), and comes back in a minute while a table had more than a batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from leadloop.jobs.housekeeping import HOUSEKEEPING, Retention, housekeeping_job, tables
from leadloop.jobs.timers import Due, pending
from leadloop.store.db import Database
from leadloop.store.tables import IdempotencyKey, Outbox, Timer, WebSession

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=200)


def _seed(db: Database) -> None:
    with db.write() as s:
        outbox = [
            # (key, created, sent): old and sent, old and cancelled, old and still failing, new and sent
            ("old-sent", OLD, OLD, None, 1),
            ("old-cancelled", OLD, OLD, "cancelled: unsubscribed", 0),
            ("old-failed-for-good", OLD, None, "SMTP 550", 12),
            ("new-sent", NOW - timedelta(days=3), NOW - timedelta(days=3), None, 1),
        ]
        s.execute(
            sa.insert(Outbox),
            [
                {
                    "key": k,
                    "channel": "email",
                    "payload": {"to": "a@b.c"},
                    "created_at": c,
                    "next_attempt_at": c,
                    "attempts": a,
                    "sent_at": sent,
                    "last_error": err,
                }
                for k, c, sent, err, a in outbox
            ],
        )
        s.execute(
            sa.insert(Timer),
            [
                {"kind": "sla_due", "subject": "lead:1", "due_at": OLD, "payload": {}, "done_at": OLD},
                {
                    "kind": "sla_due",
                    "subject": "lead:2",
                    "due_at": NOW,
                    "payload": {},
                    "done_at": NOW - timedelta(days=2),
                },
                {
                    "kind": "sla_due",
                    "subject": "lead:3",
                    "due_at": NOW + timedelta(hours=1),
                    "payload": {},
                    "done_at": None,
                },
            ],
        )
        s.execute(
            sa.insert(IdempotencyKey),
            [
                {"key": k, "request_hash": "h", "status_code": 200, "response": {}, "created_at": c}
                for k, c in (("old-key", OLD), ("new-key", NOW - timedelta(days=1)))
            ],
        )
        s.execute(
            sa.insert(WebSession),
            [
                {
                    "id": i,
                    "user_id": None,
                    "csrf_token": "t",
                    "created_at": OLD,
                    "last_seen_at": OLD,
                    "expires_at": e,
                }
                for i, e in (("gone", NOW - timedelta(hours=1)), ("live", NOW + timedelta(days=1)))
            ],
        )


def test_it_lets_go_of_what_has_served_and_keeps_what_is_in_hand(db: Database) -> None:
    _seed(db)
    handle = housekeeping_job(Retention())
    with db.write() as s:
        assert handle(s, Due(0, HOUSEKEEPING, "tables", NOW, {}), NOW) == []
    with db.read() as s:
        assert set(s.scalars(sa.select(Outbox.key))) == {"old-failed-for-good", "new-sent"}
        assert set(s.scalars(sa.select(Timer.subject).where(Timer.kind == "sla_due"))) == {"lead:2", "lead:3"}
        assert set(s.scalars(sa.select(IdempotencyKey.key))) == {"new-key"}
        assert set(s.scalars(sa.select(WebSession.id))) == {"live"}
        # Nothing left over a batch: the next run is a day away.
        assert pending(s, HOUSEKEEPING, "tables") == NOW + timedelta(days=1)


def test_a_long_backlog_goes_in_short_batches(db: Database) -> None:
    with db.write() as s:
        s.execute(
            sa.insert(Timer),
            [
                {"kind": "lead_cools", "subject": f"lead:{i}", "due_at": OLD, "payload": {}, "done_at": OLD}
                for i in range(25)
            ],
        )
    handle = housekeeping_job(Retention(), batch=10)
    left, runs, at = 25, 0, NOW
    while left:
        with db.write() as s:
            handle(s, Due(0, HOUSEKEEPING, "tables", at, {}), at)
            next_run = pending(s, HOUSEKEEPING, "tables")
            left = (
                s.scalar(sa.select(sa.func.count()).select_from(Timer).where(Timer.kind == "lead_cools")) or 0
            )
        runs += 1
        assert next_run == at + (timedelta(minutes=1) if left or runs < 3 else timedelta(days=1))
        at = next_run or at
    assert runs == 3  # 10, 10, then 5 and a day's rest
    assert tables() == ["outbox", "timers", "idempotency_keys", "sessions"]
