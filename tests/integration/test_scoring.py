"""Scoring inside capture, on SQLite and PostgreSQL: account-level leads open on engagement, MQL
needs engagement and fit, the decay timer is exact, caps hold across batches."""

from __future__ import annotations

import math
from datetime import timedelta

import sqlalchemy as sa

from leadloop import capture as h
from leadloop.capture import model as m
from leadloop.core.clock import FrozenClock
from leadloop.core.events import ActivitiesAppended, LeadAssigned, LeadMoved, LeadOpened, LeadReachedMQL
from leadloop.scoring.decay import decay_rate, epoch
from leadloop.store.db import Database
from leadloop.store.tables import AccountEngagement, Lead, LeadStageChange, Person, Timer


def _people(db: Database, clock: FrozenClock, *rows: dict[str, str]) -> None:
    with db.write() as s:
        h.upsert_accounts(
            s,
            [
                m.parse_account(
                    {
                        "external_id": "A1",
                        "name": "Acme Software",
                        "domain": "acme.com",
                        "industry": "Software",
                        "employees": "800",
                    }
                )
            ],
            now=clock(),
        )
        h.ingest_people(s, [m.parse_person(r) for r in rows], now=clock(), source="import")


def _acts(db: Database, clock: FrozenClock, *acts: tuple[str, str, int]) -> list[object]:
    """(email, type, minutes before now) -> what happened to leads: opened, MQL, assigned (the
    appended activities and the lifecycle's moves, checked in its stage history, are left out)."""
    items = [
        m.parse_activity(
            {
                "email": e,
                "type": t,
                "occurred_at": (clock() - timedelta(minutes=mins)).isoformat(),
                "product": "analytics",
            },
            now=clock(),
        )
        for e, t, mins in acts
    ]
    with db.write() as s:
        events = h.ingest_activities(s, items, now=clock(), source="api").events
    return [e for e in events if not isinstance(e, (ActivitiesAppended, LeadMoved))]


def test_a_lead_opens_only_when_account_engagement_crosses_the_threshold(
    db: Database, clock: FrozenClock
) -> None:
    _people(
        db,
        clock,
        {"email": "dev@acme.com", "seniority": "Individual Contributor", "department": "Engineering"},
    )
    assert _acts(db, clock, ("dev@acme.com", "pricing_page_view", 30)) == []
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Lead)) == 0
        eng = s.scalars(sa.select(AccountEngagement)).one()
        assert (eng.product, eng.s) == ("analytics", 10.0)
    events = _acts(
        db, clock, ("dev@acme.com", "content_download", 20), ("dev@acme.com", "pricing_page_view", 10)
    )
    assert [type(e) for e in events] == [LeadOpened]
    with db.read() as s:
        lead = s.scalars(sa.select(Lead)).one()
        assert (lead.stage, lead.product, lead.activity_count, lead.source) == (
            "inquiry",
            "analytics",
            3,
            "engagement",
        )
        assert lead.opened_at == clock() - timedelta(minutes=10)  # the moment it crossed, not the batch time


def test_mql_needs_engagement_and_fit_and_sets_an_exact_cooling_timer(
    db: Database, clock: FrozenClock
) -> None:
    _people(
        db,
        clock,
        {"email": "vp@acme.com", "seniority": "VP", "department": "Marketing"},
        {"email": "ops@acme.com", "seniority": "Manager", "department": "Operations"},
    )
    events = _acts(
        db,
        clock,
        ("vp@acme.com", "contact_request", 60),  # not a hand-raise in the model: engagement decides
        ("ops@acme.com", "webinar_attended", 30),
        ("ops@acme.com", "email_reply", 20),
        ("ops@acme.com", "pricing_page_view", 5),
    )
    assert [type(e) for e in events] == [LeadOpened, LeadReachedMQL, LeadAssigned]  # routed at once
    with db.read() as s:  # the lifecycle wrote each move to the lead's stage history
        moves = s.execute(
            sa.select(LeadStageChange.from_stage, LeadStageChange.to_stage, LeadStageChange.trigger).order_by(
                LeadStageChange.id
            )
        ).all()
    assert [tuple(m) for m in moves] == [
        (None, "inquiry", "opened"),
        ("inquiry", "mql", "reached_mql"),
        ("mql", "mql", "routed"),
    ]
    mql = events[1]
    assert isinstance(mql, LeadReachedMQL) and mql.grade == "A" and mql.engagement >= 60
    with db.read() as s:
        lead = s.scalars(sa.select(Lead)).one()
        assert (lead.stage, lead.grade, lead.contact_count, sorted(lead.buying_roles)) == (
            "mql",
            "A",
            2,
            ["decision maker", "manager"],
        )
        assert lead.mql_at == clock() - timedelta(minutes=5)
        timer = s.scalars(sa.select(Timer)).one()
        assert (timer.kind, timer.subject) == ("lead_cools", f"lead:{lead.id}")
        rate = decay_rate(30)
        expected = lead.engagement_t0 + math.log(lead.engagement_s / 60) / rate
        assert abs(epoch(timer.due_at) - expected) < 1e-3
        vp = s.scalar(sa.select(Person).where(Person.email == "vp@acme.com"))
        assert vp is not None and (vp.grade, vp.engagement_s) == ("A", 35.0)


def test_an_excluded_contact_never_makes_an_mql(db: Database, clock: FrozenClock) -> None:
    _people(db, clock, {"email": "intern@acme.com", "title": "Marketing Intern", "seniority": "Intern"})
    events = _acts(
        db, clock, ("intern@acme.com", "demo_request", 30), ("intern@acme.com", "trial_signup", 20)
    )
    assert [type(e) for e in events] == [LeadOpened]
    with db.read() as s:
        lead = s.scalars(sa.select(Lead)).one()
        assert (lead.stage, lead.grade) == ("inquiry", "D")
        assert s.scalar(sa.select(Person.excluded_by)) == "student"


def test_daily_caps_hold_across_batches(db: Database, clock: FrozenClock) -> None:
    _people(db, clock, {"email": "dev@acme.com"})
    for i in range(4):
        _acts(
            db, clock, *[("dev@acme.com", "page_view", 100 - i * 10 - j) for j in range(3)]
        )  # 12 views today
    with db.read() as s:
        assert s.scalar(sa.select(Person.engagement_s).where(Person.email == "dev@acme.com")) is not None
        person = s.scalar(sa.select(Person).where(Person.email == "dev@acme.com"))
        assert person is not None
        rate = decay_rate(30)
        now_value = person.engagement_s * math.exp(-rate * (epoch(clock()) - person.engagement_t0))
        assert 4.99 < now_value <= 5.0  # five views counted, one point each, minutes of decay
