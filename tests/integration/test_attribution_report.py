"""The attribution report from the database equals a brute-force reference written here in plain
Python over the rows, on a simulated world with touches before the window and after the close, an
opportunity with no touches, a merged person, machine opens, imports and calls that must not count,
and two currencies; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from leadloop.analytics.attribution import MODELS, Opp, Touch, credit
from leadloop.analytics.attribution_queries import load
from leadloop.analytics.attribution_report import AttributionRow, attribution_report
from leadloop.analytics.markov import removal_effects
from leadloop.core.errors import InvalidInput
from leadloop.store.db import Database, make_engine
from leadloop.store.migrate import downgrade, upgrade
from leadloop.store.tables import Activity, Campaign, Lead, Opportunity, Person
from tests.fixtures.attribution import NOW, attribution_world

WINDOW, HALF_LIFE = timedelta(days=180), timedelta(days=7)


def _reference(
    db: Database,
    *,
    models: list[str],
    by: str,
    start: date | None = None,
    end: date | None = None,
    campaign: str | None = None,
) -> list[AttributionRow]:
    """Plain Python over every row: no query but `SELECT *`."""
    with db.read() as s:
        people = {p.id: p for p in s.scalars(sa.select(Person))}
        campaigns = {c.id: c for c in s.scalars(sa.select(Campaign))}
        leads = {x.id: x for x in s.scalars(sa.select(Lead))}
        activities = list(s.scalars(sa.select(Activity)))
        opportunities = list(s.scalars(sa.select(Opportunity)))
    lo = datetime.combine(start, time(), UTC) if start else None
    hi = datetime.combine(end + timedelta(days=1), time(), UTC) if end else None
    engaged = {
        "form_submit", "demo_request", "contact_request", "contact_sales", "pricing_request", "trial_signup",
        "pricing_page_view", "page_view", "content_download", "webinar_registered", "webinar_attended",
        "event_attended", "email_open", "email_click", "email_reply", "chat", "ad_click", "social_engagement",
    }  # fmt: skip
    opps: list[Opp] = []
    touches: dict[int, list[Touch]] = {}
    for o in opportunities:
        when = o.created_at if o.outcome == "open" else (o.closed_at or o.created_at)
        if (lo and when < lo) or (hi and when >= hi):
            continue
        lead = leads.get(o.lead_id) if o.lead_id else None
        opp = Opp(o.id, o.amount or Decimal(0), o.currency or "USD", o.created_at, o.closed_at, o.outcome,  # type: ignore[arg-type]
                  lead.opened_at if lead else None)  # fmt: skip
        opps.append(opp)
        mine = []
        for a in activities:
            p = people.get(a.person_id) if a.person_id else None
            if (
                p is None
                or p.merged_into_id is not None
                or p.account_id != o.account_id
                or o.account_id is None
            ):
                continue
            if a.type not in engaged:
                continue
            if not (o.created_at - WINDOW <= a.occurred_at <= (o.closed_at or NOW)):
                continue
            c = campaigns.get(a.campaign_id) if a.campaign_id else None
            channel = (
                (c.channel if c else None)
                or a.channel
                or {"webinar_attended": "webinar", "ad_click": "paid"}.get(
                    a.type, "web" if a.type != "email_click" else "email"
                )
            )
            mine.append(Touch(a.id, a.occurred_at, c.name if c else None, channel, a.url, p.id, a.type))
        touches[o.id] = sorted(mine, key=lambda t: (t.at, t.id))
    removal = removal_effects(
        ([t.campaign or "(no campaign)" for t in touches[o.id]], o.outcome == "won")
        for o in opps
        if o.outcome != "open"
    )
    label = {"campaign": lambda t: t.campaign or "(no campaign)", "channel": lambda t: t.channel or "(no channel)",
             "content": lambda t: t.content or "(no content)"}[by]  # fmt: skip
    sums: dict[tuple[str, str], dict[str, dict[str, Decimal]]] = defaultdict(
        lambda: {"revenue": defaultdict(Decimal), "pipeline": defaultdict(Decimal)}
    )
    for o in opps:
        if o.outcome == "lost":
            continue
        kind = "revenue" if o.outcome == "won" else "pipeline"
        if not touches[o.id]:
            if campaign is None:
                for m in models:
                    sums[("(no touches)", o.currency)][kind][m] += o.amount
            continue
        for m in models:
            for t, part in zip(
                touches[o.id], credit(m, o, touches[o.id], half_life=HALF_LIFE, removal=removal), strict=True
            ):
                if campaign is None or t.campaign == campaign:
                    sums[(label(t), o.currency)][kind][m] += part
    return sorted(
        (AttributionRow(g, cur, {m: v["revenue"][m] for m in models}, {m: v["pipeline"][m] for m in models})
         for (g, cur), v in sums.items()),
        key=lambda r: (r.currency, -(r.revenue[models[0]] + r.pipeline[models[0]]), r.group),
    )  # fmt: skip


@pytest.mark.parametrize("by", ["campaign", "channel", "content"])
def test_the_report_equals_the_reference(db: Database, by: str) -> None:
    attribution_world(db)
    with db.read() as s:
        got = attribution_report(s, now=NOW, by=by)
    want = _reference(db, models=list(MODELS), by=by)
    assert got == want
    assert {r.currency for r in got} == {"EUR", "USD"}
    assert any(r.group == "(no touches)" and r.revenue["linear"] + r.pipeline["linear"] > 0 for r in got)


def test_a_period_and_a_campaign_filter_agree_with_the_reference(db: Database) -> None:
    attribution_world(db)
    start, end = (NOW - timedelta(days=120)).date(), (NOW - timedelta(days=20)).date()
    with db.read() as s:
        got = attribution_report(
            s, now=NOW, by="channel", start=start, end=end, campaign="c-1", models=["markov", "linear"]
        )
    assert got == _reference(
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
