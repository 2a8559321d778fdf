"""The counts rollup (ADR 0047) answers exactly what the facts answer: every measure, grouped by every
dimension the rollup holds, over date ranges that start and end inside months, across months, inside
one month, open at either end, and narrowed by campaign, product and team; the won money likewise.
An incremental refresh leaves the rollup as a full rebuild writes it; a rollup not built yet is not
read. On SQLite and PostgreSQL, on the simulated world of tests/fixtures/reports.py."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from leadloop.analytics import audit, capacity, cube, funnel, sla
from leadloop.analytics.facts import refresh
from leadloop.analytics.filters import Scope, day_start
from leadloop.analytics.slices import where
from leadloop.routing.sla_clocks import clock_query
from leadloop.store.db import Database
from leadloop.store.tables import (
    CUBE_MEASURES,
    LEAD_CUBE,
    LEAD_CUBE_MONEY,
    FactsRefresh,
    Lead,
    LeadFactRow,
    LeadStageChange,
    Opportunity,
)
from tests.fixtures.reports import NOW, move, qualify_one_and_win_one, reports_world

GROUPINGS: list[list[str]] = [
    [],
    ["cohort"],
    ["source"],
    ["campaign"],
    ["product"],
    ["team"],
    ["rep"],
    ["grade"],
    ["rule"],
    ["campaign", "source"],
]


@pytest.fixture
def world(db: Database) -> dict[str, int]:
    facts = reports_world(db)
    with db.write() as s:
        refresh(s, now=NOW, full=True)
    return facts


def _scopes(db: Database, n: int, seed: int) -> list[Scope]:
    with db.read() as s:
        lo, hi = s.execute(
            sa.select(sa.func.min(LeadFactRow.opened_at), sa.func.max(LeadFactRow.opened_at))
        ).one()
        campaigns = sorted({c for c in s.scalars(sa.select(LeadFactRow.campaign_id)) if c is not None})
        products = sorted(set(s.scalars(sa.select(LeadFactRow.product))))
        teams = sorted({t for t in s.scalars(sa.select(LeadFactRow.team_id)) if t is not None})
    rnd = random.Random(seed)
    span = (hi - lo).days + 2
    out = [Scope()]
    first = lo.date().replace(day=1)
    for m in range(0, (hi - lo).days // 28 + 2, 3):  # month edges, on purpose
        start = (first + timedelta(days=31 * m)).replace(day=1)
        following = (start + timedelta(days=32)).replace(day=1)
        out += [
            Scope(since=day_start(start)),  # from the 1st
            Scope(until=day_start(following)),  # to the end of a month
            Scope(since=day_start(start), until=day_start(following)),  # one whole month
            Scope(since=day_start(start), until=day_start(start + timedelta(days=1))),  # the 1st alone
            Scope(
                since=day_start(following - timedelta(days=1)), until=day_start(following + timedelta(days=1))
            ),
        ]
    december = date(lo.year, 12, 20)  # across a year's end
    out.append(Scope(since=day_start(december), until=day_start(december + timedelta(days=25))))
    for _ in range(n):
        a = (lo + timedelta(days=rnd.randrange(-1, span))).date()
        b = a + timedelta(days=rnd.choice([0, 1, 5, 17, 31, 45, 90, 200]))
        since = None if rnd.random() < 0.15 else day_start(a)
        until = None if rnd.random() < 0.15 else day_start(b + timedelta(days=1))
        out.append(
            Scope(
                since=since,
                until=until,
                campaign_id=rnd.choice([None, None, *campaigns]),
                product=rnd.choice([None, None, *products]),
                team_id=rnd.choice([None, None, *teams]),
            )
        )
    return out


def test_the_rollup_answers_what_the_facts_answer(db: Database, world: dict[str, int]) -> None:
    scopes = _scopes(db, 60, seed=3)
    some = 0
    with db.read() as s:
        assert cube.built(s)
        for scope in scopes:
            for keys in GROUPINGS:
                want = cube.totals(s, scope, keys, CUBE_MEASURES, facts=True)
                got = cube.totals(s, scope, keys, CUBE_MEASURES)
                assert got == want, (scope, keys)
                some += bool(want.rows)
                assert cube.handed_won_money(s, scope, keys) == cube.handed_won_money(
                    s, scope, keys, facts=True
                ), (scope, keys)
    assert some > len(scopes)  # most ranges hold leads: the comparison is not of empty answers


def test_a_range_inside_one_month_and_one_across_months_count_each_lead_once(
    db: Database, world: dict[str, int]
) -> None:
    with db.read() as s:
        days = sorted(s.scalars(sa.select(LeadFactRow.opened_at)))
        everything = cube.totals(s, Scope(), [], ["leads"]).get(())["leads"]
        assert everything == len(days)
        middle = days[len(days) // 2].date()
        first_half = Scope(until=day_start(middle))
        second_half = Scope(since=day_start(middle))
        halves = [cube.totals(s, x, [], ["leads"]).get(())["leads"] for x in (first_half, second_half)]
        assert sum(halves) == everything and all(halves)
        one_day = Scope(since=day_start(middle), until=day_start(middle + timedelta(days=1)))
        assert cube.totals(s, one_day, [], ["leads"]).get(())["leads"] == sum(
            1 for d in days if d.date() == middle
        )


def _rollup(db: Database) -> tuple[list[Any], list[Any]]:
    def rows(t: sa.Table) -> list[Any]:
        with db.read() as s:
            return sorted((tuple(r) for r in s.execute(sa.select(t))), key=repr)

    return rows(LEAD_CUBE), rows(LEAD_CUBE_MONEY)


def test_an_incremental_refresh_leaves_the_rollup_as_a_full_rebuild_writes_it(
    db: Database, world: dict[str, int]
) -> None:
    later = NOW + timedelta(minutes=5)
    with db.write() as s:
        refresh(s, now=NOW + timedelta(minutes=1))
    before = _rollup(db)
    with db.write() as s:
        lead = qualify_one_and_win_one(s, later)
        # a won opportunity moved to a lead opened in another month, and a lead merged away
        won = s.scalars(
            sa.select(Opportunity).where(Opportunity.outcome == "won", Opportunity.lead_id.is_not(None))
        ).first()
        assert won is not None and won.lead_id is not None
        was = s.get(Lead, won.lead_id)
        assert was is not None
        other = next(
            x
            for x in s.scalars(
                sa.select(Lead).where(Lead.stage.not_in(("merged", "won")), Lead.id != lead.id)
            )
            if x.opened_at.strftime("%Y-%m") != was.opened_at.strftime("%Y-%m")
        )
        won.lead_id = other.id
        gone = s.scalars(
            sa.select(Lead).where(Lead.stage == "mql", Lead.id.not_in((lead.id, other.id, was.id)))
        ).first()
        assert gone is not None
        move(s, gone, "merged", later, "merged")
        done = refresh(s, now=later)
    assert not done.full
    incremental = _rollup(db)
    assert incremental != before  # the change reached the rollup
    with db.write() as s:
        refresh(s, now=later, full=True)
    assert _rollup(db) == incremental


def test_a_rollup_not_built_yet_is_not_read(db: Database, world: dict[str, int]) -> None:
    with db.read() as s:
        want = cube.totals(s, Scope(), ["source"], ["leads", "handed"])
    assert want.rows
    with db.write() as s:  # as after migration 0040: facts, no rollup
        s.execute(sa.delete(FactsRefresh).where(FactsRefresh.name == cube.STATE))
        s.execute(LEAD_CUBE.delete())
    with db.read() as s:
        assert not cube.built(s)
        assert cube.totals(s, Scope(), ["source"], ["leads", "handed"]) == want  # read from the facts
    with db.write() as s:  # the next refresh rebuilds it
        assert refresh(s, now=NOW + timedelta(minutes=1)).full
    with db.read() as s:
        assert cube.built(s)
        assert s.scalar(sa.select(sa.func.count()).select_from(LEAD_CUBE))
        assert cube.totals(s, Scope(), ["source"], ["leads", "handed"]) == want


@pytest.mark.parametrize("stage_hours", funnel.HOURS)
def test_sqlite_reads_a_stage_s_durations_from_its_covering_index(
    db: Database, world: dict[str, int], stage_hours: str
) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL plans on its own statistics")
    scope = Scope(since=day_start(NOW.date() - timedelta(days=365)))
    q = funnel.durations("rep", stage_hours, where(scope))
    with db.read() as s:
        plan = " ".join(str(r[-1]) for r in s.execute(sa.text("EXPLAIN QUERY PLAN " + _sql(q, db))))
    assert f"COVERING INDEX ix_lead_facts_{stage_hours}" in plan, plan


def test_sqlite_reads_capacity_s_rep_weeks_from_their_covering_index(
    db: Database, world: dict[str, int]
) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL plans on its own statistics")
    q = capacity.rep_weeks(Scope(since=day_start(NOW.date() - timedelta(days=365))))
    with db.read() as s:
        plan = " ".join(str(r[-1]) for r in s.execute(sa.text("EXPLAIN QUERY PLAN " + _sql(q, db))))
    assert "COVERING INDEX ix_lead_facts_capacity" in plan, plan


def test_sqlite_reads_the_rejection_reasons_from_their_covering_index(
    db: Database, world: dict[str, int]
) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL plans on its own statistics")
    q = audit.reasons("rep", Scope(since=day_start(NOW.date() - timedelta(days=365))))
    with db.read() as s:
        plan = " ".join(str(r[-1]) for r in s.execute(sa.text("EXPLAIN QUERY PLAN " + _sql(q, db))))
    assert "COVERING INDEX ix_lead_facts_rejected_reason" in plan, plan


def test_sqlite_reads_aging_from_its_covering_index(db: Database, world: dict[str, int]) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL plans on its own statistics")
    q = sla.aging_counts(Scope(product="general"), NOW)
    with db.read() as s:
        plan = " ".join(str(r[-1]) for r in s.execute(sa.text("EXPLAIN QUERY PLAN " + _sql(q, db))))
    assert "COVERING INDEX ix_leads_aging" in plan and "TEMP B-TREE" not in plan, plan  # no sort either


def test_sqlite_reads_the_sla_clocks_from_their_covering_index(db: Database, world: dict[str, int]) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL plans on its own statistics")
    q = clock_query(assigned_since=day_start(NOW.date() - timedelta(days=365)))
    with db.read() as s:
        plan = " ".join(str(r[-1]) for r in s.execute(sa.text("EXPLAIN QUERY PLAN " + _sql(q, db))))
    assert "COVERING INDEX ix_leads_sla_clocks" in plan, plan


def _sql(q: sa.Select[Any], db: Database) -> str:
    """The query with its parameters written in, instants as SQLite stores them."""
    compiled = q.compile(db.engine, compile_kwargs={"render_postcompile": True})  # IN lists expanded
    sql = str(compiled)
    params = compiled.construct_params()
    for name in compiled.positiontup or []:
        value = params[name]
        text = f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}" if isinstance(value, datetime) else str(value)
        sql = sql.replace("?", f"'{text}'", 1)
    assert "?" not in sql, sql
    return sql


def test_a_refresh_with_nothing_new_rewrites_nothing_and_a_lead_without_history_gets_facts(
    db: Database, world: dict[str, int]
) -> None:
    """The timer runs every few minutes in the writer's transaction: with nothing new it must not
    derive anything again (a stage change recorded ahead of the clock is taken when its time
    comes, not at every run); a lead loaded without a stage history (an import) is still found."""
    with db.write() as s:  # the world's rows recorded at NOW itself are taken again once (inclusive)
        refresh(s, now=NOW + timedelta(minutes=1))
    with db.write() as s:
        some = s.scalars(sa.select(Lead).where(Lead.stage == "mql")).first()
        assert some is not None
        s.add(
            LeadStageChange(
                lead_id=some.id,
                at=NOW + timedelta(hours=2),
                recorded_at=NOW + timedelta(hours=2),  # a clock ahead
                from_stage="mql",
                to_stage="mql",
                trigger="clock_ahead",
            )
        )
    with db.write() as s:
        done = refresh(s, now=NOW + timedelta(minutes=5))
    assert (done.full, done.leads, done.opportunities) == (False, 0, 0)
    if db.engine.dialect.name == "sqlite":  # PostgreSQL looks again at its last 10,000 activities
        assert done.credited == 0
    with db.write() as s:
        template = s.get(Lead, some.id)
        assert template is not None
        s.execute(
            sa.insert(Lead).values(
                account_id=template.account_id,
                product="imported-product",
                stage="mql",
                opened_at=NOW - timedelta(days=3),
                stage_changed_at=NOW - timedelta(days=3),
                last_activity_at=NOW - timedelta(days=3),
                owner_user_id=template.owner_user_id,
                owner_team_id=None if template.owner_user_id else template.owner_team_id,
                buying_roles=[],
            )
        )
    with db.write() as s:
        done = refresh(s, now=NOW + timedelta(minutes=10))
    assert done.leads == 1
    with db.write() as s:
        done = refresh(s, now=NOW + timedelta(hours=3))  # the change recorded ahead is due now
    assert done.leads == 1
