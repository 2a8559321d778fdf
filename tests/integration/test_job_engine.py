"""The job engine (procrastinate, on PostgreSQL; ADR 0042): the same timers and messages as the
sweeper's, run as jobs deferred in the transaction that made them. SQLite keeps the sweeper, so
these run on PostgreSQL only; the scenarios both runners share are in test_worker_faults.py."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.bootstrap import session_info
from leadloop.jobs.announce import uses_engine
from leadloop.jobs.engine import HORIZON, MESSAGE_TASK, TIMER_TASK, arm, run_worker, vacuum_queue, worker_app
from leadloop.jobs.outbox import OUTBOX, enqueue
from leadloop.jobs.timers import Due, cancel, schedule, schedule_many
from leadloop.settings import Settings
from leadloop.store.db import Database, make_engine
from leadloop.store.migrate import downgrade, upgrade

pytestmark = pytest.mark.xdist_group("faults")
KIND = "engine_test"


@pytest.fixture
def pg(db_url: str) -> str:
    if not db_url.startswith("postgresql"):
        pytest.skip("the job engine runs on PostgreSQL; SQLite has the sweeper")
    return db_url


@pytest.fixture
def engine_db(pg: str, db: Database) -> Database:
    """The conftest's database on PostgreSQL: it arms timers and messages as jobs too."""
    return db


def _jobs(db: Database) -> list[Any]:
    """The timers' and messages' jobs. The periodic backstop's is left out: a run that crosses a
    minute's tick defers the next one, which waits for a worker like any job (CI saw it once)."""
    with db.read() as s:
        return list(
            s.execute(
                sa.text(
                    "SELECT task_name, args, status, attempts, scheduled_at FROM procrastinate_jobs"
                    " WHERE task_name IN (:timer, :message) ORDER BY id"
                ),
                {"timer": TIMER_TASK, "message": MESSAGE_TASK},
            )
        )


def _run(url: str, handlers: dict[str, Any], **settings: Any) -> None:
    config = Settings(database_url=url, smtp_host="", **settings)
    db = Database(make_engine(url), info=session_info(config))
    try:
        run_worker(worker_app(config, db, handlers, lambda: datetime.now(UTC)), config, once=True)
    finally:
        db.dispose()


def test_the_engine_is_chosen_by_the_database_and_the_setting(tmp_path: Any) -> None:
    sqlite = f"sqlite:///{tmp_path}/x.db"
    assert not uses_engine(Settings(database_url=sqlite))
    assert uses_engine(Settings(database_url="postgresql://h/db"))
    assert not uses_engine(Settings(database_url="postgresql://h/db", jobs_engine="sweeper"))
    with pytest.raises(ValueError, match="needs PostgreSQL"):  # said when the settings load
        Settings(database_url=sqlite, jobs_engine="procrastinate")


def test_a_job_is_deferred_with_its_row_and_not_without_it(engine_db: Database) -> None:
    now = datetime.now(UTC)
    with pytest.raises(RuntimeError), engine_db.write() as s:  # the capture fails: no row, no job
        schedule(s, KIND, "lost", now)
        raise RuntimeError("the capture failed")
    with engine_db.write() as s:
        schedule(s, KIND, "kept", now + timedelta(minutes=3))
        enqueue(s, "msg:1", "webhook", {"text": "hello"}, now=now)
    jobs = _jobs(engine_db)
    assert [(j.task_name, j.args, j.status) for j in jobs] == [
        (
            "leadloop.timer",
            {"kind": KIND, "subject": "kept", "due_at": (now + timedelta(minutes=3)).isoformat()},
            "todo",
        ),
        ("leadloop.message", {"key": "msg:1"}, "todo"),
    ]
    assert jobs[0].scheduled_at == now + timedelta(minutes=3)


def test_a_job_for_a_moved_or_cancelled_timer_does_nothing(engine_db: Database, pg: str) -> None:
    now = datetime.now(UTC)
    fired: list[str] = []

    def record(session: Session, due: Due, at: datetime) -> list[Any]:
        fired.append(due.subject)
        return []

    with engine_db.write() as s:
        for subject in ("stays", "moves", "cancelled"):
            schedule(s, KIND, subject, now - timedelta(seconds=1))
    with engine_db.write() as s:  # a new activity pushes one back, a first touch stops another
        schedule(s, KIND, "moves", now + timedelta(hours=1))
        cancel(s, KIND, "cancelled", now=now)
    _run(pg, {KIND: record})
    assert fired == ["stays"]
    with engine_db.read() as s:
        moved = s.execute(
            sa.text(f"SELECT done_at FROM timers WHERE subject = 'moves' AND kind = '{KIND}'")
        ).one()
    assert moved.done_at is None
    # The three woken jobs are done and deleted; the moved timer, an hour off, gets its job when it
    # comes within the horizon (ADR 0044).
    assert _jobs(engine_db) == []


def test_a_timer_gets_its_job_when_it_comes_within_the_horizon(engine_db: Database, pg: str) -> None:
    """Jobs for consent expiries and drip steps months ahead would make every fetch walk them all:
    a timer far off waits for the arming round that finds it within HORIZON, and gets one job."""
    now = datetime.now(UTC)
    fired: list[str] = []
    with engine_db.write() as s:
        schedule(s, KIND, "soon", now + timedelta(minutes=2))
        schedule_many(
            s,
            [
                (KIND, "later", now + timedelta(days=30), {}),
                (KIND, "also-soon", now - timedelta(seconds=1), {}),
            ],
        )
    assert sorted(j.args["subject"] for j in _jobs(engine_db)) == ["also-soon", "soon"]
    assert arm(engine_db, now) == 0  # the near ones hold theirs already
    assert arm(engine_db, now + timedelta(days=30) - HORIZON) == 1
    assert arm(engine_db, now + timedelta(days=30)) == 0  # once
    later = [j for j in _jobs(engine_db) if j.args["subject"] == "later"]
    assert [(j.status, j.scheduled_at) for j in later] == [("todo", now + timedelta(days=30))]
    with engine_db.write() as s:  # moved: the job for the old time does nothing, the new one runs
        schedule(s, KIND, "later", now - timedelta(seconds=2))
        s.execute(sa.text("UPDATE procrastinate_jobs SET scheduled_at = now()"))
    _run(pg, {KIND: lambda s, d, at: fired.append(d.subject) or []})
    assert sorted(fired) == ["also-soon", "later", "soon"] and _jobs(engine_db) == []
    with engine_db.read() as s:
        assert (
            s.scalar(sa.text(f"SELECT count(*) FROM timers WHERE kind = '{KIND}' AND done_at IS NULL")) == 0
        )


def test_a_failing_timer_is_retried_with_backoff_and_runs_once_it_succeeds(
    engine_db: Database, pg: str
) -> None:
    now = datetime.now(UTC)
    calls: list[str] = []

    def flaky(session: Session, due: Due, at: datetime) -> list[Any]:
        calls.append(due.subject)
        if len(calls) == 1:
            raise ConnectionError("the enrichment provider is down")
        return []

    with engine_db.write() as s:
        schedule(s, KIND, "flaky", now - timedelta(seconds=1))
    _run(pg, {KIND: flaky})
    (job,) = _jobs(engine_db)
    assert (job.status, job.attempts) == ("todo", 1)  # put back, to run again after a wait
    assert job.scheduled_at > datetime.now(UTC)
    with engine_db.read() as s:
        assert s.scalar(sa.text(f"SELECT done_at FROM timers WHERE kind = '{KIND}'")) is None
    with engine_db.write() as s:  # the wait is over
        s.execute(sa.text("UPDATE procrastinate_jobs SET scheduled_at = now()"))
    _run(pg, {KIND: flaky})
    assert calls == ["flaky", "flaky"] and _jobs(engine_db) == []
    with engine_db.read() as s:
        assert s.scalar(sa.text(f"SELECT done_at FROM timers WHERE kind = '{KIND}'")) is not None


class _Flaky(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    got: Counter[str] = Counter()
    fail_first = True

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        key = self.headers["x-leadloop-delivery"]
        _Flaky.got[key] += 1
        failing = _Flaky.fail_first and _Flaky.got[key] == 1
        self.send_response(503 if failing else 204)
        self.send_header("content-length", "0")
        self.end_headers()
        assert body["id"] == key

    def log_message(self, *_: Any) -> None:
        pass


def test_a_message_is_sent_by_its_job_and_a_refused_one_waits_its_backoff(
    engine_db: Database, pg: str
) -> None:
    _Flaky.got = Counter()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    webhook = f"http://127.0.0.1:{server.server_address[1]}/hook"
    now = datetime.now(UTC)
    try:
        with engine_db.write() as s:
            enqueue(s, "m:1", "webhook", {"text": "one"}, now=now)
            enqueue(s, "m:1", "webhook", {"text": "one"}, now=now)  # the same key twice: one message
        _run(pg, {}, webhook_url=webhook)
        with engine_db.read() as s:
            row = s.execute(sa.select(OUTBOX).where(OUTBOX.c.key == "m:1")).one()
        assert _Flaky.got["m:1"] == 1 and row.sent_at is None and row.attempts == 1
        assert row.next_attempt_at > now + timedelta(seconds=25)  # the outbox's own backoff, 30 s
        # The next attempt is a job at that time.
        waiting = [j for j in _jobs(engine_db) if j.status == "todo"]
        assert [(j.args, j.scheduled_at) for j in waiting] == [({"key": "m:1"}, row.next_attempt_at)]
        with engine_db.write() as s:
            s.execute(sa.text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo'"))
            s.execute(OUTBOX.update().values(next_attempt_at=datetime.now(UTC)))
        _run(pg, {}, webhook_url=webhook)
        with engine_db.read() as s:
            assert s.scalar(sa.select(OUTBOX.c.sent_at).where(OUTBOX.c.key == "m:1")) is not None
        assert _Flaky.got["m:1"] == 2  # refused once, delivered once
    finally:
        server.shutdown()
        server.server_close()


def test_upgrading_a_warehouse_gives_its_pending_timers_and_messages_a_job(pg: str) -> None:
    """A warehouse that ran the sweeper before the engine (migration 0036 backfills)."""
    engine = make_engine(pg)
    try:
        downgrade(engine, "0035")
        now = datetime.now(UTC).replace(microsecond=123456)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO timers (kind, subject, due_at, payload) VALUES "
                    "(:k, 'waiting', :due, '{}'), (:k, 'done', :due, '{}')"
                ),
                {"k": KIND, "due": now},
            )
            conn.execute(
                sa.text(f"UPDATE timers SET done_at = now() WHERE subject = 'done' AND kind = '{KIND}'")
            )
            conn.execute(
                OUTBOX.insert(),
                [
                    {
                        "key": k,
                        "channel": "webhook",
                        "payload": {"text": k},
                        "created_at": now,
                        "next_attempt_at": now,
                        "attempts": 0,
                    }
                    for k in ("unsent", "sent")
                ],
            )
            conn.execute(OUTBOX.update().where(OUTBOX.c.key == "sent").values(sent_at=now))
        upgrade(engine)
        db = Database(engine, info=session_info(Settings(database_url=pg)))
        jobs = _jobs(db)
        assert [(j.task_name, j.args) for j in jobs] == [
            ("leadloop.timer", {"kind": KIND, "subject": "waiting", "due_at": now.isoformat()}),
            ("leadloop.message", {"key": "unsent"}),
        ]
        fired: list[str] = []
        _run(pg, {KIND: lambda s, d, at: fired.append(d.subject) or []})
        assert fired == ["waiting"]  # the backfilled job's due time matches the timer's, to the µs
    finally:
        upgrade(engine)
        engine.dispose()


def test_the_lock_check_of_a_fetch_is_a_lookup_and_the_queue_is_vacuumed(engine_db: Database) -> None:
    """The soak's stall: with 40,000 messages waiting, procrastinate's check that no earlier job
    holds a message's lock scanned a whole index per candidate (17 s a fetch). Migration 0039's
    index makes it a lookup; the backstop's VACUUM (ANALYZE) keeps the fetch's plan on fresh
    statistics even where autovacuum is off."""
    with engine_db.write() as s:
        now = datetime.now(UTC)
        for i in range(300):
            enqueue(s, f"m:{i}", "webhook", {"text": str(i)}, now=now)
    with engine_db.read() as s:
        before = s.scalar(sa.text("SELECT now()"))
    vacuum_queue(engine_db)
    with engine_db.read() as s:
        stats = s.execute(
            sa.text(
                "SELECT last_vacuum, last_analyze FROM pg_stat_user_tables WHERE relid = 'procrastinate_jobs'::regclass"
            )
        ).one()
        plan = s.execute(
            sa.text(
                "EXPLAIN (FORMAT JSON) SELECT 1 FROM procrastinate_jobs AS other_jobs"
                " WHERE other_jobs.lock = 'outbox:m:7' AND other_jobs.status = 'todo' AND other_jobs.id < 999999"
            )
        ).scalar_one()
    assert stats.last_vacuum >= before and stats.last_analyze >= before
    assert "leadloop_procrastinate_jobs_lock_waiting" in json.dumps(plan)
