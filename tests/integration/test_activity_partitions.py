"""The activity log on PostgreSQL is partitioned by month (ADR 0043): an existing warehouse is
converted by migration 0037 with every row, id and index kept; a retry is still a no-op across
months (the dedupe ledger); the daily housekeeping makes the months ahead and moves rows that
waited in the default partition into a month made for them. On SQLite: one table, same ledger."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from leadloop.capture.log import append_activities
from leadloop.capture.model import ActivityIn
from leadloop.jobs.housekeeping import Retention, housekeeping_job
from leadloop.jobs.timers import Due
from leadloop.store import partitions
from leadloop.store.db import Database, make_engine
from leadloop.store.migrate import check, downgrade, upgrade

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _where(conn: sa.Connection) -> list[tuple[str, str]]:
    return [
        (str(part), key)
        for part, key in conn.execute(
            sa.text("SELECT tableoid::regclass::text, dedupe_key FROM activities ORDER BY id")
        )
    ]


def test_an_existing_warehouse_is_partitioned_with_every_row_and_back(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("partitions are PostgreSQL's; SQLite keeps one table")
    engine = make_engine(db_url)
    try:
        downgrade(engine, "0036")
        today = datetime.now(UTC).replace(tzinfo=None)
        times = [
            today,
            today - timedelta(days=40),
            today - timedelta(days=5 * 365),
            today + timedelta(days=400),
        ]
        with engine.begin() as c:
            for i, at in enumerate(times):
                c.execute(
                    sa.text(
                        "INSERT INTO activities (dedupe_key, type, occurred_at, recorded_at, source, payload) "
                        "VALUES (:k, 'visit', :at, :at, 'api', '{}')"
                    ),
                    {"k": f"k{i}", "at": at},
                )
        upgrade(engine)
        this, back = (
            partitions.month_of(today.date()),
            partitions.month_of((today - timedelta(days=40)).date()),
        )
        with engine.connect() as c:
            assert partitions.is_partitioned(c)
            assert _where(c) == [
                (partitions.name_of(this), "k0"),
                (partitions.name_of(back), "k1"),
                (partitions.DEFAULT, "k2"),  # five years back: older than the partitions made
                (partitions.DEFAULT, "k3"),  # over a year ahead
            ]
            assert c.execute(
                sa.text("SELECT dedupe_key, activity_id FROM activity_keys ORDER BY 2")
            ).all() == [
                ("k0", 1),
                ("k1", 2),
                ("k2", 3),
                ("k3", 4),
            ]
            have = partitions.existing(c)
        ahead = this
        for _ in range(partitions.AHEAD_MONTHS):
            ahead = partitions.next_month(ahead)
        assert (
            partitions.name_of(ahead) in have
            and len(have) == partitions.HISTORY_MONTHS + partitions.AHEAD_MONTHS + 2
        )
        check(engine)  # the models and the migrated schema agree
        with engine.begin() as c:  # the id sequence carried over: a new row takes the next id
            new_id = c.scalar(
                sa.text(
                    "INSERT INTO activities (dedupe_key, type, occurred_at, recorded_at, source, payload) "
                    "VALUES ('k4', 'visit', now(), now(), 'api', '{}') RETURNING id"
                )
            )
        assert new_id == 5
        downgrade(engine, "0036")  # and back to one table, every row kept
        with engine.connect() as c:
            assert not partitions.is_partitioned(c)
            assert [k for _, k in _where(c)] == ["k0", "k1", "k2", "k3", "k4"]
    finally:
        upgrade(engine)
        engine.dispose()


def test_a_retry_in_another_month_is_still_one_activity(db: Database) -> None:
    item = ActivityIn(type="visit", occurred_at=NOW - timedelta(days=70), external_id="visit-1")
    with db.write() as s:
        first = append_activities(s, [item], [(None, None)], now=NOW, source="api")
    later = ActivityIn(type="visit", occurred_at=NOW, external_id="visit-1")  # a retry, re-dated
    with db.write() as s:
        again = append_activities(s, [later, later], [(None, None), (None, None)], now=NOW, source="api")
    assert [o.status for o in first.outcomes] == ["created"]
    assert [o.status for o in again.outcomes] == ["duplicate", "duplicate"]
    assert {o.id for o in again.outcomes} == {first.outcomes[0].id}
    with db.read() as s:
        assert s.scalar(sa.text("SELECT count(*) FROM activities")) == 1


def test_housekeeping_makes_the_months_ahead_and_moves_waiting_rows_in(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("partitions are PostgreSQL's")
    later = datetime.now(UTC) + timedelta(days=31 * 5)  # beyond the months made so far
    with db.write() as s:
        append_activities(
            s,
            [ActivityIn(type="visit", occurred_at=later, external_id="v")],
            [(None, None)],
            now=NOW,
            source="api",
        )
    with db.read() as s:
        assert _where(s.connection()) == [(partitions.DEFAULT, "ext:v")]
    job = housekeeping_job(Retention())
    with db.write() as s:  # five months on: housekeeping makes that month, and the row moves in
        job(s, Due(0, "housekeeping", "tables", later, {}), later)
    with db.read() as s:
        assert _where(s.connection()) == [(partitions.name_of(partitions.month_of(later.date())), "ext:v")]
        assert partitions.name_of(
            partitions.next_month(partitions.month_of(later.date()))
        ) in partitions.existing(s.connection())


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2200, 1, 1)), st.integers(0, 40))
def test_months_are_consecutive_and_cover_the_range(first: date, span: int) -> None:
    last = first + timedelta(days=span * 30)
    got = partitions.months(first, last)
    assert got[0] == partitions.month_of(first) and got[-1] == partitions.month_of(last)
    assert all(partitions.next_month(a) == b for a, b in itertools.pairwise(got))
    assert all(m.day == 1 for m in got)
