"""Faults (the scale-out issue), on SQLite and PostgreSQL: a worker killed with SIGKILL in the
middle of 1,000 due timers and 1,000 outbox messages. Every timer's effect is committed exactly
once (the handler's write and the timer's `done` share a transaction, and a run re-checks under a
row lock that the timer is still due), and every message reaches the receiver, which counts each
delivery key: a message sent but not yet marked when the worker died is sent again, and the
receiver-side key lets it drop the copy. The resends are counted, not assumed away.

Also: a timer moved or cancelled after a sweeper claimed it does nothing when that sweeper gets
to it."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.bootstrap import session_info
from leadloop.jobs.engine import MESSAGE_TASK, TIMER_TASK, run_worker, tidy_once, worker_app
from leadloop.jobs.outbox import OUTBOX, enqueue
from leadloop.jobs.timers import Due, cancel, claim, schedule, schedule_many
from leadloop.jobs.worker import Worker
from leadloop.settings import Settings
from leadloop.store.db import Database, make_engine

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("faults")]

N = 1_000
KIND = "fault_fire"
# The timers' and messages' jobs not yet done (the periodic backstop's next one may wait its tick).
PENDING_WORK = (
    "SELECT count(*) FROM procrastinate_jobs WHERE status <> 'succeeded'"
    f" AND task_name IN ('{TIMER_TASK}', '{MESSAGE_TASK}')"
)
FIRED = sa.table("fault_fired", sa.column("subject", sa.String))


def _fire(session: Session, due: Due, now: datetime) -> list[Any]:
    """The timer's effect: one row, in the transaction that marks the timer done."""
    session.execute(sa.insert(FIRED).values(subject=due.subject))
    return []


class _Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a webhook receiver would
    got: Counter[str] = Counter()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        key = self.headers["x-leadloop-delivery"]
        assert json.loads(body)["id"] == key
        _Receiver.got[key] += 1
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


def _worker(url: str, webhook: str, *, batch: int, clock_shift_s: float = 0.0, forever: bool = True) -> None:
    db = Database(make_engine(url), info=session_info())
    settings = Settings(database_url=url, webhook_url=webhook, smtp_host="")
    worker = Worker(
        db,
        lambda: datetime.now(UTC) + timedelta(seconds=clock_shift_s),
        {KIND: _fire},
        batch=batch,
        settings=settings,
    )
    try:
        while True:
            worker.run_once()
            if not forever:
                return
    finally:
        db.dispose()


def _engine_settings(url: str, webhook: str) -> Settings:
    return Settings(database_url=url, webhook_url=webhook, smtp_host="", jobs_stalled_after_s=5)


def _engine_worker(url: str, webhook: str, *, once: bool = False) -> None:
    """A `leadloop worker` on the job engine (ADR 0042), with the same timer task as above."""
    settings = _engine_settings(url, webhook)
    db = Database(make_engine(url), info=session_info(settings))
    app = worker_app(settings, db, {KIND: _fire}, lambda: datetime.now(UTC))
    try:
        run_worker(app, settings, once=once)
    finally:
        db.dispose()


def _engine_recovers(url: str, webhook: str) -> int:
    """After the dead workers' heartbeats are older than the stall limit: the backstop's round
    (their jobs retried), then a worker that runs until nothing is due. Returns the jobs retried."""
    settings = _engine_settings(url, webhook)
    db = Database(make_engine(url), info=session_info(settings))
    worker = worker_app(settings, db, {KIND: _fire}, lambda: datetime.now(UTC))
    try:
        time.sleep(settings.jobs_stalled_after_s + 1)
        retried, _ = tidy_once(worker, settings, db, {KIND: _fire}, lambda: datetime.now(UTC))
        run_worker(worker, settings, once=True)
    finally:
        db.dispose()
    return retried


def _count(db: Database, sql: str) -> int:
    with db.read() as s:
        return int(s.scalar(sa.text(sql)) or 0)


def _kill_when(proc: multiprocessing.process.BaseProcess, reached: Any, *, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not reached():
        assert proc.is_alive(), "the worker ended before the kill"
        assert time.monotonic() < deadline, "the worker made no progress"
        time.sleep(0.01)
    assert proc.pid is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)


@pytest.mark.parametrize("runner", ["sweeper", "engine"])
def test_a_worker_killed_mid_batch_loses_and_repeats_no_timer_and_no_message(
    db_url: str, runner: str
) -> None:
    """The same scenario under both runners: the sweeper (claims that go stale after five minutes)
    and, on PostgreSQL, the job engine (jobs of a worker whose heartbeat stopped are retried)."""
    if runner == "engine" and not db_url.startswith("postgresql"):
        pytest.skip("the job engine runs on PostgreSQL; SQLite has the sweeper")
    settings = Settings(database_url=db_url, jobs_engine="auto" if runner == "engine" else "sweeper")
    db = Database(make_engine(db_url), info=session_info(settings))
    with db.write() as s:
        s.execute(sa.text("CREATE TABLE IF NOT EXISTS fault_fired (subject VARCHAR(100) NOT NULL)"))
        s.execute(sa.text("DELETE FROM fault_fired"))
    now = datetime.now(UTC)
    with db.write() as s:
        schedule_many(s, [(KIND, f"t:{i}", now - timedelta(seconds=1), {}) for i in range(N)])
        for i in range(N):  # each also a job of the engine, when it runs
            enqueue(s, f"m:{i}", "webhook", {"text": f"message {i}"}, now=now)
    _Receiver.got = Counter()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    webhook = f"http://127.0.0.1:{server.server_address[1]}/hook"
    forked = multiprocessing.get_context("fork")
    try:
        target, kwargs = (_engine_worker, {}) if runner == "engine" else (_worker, {"batch": 100})
        # First kill: in the middle of the timers.
        one = forked.Process(target=target, args=(db_url, webhook), kwargs=kwargs)
        one.start()
        _kill_when(one, lambda: _count(db, "SELECT count(*) FROM fault_fired") >= 300)
        # Second kill: a fresh worker (the dead one's claims are not stale yet: it takes the rest),
        # killed in the middle of the messages.
        two = forked.Process(target=target, args=(db_url, webhook), kwargs=kwargs)
        two.start()
        _kill_when(two, lambda: sum(_Receiver.got.values()) >= 400)
        if runner == "engine":  # the dead workers' jobs, retried once their heartbeats are stale
            # (by this round, or already by a live worker's minutely backstop)
            _engine_recovers(db_url, webhook)
        else:  # a worker whose clock is past the claims' five stale minutes takes over the rest
            _worker(db_url, webhook, batch=100, clock_shift_s=600, forever=False)
    finally:
        server.shutdown()
        server.server_close()
    fired = _count(db, "SELECT count(*) FROM fault_fired")
    distinct = _count(db, "SELECT count(DISTINCT subject) FROM fault_fired")
    assert (fired, distinct) == (N, N)  # every timer's effect, once
    with db.read() as s:
        assert (
            s.scalar(sa.text(f"SELECT count(*) FROM timers WHERE kind = '{KIND}' AND done_at IS NULL")) == 0
        )
        assert s.scalar(sa.select(sa.func.count()).select_from(OUTBOX).where(OUTBOX.c.sent_at.is_(None))) == 0
    assert set(_Receiver.got) == {f"m:{i}" for i in range(N)}  # every message arrived
    resends = sum(_Receiver.got.values()) - N
    # At most the ones in flight at each kill (sent, not yet marked) come twice: one for the
    # sweeper, one per concurrent job for the engine. The receiver's key drops them.
    in_flight = settings.worker_concurrency if runner == "engine" else 1
    assert 0 <= resends <= 2 * in_flight, _Receiver.got.most_common(3)
    print(f"{runner}: {resends} resends in {N} messages over two kills")
    with db.write() as s:
        s.execute(sa.text("DROP TABLE fault_fired"))
    if runner == "engine":  # every job done and gone (a done job is deleted)
        assert _count(db, PENDING_WORK) == 0
    db.dispose()


def test_a_claimed_timer_that_moved_or_was_cancelled_does_nothing(db: Database) -> None:
    fired: list[str] = []
    now = datetime.now(UTC)

    def record(session: Session, due: Due, at: datetime) -> list[Any]:
        fired.append(due.subject)
        return []

    with db.write() as s:
        for subject in ("stays", "moves", "cancelled"):
            schedule(s, KIND, subject, now - timedelta(minutes=1))
    with db.write() as s:
        claimed = claim(s, now=now, limit=10, stale_after=timedelta(minutes=5))
    assert sorted(d.subject for d in claimed) == ["cancelled", "moves", "stays"]
    with db.write() as s:  # meanwhile: a new activity pushes one back, a first touch stops another
        schedule(s, KIND, "moves", now + timedelta(hours=1))
        cancel(s, KIND, "cancelled", now=now)
    worker = Worker(db, lambda: now, {KIND: record})
    ran = [worker._run(d, now) for d in claimed]  # the sweeper gets to what it claimed
    assert fired == ["stays"] and sorted(ran) == [0, 0, 1]
    with db.read() as s:
        moved = s.execute(
            sa.text(f"SELECT due_at, done_at FROM timers WHERE subject = 'moves' AND kind = '{KIND}'")
        ).one()
    assert moved.done_at is None  # still waiting for its new time


def test_a_stopping_worker_finishes_the_timer_in_hand_and_gives_the_rest_back(db: Database) -> None:
    now = datetime.now(UTC)
    stop = threading.Event()
    fired: list[str] = []

    def record_then_stop(session: Session, due: Due, at: datetime) -> list[Any]:
        fired.append(due.subject)
        stop.set()  # SIGTERM arrives while the first timer runs
        return []

    with db.write() as s:
        schedule_many(s, [(KIND, f"s:{i}", now - timedelta(seconds=1), {}) for i in range(5)])
    Worker(db, lambda: now, {KIND: record_then_stop}, stop=stop).run_once()
    assert len(fired) == 1
    with db.read() as s:
        waiting = s.execute(
            sa.text(
                f"SELECT count(*), count(claimed_at) FROM timers WHERE kind = '{KIND}' AND done_at IS NULL"
            )
        ).one()
    assert tuple(waiting) == (4, 0)  # given back, not left claimed for five minutes
    # The next worker takes them at once.
    Worker(db, lambda: now, {KIND: lambda s, d, at: fired.append(d.subject) or []}).run_once()
    assert len(fired) == len(set(fired)) == 5


def test_sigterm_stops_the_worker_command_cleanly(db_url: str) -> None:
    env = {**os.environ, "LEADLOOP_DATABASE_URL": db_url, "LEADLOOP_SWEEP_INTERVAL_S": "30"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "leadloop.cli", "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # started (a sweep or a job may be under way)
    assert b"sweeping every" in first or b"working on procrastinate" in first, first
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)  # not the 30 s sweep interval: the wait ends at once
    assert proc.returncode == 0 and b"stopped" in out, out
