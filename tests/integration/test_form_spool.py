"""The web form's durable intake (capture/spool.py) and its lane (capture/lane.py), on both databases:
batches land exactly once, a submission that cannot land waits with its error while the rest land,
and a worker lands what a stopped web process left."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from leadloop.bootstrap import form_landers
from leadloop.capture.lander import RemoteLane
from leadloop.capture.lane import FormLane
from leadloop.capture.spool import LANDED, REFUSED_HERE, Spool, land, land_from, new_submission
from leadloop.core.clock import FrozenClock
from leadloop.jobs.worker import Worker
from leadloop.settings import Settings
from leadloop.store.db import Database
from leadloop.store.tables import Activity, IdempotencyKey, Person
from tests.conftest import count


def _form(i: int, **extra: str) -> dict[str, object]:
    return {
        "email": f"visitor{i}@firm{i}.example",
        "first_name": "Vic",
        "company": f"Firm {i}",
        "activity_type": "form_submit",
        "attributes": {},
        **extra,
    }


def test_a_batch_lands_once_and_leaves_the_spool(db: Database, clock: FrozenClock) -> None:
    spool = Spool.beside(db)
    subs = [
        new_submission(
            {**_form(i), "email_opt_in": i % 2 == 0}, {"form_id": "f"}, consent=i % 2 == 0, now=clock()
        )
        for i in range(6)
    ]
    for s in subs:
        spool.put(s)
    assert spool.waiting() == 6
    taken = spool.claim(now=clock(), limit=50)
    assert sorted(s.id for s in taken) == sorted(s.id for s in subs)
    assert spool.claim(now=clock(), limit=50) == []  # claimed: another lander passes them by
    outcome = land_from(spool, db, taken, now=clock())
    assert outcome == {s.id: LANDED for s in subs} and spool.waiting() == 0
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Person)) == 6
        opted = {e: o for e, o in session.execute(sa.select(Person.email, Person.email_opt_in))}
        assert opted["visitor0@firm0.example"] is True and opted["visitor1@firm1.example"] is False
    # A lander that died after landing but before taking them off: landing again stores nothing.
    assert land(db, subs, now=clock()) == {s.id: LANDED for s in subs}
    assert count(db, Activity) == 6
    assert count(db, IdempotencyKey) == 6


def test_the_same_visitor_twice_in_one_batch_is_one_person_with_two_touches(
    db: Database, clock: FrozenClock
) -> None:
    spool = Spool.beside(db)
    for minutes in (0, 1):
        spool.put(new_submission(_form(1), {}, consent=False, now=clock() + timedelta(minutes=minutes)))
    land_from(spool, db, spool.claim(now=clock(), limit=10), now=clock())
    assert count(db, Person) == 1
    assert count(db, Activity) == 2


def test_one_submission_that_cannot_land_waits_with_its_error_and_the_rest_land(
    db: Database, clock: FrozenClock
) -> None:
    spool = Spool.beside(db)
    good = [new_submission(_form(i), {}, consent=False, now=clock()) for i in range(3)]
    bad = new_submission({"email": "no-at-sign", "attributes": {}}, {}, consent=False, now=clock())
    for s in [*good, bad]:
        spool.put(s)
    outcome = land_from(spool, db, spool.claim(now=clock(), limit=10), now=clock())
    assert outcome == {s.id: LANDED for s in good}
    assert count(db, Person) == 3
    assert spool.waiting() == 1
    assert spool.claim(now=clock(), limit=10) == []  # backing off
    later = spool.claim(now=clock() + timedelta(minutes=2), limit=10)
    assert [s.id for s in later] == [bad.id]
    with spool.db.read() as session:
        error = session.scalar(sa.text("SELECT error FROM form_intake"))
    assert error is not None and "email" in error


def test_an_erased_persons_form_is_dropped_and_said_so(db: Database, clock: FrozenClock) -> None:
    from leadloop.privacy.erase import erase_person

    spool = Spool.beside(db)
    first = new_submission(_form(7), {}, consent=False, now=clock())
    spool.put(first)
    land_from(spool, db, spool.claim(now=clock(), limit=10), now=clock())
    with db.write() as session:
        pid = session.scalar(sa.select(Person.id))
        assert pid is not None
        erase_person(session, pid, now=clock(), by_user_id=None)
    again = new_submission(_form(7), {}, consent=False, now=clock())
    spool.put(again)
    assert land_from(spool, db, spool.claim(now=clock(), limit=10), now=clock()) == {again.id: REFUSED_HERE}
    assert spool.waiting() == 0


def test_the_lane_lands_what_is_handed_to_it(db: Database, clock: FrozenClock) -> None:
    spool = Spool.beside(db)
    lane = FormLane(spool, db, clock, idle_s=0.05)
    lane.start()
    try:
        subs = [new_submission(_form(i), {}, consent=False, now=clock()) for i in range(5)]
        futures = []
        for s in subs:
            spool.put(s)
            futures.append(lane.submit(s))
        assert [f.result(timeout=60) for f in futures] == [LANDED] * 5
    finally:
        lane.stop()
    assert count(db, Person) == 5 and spool.waiting() == 0


def test_a_worker_lands_what_a_stopped_web_process_left(db: Database, clock: FrozenClock) -> None:
    spool = Spool.beside(db)
    spool.put(new_submission(_form(3), {}, consent=False, now=clock()))
    settings = Settings(database_url=str(db.engine.url))
    Worker(db, clock, {}, landers=form_landers(settings, db)).run_once()
    assert count(db, Person) == 0  # fresh: a web process's lane lands it
    clock.advance(minutes=1)
    Worker(db, clock, {}, landers=form_landers(settings, db)).run_once()
    assert count(db, Person) == 1 and spool.waiting() == 0


def test_a_lander_process_lands_and_tells_the_web_process(sqlite_db: Database, clock: FrozenClock) -> None:
    """`leadloop serve` on SQLite lands in a `leadloop lander` process beside it (capture/lander.py):
    the request's future resolves when its submission landed there; stopping lands what waits."""
    spool = Spool.beside(sqlite_db)
    assert spool.separate
    lane = RemoteLane(spool, sqlite_db, clock, str(sqlite_db.engine.url))
    lane.start()
    try:
        assert lane.running and not lane.quiet  # the web process's event loop never lands
        subs = [new_submission(_form(i), {}, consent=False, now=clock()) for i in range(3)]
        futures = []
        for s in subs:
            spool.put(s)
            futures.append(lane.submit(s))
        assert [f.result(timeout=60) for f in futures] == [LANDED] * 3
        last = new_submission(_form(9), {}, consent=False, now=clock())
        spool.put(last)
    finally:
        lane.stop()
    assert not lane.running
    assert count(sqlite_db, Person) == 4 and spool.waiting() == 0
