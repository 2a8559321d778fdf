"""The attribution report from the database equals a brute-force reference written in plain
Python over the rows (tests/fixtures/attribution_reference.py), on a simulated world with touches before the window and after the close, an
opportunity with no touches, a merged person, machine opens, imports and calls that must not count,
and two currencies; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from leadloop.analytics.attribution import MODELS
from leadloop.analytics.attribution_queries import load
from leadloop.analytics.attribution_report import attribution_report
from leadloop.core.errors import InvalidInput
from leadloop.store.db import Database, make_engine
from leadloop.store.migrate import downgrade, upgrade
from leadloop.store.tables import Opportunity
from tests.fixtures.attribution import NOW, attribution_world
from tests.fixtures.attribution_reference import WINDOW, reference


@pytest.mark.parametrize("by", ["campaign", "channel", "content"])
def test_the_report_equals_the_reference(db: Database, by: str) -> None:
    attribution_world(db)
    with db.read() as s:
        got = attribution_report(s, now=NOW, by=by)
    want = reference(db, models=list(MODELS), by=by)
    assert got == want
    assert {r.currency for r in got} == {"EUR", "USD"}
    assert any(r.group == "(no touches)" and r.revenue["linear"] + r.pipeline["linear"] > 0 for r in got)


def test_a_period_and_a_campaign_filter_agree_with_thereference(db: Database) -> None:
    attribution_world(db)
    start, end = (NOW - timedelta(days=120)).date(), (NOW - timedelta(days=20)).date()
    with db.read() as s:
        got = attribution_report(
            s, now=NOW, by="channel", start=start, end=end, campaign="c-1", models=["markov", "linear"]
        )
    assert got == reference(
        db, models=["markov", "linear"], by="channel", start=start, end=end, campaign="Paid search"
    )
    assert got and all(r.group != "(no touches)" for r in got)


def test_every_model_hands_out_each_currency_in_full(db: Database) -> None:
    attribution_world(db)
    with db.read() as s:
        rows = attribution_report(s, now=NOW)
        totals = defaultdict(Decimal)
        for o in s.scalars(sa.select(Opportunity).where(Opportunity.outcome == "won")):
            totals[o.currency or "USD"] += o.amount or 0
    for m in MODELS:
        per_currency = defaultdict(Decimal)
        for r in rows:
            per_currency[r.currency] += r.revenue[m]
        assert per_currency == totals


def test_after_the_close_and_the_merged_away_person(db: Database) -> None:
    facts = attribution_world(db)
    with db.read() as s:
        loaded = load(s, now=NOW, start=None, end=None, window=WINDOW, default_currency="USD")
    seen = [t for ts in loaded.touches.values() for t in ts]
    assert facts["after"] not in {t.id for t in loaded.touches[facts["won"]]}
    moved = [t for t in seen if t.id == facts["merged_activity"]]
    assert moved and all(t.person_id == facts["survivor"] for t in moved)
    assert all(t.person_id != facts["merged"] for t in seen)
    # one touch per activity per opportunity: nothing doubled by the merge
    for ts in loaded.touches.values():
        assert len({t.id for t in ts}) == len(ts)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": date(2026, 5, 2), "end": date(2026, 5, 1)}, "ends (2026-05-01) before it starts"),
        ({"campaign": "Winter gala"}, "no campaign 'Winter gala'"),
        ({"models": ["shapley"]}, "unknown attribution model 'shapley'"),
        ({"by": "rep"}, "group by one of campaign, channel, content"),
    ],
)
def test_bad_input_is_named(db: Database, kwargs: dict[str, object], message: str) -> None:
    with db.read() as s, pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        attribution_report(s, now=NOW, **kwargs)  # type: ignore[arg-type]


def test_an_empty_warehouse_gives_no_rows(db: Database) -> None:
    with db.read() as s:
        assert attribution_report(s, now=NOW) == []


def test_migration_0028_adds_the_currency_and_takes_it_back(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        downgrade(engine, "0027")
        assert "currency" not in {c["name"] for c in sa.inspect(engine).get_columns("opportunities")}
        upgrade(engine)
        assert "currency" in {c["name"] for c in sa.inspect(engine).get_columns("opportunities")}
    finally:
        upgrade(engine)
        engine.dispose()
