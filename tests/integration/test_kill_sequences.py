"""`kill -9` of the worker at random moments while it takes people's steps and sends their e-mail
to a real SMTP server, over and over; then a last sweep after the dead workers' claims went stale.
Counted at the SMTP server: every step's message arrived, no step was taken twice, nothing arrived
that no step sent. A kill between the SMTP server's "250 OK" and the outbox marking the row sent
can make the server see that one message again, with the same Message-ID (the receiver's way to
drop it, RFC 5322): at most one such resend per message in flight at the kill (one for the
sweeper, which sends one at a time; the job engine's concurrency on PostgreSQL), never a second
step."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadloop.core.clock import FrozenClock, utcnow
from leadloop.jobs.announce import uses_engine
from leadloop.jobs.outbox import message_id
from leadloop.nurture import handlers as nurture
from leadloop.settings import Settings
from leadloop.store.db import Database
from leadloop.store.tables import Enrolment, NurtureSend, Outbox
from tests.fixtures.capture import capture_people
from tests.fixtures.nurture import Smtp, activate_sequence, assert_invariant, sequence_text, sweeper

PEOPLE = 60
ROUNDS = 4
STEPS = """\
  - id: one
    email: {subject: One, text: First.}
  - wait: {hours: 0.001}
  - id: two
    email: {subject: Two, text: Second.}
  - wait: {hours: 0.001}
  - id: three
    email: {subject: Three, text: Third.}
"""


@pytest.mark.slow
def test_kill_minus_nine_at_random_moments_neither_loses_nor_repeats_a_step(
    db: Database, db_url: str, smtp_server: Smtp, tmp_path: Path
) -> None:
    seed = int(os.environ.get("LEADLOOP_KILL_SEED", random.randrange(1_000_000)))
    rng = random.Random(seed)
    clock = FrozenClock(utcnow())
    with db.write() as s:
        activate_sequence(s, sequence_text("drip", STEPS), clock=clock)
    rows = [{"email_opt_in": "true", "email": f"p{i}@kill{i}.example"} for i in range(PEOPLE)]
    people = [int(o.id) for o in capture_people(db, clock, *rows, kind=None)]
    with db.write() as s:
        assert (
            len(nurture.enrol(s, "drip", [(p, None) for p in people], trigger="manual", now=clock()).enrolled)
            == PEOPLE
        )
    env = {
        **os.environ,
        "LEADLOOP_SMTP_PORT": str(smtp_server.port),
        "LEADLOOP_SWEEP_INTERVAL_S": "0.02",
        "LEADLOOP_NURTURE_MAX_EMAILS": "100",
        "LEADLOOP_RETRAIN_EVERY_DAYS": "0",
        "LEADLOOP_LOG_LEVEL": "WARNING",
        "LEADLOOP_WORKER_CONCURRENCY": "4",
    }
    in_flight = 4 if uses_engine(Settings(database_url=db_url)) else 1  # messages a kill can cut short
    cmd = [sys.executable, "-m", "leadloop.cli", "worker", "--database-url", db_url]
    kills, started = 0, time.monotonic()
    log = tmp_path / "worker.log"
    with open(log, "ab") as err:
        for _ in range(ROUNDS):
            before = len(smtp_server.inbox.messages)
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
            deadline = time.monotonic() + 30  # a cold start imports for seconds on a busy machine
            while len(smtp_server.inbox.messages) == before and time.monotonic() < deadline:
                assert proc.poll() is None, log.read_text()[-2000:]
                time.sleep(0.01)
            idle = len(smtp_server.inbox.messages) == before  # what is left waits behind stale claims
            if not idle:  # somewhere in the middle of a burst: after a random number of its messages
                target, until = before + rng.randint(1, PEOPLE - 1), time.monotonic() + 5
                while len(smtp_server.inbox.messages) < target and time.monotonic() < until:
                    time.sleep(0.001)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            print(
                f"kill {kills} at {time.monotonic() - started:.1f} s: {len(smtp_server.inbox.messages)} received"
            )
            if idle:
                break
    killed_mid_way = len(smtp_server.inbox.messages)
    # The dead workers' claims go stale: a worker later than that takes over and finishes.
    later = FrozenClock(utcnow() + timedelta(minutes=10))
    worker = sweeper(db, later, Settings(smtp_port=smtp_server.port, nurture_max_emails=100))
    for _ in range(60):
        worker.run_once()
        with db.read() as s:
            left = s.scalar(
                sa.select(sa.func.count()).select_from(Enrolment).where(Enrolment.state == "active")
            )
            unsent = s.scalar(sa.select(sa.func.count()).select_from(Outbox).where(Outbox.sent_at.is_(None)))
        if not left and not unsent:
            break
        later.advance(seconds=2)
    with db.read() as s:
        keys = list(s.scalars(sa.select(NurtureSend.outbox_key)))
        per_enrolment = Counter(s.scalars(sa.select(NurtureSend.enrolment_id)))
        states = Counter(s.scalars(sa.select(Enrolment.state)))
    received = Counter(str(m["Message-ID"]) for m in smtp_server.inbox.messages)
    context = f"seed {seed}, {kills} kills, {killed_mid_way} messages before the last sweep"
    assert states == {"completed": PEOPLE}, context
    assert len(keys) == 3 * PEOPLE and set(per_enrolment.values()) == {3}, context  # every step once
    assert set(received) == {message_id(k) for k in keys}, context  # none lost, none made up
    resent = sum(n - 1 for n in received.values())
    print(f"{context}; {resent} resent with the same Message-ID; {time.monotonic() - started:.1f} s")
    assert resent <= kills * in_flight, context
    assert 0 < killed_mid_way < 3 * PEOPLE, f"the kills must land while the worker sends ({context})"
    assert_invariant(db)
