"""Timers are rows and a sweeper runs them: on SQLite and PostgreSQL, with a moving clock and no
record ever saved by hand; each timer runs once even with several sweepers; a failing handler is
retried without stopping the others; decay crossings and scheduled retraining are timers."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.bootstrap import timer_handlers
from leadloop.core.clock import FrozenClock
from leadloop.core.events import Event, LeadCooled
from leadloop.jobs.timers import TIMERS, Due, pending, schedule
from leadloop.jobs.worker import Worker
from leadloop.scoring.decay import Decaying, decay_rate, epoch, from_epoch
from leadloop.scoring.jobs import RETRAIN, RETRAIN_SUBJECT, ensure_retrain_scheduled
from leadloop.settings import Settings
from leadloop.store.db import Database
from leadloop.store.tables import Lead, PredictiveModelRow
from tests.fixtures.events import recorded
from tests.fixtures.routing import add_mql
from tests.fixtures.scoring import load_simulated_world, signal_world

RATE = decay_rate(30)


def _mql_lead(db: Database, now: datetime, *, s: float, t0: datetime) -> int:
    with db.write() as session:
        lead_id = add_mql(
            session,
            now=now,
            name="Cooling Co",
            name_key="cooling",
            since=t0,
            engagement_s=s,
            engagement_t0=epoch(t0),
            engagement_key=Decaying(s, epoch(t0)).rank_key(RATE),
        )
        crossing = Decaying(s, epoch(t0)).falls_below_at(60.0, RATE)
        assert crossing is not None
        schedule(session, "lead_cools", f"lead:{lead_id}", from_epoch(crossing), {"threshold": 60.0})
        return lead_id


def test_a_lead_cools_back_to_nurture_when_its_crossing_time_comes(db: Database, clock: FrozenClock) -> None:
    start = clock()
    lead_id = _mql_lead(db, start, s=120.0, t0=start)  # crosses 60 after exactly one half-life
    cooled = recorded(db, LeadCooled)
    worker = Worker(db, clock, timer_handlers(Settings(retrain_every_days=0)))
    clock.advance(days=29, hours=23)
    assert worker.run_once() == 0  # not due yet: nothing happens, nothing is saved
    with db.read() as s:
        assert s.get(Lead, lead_id).stage == "mql"  # type: ignore[union-attr]
    clock.advance(hours=1, seconds=30)
    assert worker.run_once() == 1
    with db.read() as s:
        lead = s.get(Lead, lead_id)
        assert lead is not None and lead.stage == "nurture" and lead.stage_changed_at == clock()
        assert lead.owner_team_id is not None and lead.owner_user_id is None
    assert len(cooled) == 1 and cooled[0].lead_id == lead_id and cooled[0].engagement < 60
    assert worker.run_once() == 0  # done timers never run again


def test_a_lead_that_warmed_again_gets_its_new_crossing_instead(db: Database, clock: FrozenClock) -> None:
    start = clock()
    lead_id = _mql_lead(db, start, s=120.0, t0=start)
    with db.write() as s:  # a new activity lifted the score after the timer was set
        lead = s.get(Lead, lead_id)
        assert lead is not None
        lead.engagement_s, lead.engagement_t0 = 240.0, epoch(start + timedelta(days=10))
    clock.advance(days=30, seconds=1)
    worker = Worker(db, clock, timer_handlers(Settings(retrain_every_days=0)))
    assert worker.run_once() == 1
    with db.read() as s:
        assert s.get(Lead, lead_id).stage == "mql"  # type: ignore[union-attr]
        due = pending(s, "lead_cools", f"lead:{lead_id}")
    expected = start + timedelta(days=10 + 60)  # 240 -> 60 is two half-lives after day 10
    assert due is not None and abs((due - expected).total_seconds()) < 1


def test_each_timer_runs_once_with_several_sweepers(db: Database, clock: FrozenClock) -> None:
    with db.write() as s:
        for i in range(120):
            schedule(s, "probe", f"item:{i}", clock() - timedelta(seconds=i))
    seen: list[str] = []
    lock = threading.Lock()

    def probe(session: Session, due: Due, now: datetime) -> list[Event]:
        with lock:
            seen.append(due.subject)
        return []

    workers = [Worker(db, clock, {"probe": probe}, batch=7) for _ in range(4)]
    threads = [threading.Thread(target=w.run_once) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == sorted(f"item:{i}" for i in range(120))
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(TIMERS).where(TIMERS.c.done_at.is_(None))) == 0


def test_a_failing_handler_is_retried_and_does_not_stop_the_others(db: Database, clock: FrozenClock) -> None:
    with db.write() as s:
        schedule(s, "flaky", "a", clock())
        schedule(s, "steady", "b", clock())
    calls = {"flaky": 0, "steady": 0}

    def flaky(session: Session, due: Due, now: datetime) -> list[Event]:
        calls["flaky"] += 1
        if calls["flaky"] == 1:
            raise RuntimeError("the mail server is down")
        return []

    def steady(session: Session, due: Due, now: datetime) -> list[Event]:
        calls["steady"] += 1
        return []

    worker = Worker(db, clock, {"flaky": flaky, "steady": steady}, stale_after=timedelta(minutes=5))
    assert worker.run_once() == 1 and calls == {"flaky": 1, "steady": 1}
    clock.advance(minutes=1)
    assert worker.run_once() == 0  # still claimed by the attempt that failed
    clock.advance(minutes=5)
    assert worker.run_once() == 1 and calls == {"flaky": 2, "steady": 1}


@pytest.mark.slow
def test_retraining_is_a_timer_that_arms_the_next_run(db: Database, clock: FrozenClock) -> None:
    settings = Settings(retrain_every_days=7)
    worker = Worker(db, clock, timer_handlers(settings))
    with db.write() as s:  # an empty warehouse: the run says why it skipped, and tries again later
        ensure_retrain_scheduled(s, now=clock(), every=timedelta(days=7))
    assert worker.run_once() == 1
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(PredictiveModelRow)) == 0
        assert pending(s, RETRAIN, RETRAIN_SUBJECT) == clock() + timedelta(days=7)
    load_simulated_world(db, clock)
    clock.advance(days=7)
    assert worker.run_once() >= 1  # the retrain, and whichever leads cooled meanwhile
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(PredictiveModelRow)) == 1
        report = s.scalars(sa.select(PredictiveModelRow.report)).one()
        assert set(report["baselines"]) == {"rules", "recency"} and report["off"] is None
        assert report["people"]["roc_auc"] is not None  # the people's model is retrained with it
        assert s.scalar(sa.select(sa.func.count()).where(Lead.predicted.is_not(None))) > 0
        assert pending(s, RETRAIN, RETRAIN_SUBJECT) == clock() + timedelta(days=7)
    with db.write() as s:  # arming again while one is pending changes nothing
        ensure_retrain_scheduled(s, now=clock(), every=timedelta(days=7))
    with db.read() as s:
        assert pending(s, RETRAIN, RETRAIN_SUBJECT) == clock() + timedelta(days=7)
    with db.write() as s:  # after a restart with nothing pending, the next run follows the latest model
        s.execute(TIMERS.delete())
        ensure_retrain_scheduled(s, now=clock() + timedelta(days=1), every=timedelta(days=7))
    with db.read() as s:
        assert pending(s, RETRAIN, RETRAIN_SUBJECT) == clock() + timedelta(days=7)


@pytest.mark.slow
def test_a_retrain_that_beats_the_baselines_writes_every_leads_probability(
    db: Database, clock: FrozenClock
) -> None:
    signal_world(db, clock)
    worker = Worker(db, clock, timer_handlers(Settings(retrain_every_days=7, facts_every_minutes=0)))
    with db.write() as s:
        ensure_retrain_scheduled(s, now=clock(), every=timedelta(days=7))
    assert worker.run_once() >= 1
    with db.read() as s:
        report = s.scalars(sa.select(PredictiveModelRow.report)).one()
        assert report["off"] is None
        leads = s.scalar(sa.select(sa.func.count()).select_from(Lead))
        assert leads and s.scalar(sa.select(sa.func.count()).where(Lead.predicted.is_not(None))) == leads
