"""Attribution's credits kept per opportunity (ADR 0048): after the facts' refresh, attribution and
ROI read the kept credits and give what the brute-force reference gives from every row, for every
grouping, a period and a campaign filter; an incremental refresh after new touches (one of them dated
last year), a changed amount, a close moved three days earlier, an opportunity lost then won, one moved to another account leaves the credits as a full
rebuild writes them; a non-default window still reads the log. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from leadloop.analytics import credits
from leadloop.analytics.attribution import DEFAULT_HALF_LIFE, DEFAULT_WINDOW, MODELS
from leadloop.analytics.attribution_queries import load
from leadloop.analytics.attribution_report import attribution_report, kept, rollup
from leadloop.analytics.facts import refresh
from leadloop.analytics.filters import Money, ReportFilters, resolve
from leadloop.analytics.roi import _influence, _kept, roi_report
from leadloop.privacy.erase import erase_person
from leadloop.store.db import Database
from leadloop.store.tables import CREDIT_CUBE, OPP_CREDITS, OPP_PATHS, Activity, Campaign, Opportunity, Person
from tests.fixtures.attribution import NOW, attribution_world
from tests.fixtures.attribution_reference import reference


def _refresh(db: Database, *, at: Any = NOW, full: bool = False) -> None:
    with db.write() as s:
        refresh(s, now=at, full=full)


def _tables(db: Database) -> tuple[list[Any], ...]:
    """The credits, their day and month rollup and the paths."""
    with db.read() as s:
        return tuple(
            sorted(tuple(r) for r in s.execute(sa.select(t))) for t in (OPP_CREDITS, CREDIT_CUBE, OPP_PATHS)
        )


@pytest.mark.parametrize("by", ["campaign", "channel", "content"])
def test_the_kept_credits_give_the_reference(db: Database, by: str) -> None:
    attribution_world(db)
    _refresh(db, full=True)
    with db.read() as s:
        assert credits.answers(s, window=DEFAULT_WINDOW, half_life=DEFAULT_HALF_LIFE)
        fast = kept(s, models=list(MODELS), by=by, start=None, end=None, campaign=None)
        assert attribution_report(s, now=NOW, by=by) == fast  # the report takes the kept path
        logged = load(s, now=NOW, start=None, end=None, window=DEFAULT_WINDOW, default_currency="USD")
        assert rollup(logged.opps, logged.touches, models=list(MODELS), by=by) == fast  # and the log's
    assert fast == reference(db, models=list(MODELS), by=by)
    assert {r.currency for r in fast} == {"EUR", "USD"}
    assert any(r.group == "(no touches)" for r in fast)


def test_a_period_a_campaign_and_one_model_from_the_kept_credits(db: Database) -> None:
    attribution_world(db)
    _refresh(db, full=True)
    start, end = (NOW - timedelta(days=120)).date(), (NOW - timedelta(days=20)).date()
    with db.read() as s:
        both = attribution_report(
            s, now=NOW, by="channel", start=start, end=end, campaign="c-1", models=["markov", "linear"]
        )
        markov_only = attribution_report(s, now=NOW, by="campaign", start=start, models=["markov"])
    assert both and all(r.group != "(no touches)" for r in both)
    assert both == reference(
        db, models=["markov", "linear"], by="channel", start=start, end=end, campaign="Paid search"
    )
    assert markov_only == reference(db, models=["markov"], by="campaign", start=start)


def test_another_window_reads_the_log(db: Database) -> None:
    attribution_world(db)
    _refresh(db, full=True)
    with db.read() as s:
        assert not credits.answers(s, window=timedelta(days=30), half_life=DEFAULT_HALF_LIFE)
        short = attribution_report(s, now=NOW, window=timedelta(days=30))
        default = attribution_report(s, now=NOW)
    assert short != default  # the log, read with the shorter window, finds fewer touches


def _change_the_world(db: Database) -> None:
    later = NOW + timedelta(minutes=1)
    with db.write() as s:
        opps = list(s.scalars(sa.select(Opportunity).where(Opportunity.account_id.is_not(None))))
        open_one = next(o for o in opps if o.outcome == "open")
        lost_one = next(o for o in opps if o.outcome == "lost")
        won = [o for o in opps if o.outcome == "won"]
        campaign = s.scalars(sa.select(Campaign).where(Campaign.name == "Newsletter")).one()
        for o, at, key in (
            (open_one, later - timedelta(seconds=20), "new-open"),  # a touch now, in an open window
            (
                won[0],
                (won[0].closed_at or NOW) - timedelta(days=2),
                "old-import",
            ),  # last year's, imported now
        ):
            person = s.scalars(sa.select(Person.id).where(Person.account_id == o.account_id)).first()
            s.add(
                Activity(
                    dedupe_key=key,
                    person_id=person,
                    account_id=o.account_id,
                    type="webinar_attended",
                    occurred_at=at,
                    recorded_at=later,
                    campaign_id=campaign.id,
                    source="import",
                )
            )
        won[1].amount = Decimal("1234.56")
        assert len(won) >= 4
        won[2].closed_at = (won[2].closed_at or NOW) - timedelta(days=3)  # its credits move to another day
        lost_one.outcome, lost_one.closed_at = "won", lost_one.closed_at or NOW - timedelta(days=3)
        won[-1].account_id = open_one.account_id  # relinked to another account


def test_an_incremental_refresh_keeps_the_credits_a_full_rebuild_writes(db: Database) -> None:
    attribution_world(db)
    _refresh(db, full=True)
    before = _tables(db)
    _change_the_world(db)
    later = NOW + timedelta(minutes=1)
    _refresh(db, at=later)
    incremental = _tables(db)
    assert incremental != before
    with db.read() as s:
        got = {by: attribution_report(s, now=later, by=by) for by in ("campaign", "channel", "content")}
    for by, rows in got.items():
        assert rows == reference(db, models=list(MODELS), by=by, now=later)
    _refresh(db, at=later, full=True)
    assert _tables(db) == incremental


def test_roi_from_the_kept_credits_equals_roi_from_the_log(db: Database) -> None:
    attribution_world(db)
    _refresh(db, full=True)
    money = Money("USD", {"EUR": Decimal("1.08")})
    for filters in (ReportFilters(), ReportFilters(start=(NOW - timedelta(days=90)).date())):
        with db.read() as s:
            scope = resolve(s, filters)
            fast = _kept(s, scope)
            slow = _influence(s, scope, now=NOW, window=DEFAULT_WINDOW, currency="USD")
            rows = roi_report(s, now=NOW, filters=filters, money=money)
        assert [{k: dict(v) for k, v in x.items()} for x in fast] == [
            {k: dict(v) for k, v in x.items()} for x in slow
        ]
        assert any(r.revenue for r in rows)


def test_a_campaign_s_new_channel_and_an_erasure_reach_the_kept_credits(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Neither adds a touch nor changes an opportunity: a changed channel rebuilds the credits at the
    next refresh; an erasure (the query of the person's page addresses goes) writes their accounts'
    credits again at once. (No overlap of activity ids: this small world would be taken again whole.)"""
    monkeypatch.setattr(credits, "OVERLAP", 0)
    attribution_world(db)
    with db.write() as s:
        o = s.scalars(
            sa.select(Opportunity).where(Opportunity.outcome == "won", Opportunity.account_id.is_not(None))
        ).first()
        assert o is not None and o.closed_at is not None
        who = s.scalars(
            sa.select(Person.id).where(Person.account_id == o.account_id, Person.merged_into_id.is_(None))
        ).first()
        s.add(Activity(dedupe_key="secret-url", person_id=who, account_id=o.account_id, type="page_view",
                       occurred_at=o.closed_at - timedelta(days=1), recorded_at=NOW,
                       url="/pricing?email=jane%40acme.example", source="import"))  # fmt: skip
    _refresh(db, full=True)
    with db.write() as s:
        s.scalars(sa.select(Campaign).where(Campaign.name == "Paid search")).one().channel = "search"
    later = NOW + timedelta(minutes=1)
    _refresh(db, at=later)
    with db.read() as s:
        assert attribution_report(s, now=later, by="channel") == reference(
            db, models=list(MODELS), by="channel", now=later
        )
        contents = " ".join(str(c) for c in s.execute(sa.select(OPP_PATHS.c.contents)).scalars())
    assert "email=" in contents
    assert who is not None
    with db.write() as s:
        erase_person(s, who, now=later, by_user_id=None)
    with db.read() as s:
        contents = " ".join(str(c) for c in s.execute(sa.select(OPP_PATHS.c.contents)).scalars())
        groups = " ".join(str(g) for g in s.execute(sa.select(OPP_CREDITS.c.grp)).scalars())
        got = attribution_report(s, now=later, by="content")
    assert "email=" not in contents and "email=" not in groups
    assert got == reference(db, models=list(MODELS), by="content", now=later)


def test_an_engagement_stitched_to_its_person_later_reaches_the_kept_credits(db: Database) -> None:
    """A visitor's anonymous page view, logged before a refresh, is linked to the person when they
    identify through an activity of another kind (capture's stitching updates the old row): the
    next incremental refresh credits it as a full rebuild does."""
    attribution_world(db)
    _refresh(db, full=True)
    with db.write() as s:
        opp = s.scalars(sa.select(Opportunity).where(Opportunity.outcome == "open")).first()
        assert opp is not None
        person = s.scalars(
            sa.select(Person).where(Person.account_id == opp.account_id, Person.merged_into_id.is_(None))
        ).first()
        assert person is not None
        pid, acc, at = person.id, opp.account_id, opp.created_at - timedelta(days=2)
        s.execute(
            sa.insert(Activity).values(
                dedupe_key="anon-1",
                visitor_id="V1",
                type="page_view",
                occurred_at=at,
                recorded_at=NOW,
                source="api",
                payload={},
                url="https://example.com/pricing",
            )
        )
    _refresh(db, at=NOW + timedelta(minutes=1))
    with db.write() as s:  # the visitor identifies by a call; the old page view becomes theirs
        s.execute(
            sa.insert(Activity).values(
                dedupe_key="id-1",
                visitor_id="V1",
                person_id=pid,
                account_id=acc,
                type="call",
                occurred_at=at,
                recorded_at=NOW,
                source="api",
                payload={},
            )
        )
        s.execute(
            sa.update(Activity).where(Activity.dedupe_key == "anon-1").values(person_id=pid, account_id=acc)
        )
    _refresh(db, at=NOW + timedelta(minutes=2))
    incremental = _tables(db)
    _refresh(db, at=NOW + timedelta(minutes=3), full=True)
    assert _tables(db) == incremental
