"""The hand-raise fast track on SQLite and PostgreSQL: a fresh demo request makes the lead an MQL
and routes it in the same transaction with the fastest SLA tier, whatever its engagement or fit;
a nurtured, recycled or lost lead comes back to sales; an excluded contact, an old (imported)
hand-raise and a won lead do not; the model's list decides which types count. And the issue's own
case: an anonymous demo request posted to /forms/lead reaches a rep with a clock running."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadloop import capture as h
from leadloop.auth.handlers import create_user
from leadloop.bootstrap import arm_recurring, timer_handlers
from leadloop.capture import model as m
from leadloop.core.clock import FrozenClock
from leadloop.core.events import LeadReachedMQL
from leadloop.demo import live
from leadloop.documents.handlers import activate, save_draft
from leadloop.jobs.timers import pending
from leadloop.jobs.worker import Worker
from leadloop.lifecycle.handlers import Move, move_many
from leadloop.lifecycle.model import Trigger
from leadloop.scoring.kind import SCORING
from leadloop.scoring.repository import active_model
from leadloop.settings import Settings
from leadloop.store.db import Database
from leadloop.store.tables import Activity, Lead, LeadStageChange, Person, RoutingDecision, Timer, User
from tests.fixtures.routing import ALL_WEEK, activate_rules
from tests.fixtures.web import Web

NOW = datetime(2026, 12, 1, 9, 14, tzinfo=UTC)
RULES = """\
name: territories
version: 1
fallback: {queue: Sales inbox}
pools:
  nordics:
    mode: round_robin
    members: [{user: rita@x.io}, {user: rafael@x.io}]
rules:
  - name: Nordics and DACH
    when: {country: [SE, DE]}
    assign: {pool: nordics}
  - name: Everyone else
    assign: {user: rafael@x.io}
sla:
  - {name: Hot (grade A or B), when: {grade: [A, B]}, first_touch_minutes: 15, remind_at: 10}
  - {name: Standard, first_touch_minutes: 240, remind_at: 180}
"""


@pytest.fixture
def reps(db: Database) -> dict[str, int]:
    ids = {}
    with db.write() as s:
        for name in ("rita", "rafael"):
            ids[name] = create_user(
                s, email=f"{name}@x.io", name=name.title(), role="rep", password=None, now=NOW
            )
            user = s.get_one(User, ids[name])
            user.working_hours = ALL_WEEK
        activate_rules(s, RULES, now=NOW)
    return ids


def _person(db: Database, **fields: str) -> None:
    row = {"email": "greta@polarsignal.se", "company": "Polar Signal AB", "country": "SE", **fields}
    with db.write() as s:
        h.ingest_people(s, [m.parse_person(row)], now=NOW, source="import")


def _act(
    db: Database, kind: str, *, ago: timedelta = timedelta(minutes=1), email: str = "greta@polarsignal.se"
) -> list[object]:
    act = m.parse_activity({"email": email, "type": kind, "occurred_at": (NOW - ago).isoformat()}, now=NOW)
    with db.write() as s:
        return list(h.ingest_activities(s, [act], now=NOW, source="api").events)


def _lead(db: Database) -> Lead:
    with db.read() as s:
        lead = s.scalars(sa.select(Lead)).one()
        s.expunge(lead)
        return lead


def test_a_demo_request_is_an_mql_with_a_rep_and_the_fastest_clock_at_once(
    db: Database, reps: dict[str, int]
) -> None:
    _person(db, title="Software Engineer")  # fit: no seniority points, grade D
    events = _act(db, "demo_request")
    assert [e.hand_raise for e in events if isinstance(e, LeadReachedMQL)] == ["demo_request"]
    lead = _lead(db)
    # Engagement 40 is under the MQL threshold (60) and the grade is D: a hand-raise still goes.
    # The Nordics pool's first rep: the new account has no country, the person said SE.
    assert (lead.stage, lead.grade, lead.owner_user_id) == ("mql", "D", reps["rita"])
    assert lead.sla_policy == "Hot (grade A or B)"  # the fastest tier, though its `when` says A or B
    assert lead.sla_due_at == NOW + timedelta(minutes=15)
    with db.read() as s:
        history = s.scalars(sa.select(LeadStageChange).order_by(LeadStageChange.id)).all()
        assert [(c.to_stage, c.trigger) for c in history] == [
            ("inquiry", "opened"),
            ("mql", "reached_mql"),
            ("mql", "routed"),
        ]
        assert history[1].reason == "Hand-raise: demo request on 2026-12-01 09:13 UTC — sent to sales at once"
        decision = s.scalars(sa.select(RoutingDecision)).one()
        assert decision.path[0] == {
            "step": "hand-raise",
            "result": "sent to sales at once",
            "why": "demo request: the fastest SLA tier, Hot (grade A or B) (15 min to first touch)",
        }
        assert decision.summary.startswith("hand-raise (demo request) · ")
        assert s.scalar(sa.select(sa.func.count()).select_from(Timer).where(Timer.kind == "sla_remind")) == 1


def test_engagement_alone_still_needs_the_threshold_and_the_grade(db: Database, reps: dict[str, int]) -> None:
    _person(db, title="Software Engineer")
    _act(db, "form_submit")  # a hand-raise in the vocabulary's sense, but not a "talk to me"
    _act(db, "webinar_attended")
    assert _lead(db).stage == "inquiry"


@pytest.mark.parametrize("stage", ["nurture", "recycled", "lost"])
def test_a_lead_marketing_took_back_comes_back_to_sales(
    db: Database, reps: dict[str, int], stage: str
) -> None:
    _person(db, title="Head of IT")
    _act(db, "webinar_attended", ago=timedelta(days=3))
    _act(db, "content_download", ago=timedelta(days=2))
    lead = _lead(db)
    assert lead.stage == "inquiry"
    with db.write() as s:  # the lifecycle's own roads to the stage under test
        road = {
            "nurture": [(Trigger.REACHED_MQL, "inquiry"), (Trigger.COOLED, "mql")],
            "recycled": [
                (Trigger.REACHED_MQL, "inquiry"),
                (Trigger.COOLED, "mql"),
                (Trigger.RECYCLED, "nurture"),
            ],
            "lost": [(Trigger.LOST, "inquiry")],
        }[stage]
        for trigger, previous in road:
            move_many(s, [Move(lead.id, previous, trigger, NOW - timedelta(days=1))], now=NOW)
    _act(db, "pricing_request")
    lead = _lead(db)
    assert (lead.stage, lead.owner_user_id is not None, lead.sla_policy) == (
        "mql",
        True,
        "Hot (grade A or B)",
    )
    with db.read() as s:
        last = s.scalars(
            sa.select(LeadStageChange)
            .where(LeadStageChange.to_stage == "mql", LeadStageChange.trigger != "routed")
            .order_by(LeadStageChange.id.desc())
        ).first()
        assert last is not None and last.trigger == "reactivated" and last.reason is not None
        assert last.reason.startswith("Hand-raise: pricing request on ")


def test_a_won_lead_stays_won(db: Database, reps: dict[str, int]) -> None:
    _person(db)
    _act(db, "webinar_attended", ago=timedelta(days=3))
    _act(db, "content_download", ago=timedelta(days=2))
    lead_id = _lead(db).id
    with db.write() as s:
        move_many(s, [Move(lead_id, "inquiry", Trigger.WON, NOW - timedelta(days=1))], now=NOW)
    _act(db, "demo_request")
    assert _lead(db).stage == "won"


def test_an_excluded_contact_is_not_fast_tracked(db: Database, reps: dict[str, int]) -> None:
    _person(db, title="Marketing Intern")  # the title says intern: the student rule excludes
    with db.read() as s:
        assert s.scalar(sa.select(Person.seniority)) == "Intern"
    _act(db, "demo_request")
    assert _lead(db).stage == "inquiry"


def test_an_old_hand_raise_is_history_not_a_page(db: Database, reps: dict[str, int]) -> None:
    _person(db, title="CEO")
    _act(db, "contact_sales", ago=timedelta(days=30))  # an import of last month's requests
    assert _lead(db).stage == "inquiry"  # opened by its engagement then, never sent to sales now


def test_the_model_says_which_types_are_a_hand_raise(db: Database, reps: dict[str, int]) -> None:
    with db.write() as s:
        model, _ = active_model(s)
        text = model.model_copy(
            update={
                "name": "no-fast-track",
                "hand_raise": model.hand_raise.model_copy(update={"types": ["trial_signup"]}),
            }
        ).to_yaml()
        draft, _ = save_draft(s, SCORING, text, now=NOW)
        activate(s, SCORING, draft, now=NOW)
    _person(db, title="VP Engineering")
    _act(db, "demo_request")
    assert _lead(db).stage == "inquiry"
    _act(db, "trial_signup")
    assert _lead(db).stage == "mql"


def test_an_anonymous_demo_request_from_the_web_form_reaches_a_rep(web: Web, reps: dict[str, int]) -> None:
    """The issue's case, through the public form: one POST, and the lead is a rep's MQL with a clock."""
    web.clock.at = NOW
    r = TestClient(web.app).post(
        "/forms/lead",
        data={
            "name": "Greta Lindqvist",
            "email": "greta.lindqvist@polarsignal.se",
            "title": "VP Engineering",
            "company": "Polar Signal AB",
            "country": "Sweden",
            "activity_type": "demo_request",
            "source": "website",
        },
    )
    assert r.status_code == 200 and r.context["ok"]  # type: ignore[attr-defined]
    with web.db.read() as s:
        person = s.scalars(sa.select(Person)).one()
        assert (person.title, person.seniority, person.department) == ("VP Engineering", "VP", "Engineering")
        assert "activity_type" not in person.attributes
        lead = s.scalars(sa.select(Lead)).one()
        assert lead.stage == "mql" and lead.owner_user_id in reps.values() and lead.owner_team_id is None
        assert lead.sla_due_at == NOW + timedelta(minutes=15) and lead.assigned_at == NOW


def test_the_demo_posts_a_hand_raiser_every_few_minutes_when_asked(
    db: Database, reps: dict[str, int]
) -> None:
    clock = FrozenClock(NOW)
    settings = Settings(
        database_url=str(db.engine.url),
        demo_hand_raiser_minutes=3,
        retrain_every_days=0,
        facts_every_minutes=0,
    )
    assert live.LIVE_HAND_RAISER not in timer_handlers(
        Settings(database_url=str(db.engine.url))
    )  # off by default
    arm_recurring(settings, db, clock())
    worker = Worker(db, clock, timer_handlers(settings))
    assert worker.run_once() == 0  # the first one comes a minute after the start
    for _ in range(3):
        clock.advance(minutes=3)
        assert worker.run_once() == 1
    with db.read() as s:
        leads = s.scalars(sa.select(Lead).order_by(Lead.id)).all()
        assert len(leads) == 3 and {lead.stage for lead in leads} == {"mql"}
        assert all(lead.owner_user_id in reps.values() and lead.sla_due_at is not None for lead in leads)
        kinds = s.scalars(sa.select(Activity.type).where(Activity.source == "form")).all()
        assert set(kinds) <= {"demo_request", "contact_sales", "pricing_request", "trial_signup"}
        assert all(p.seniority is not None for p in s.scalars(sa.select(Person)))  # every demo title reads
        assert pending(s, live.LIVE_HAND_RAISER, live.SUBJECT) == clock() + timedelta(minutes=3)


def test_a_booked_meeting_is_a_hand_raise_when_the_model_says_so(db: Database, reps: dict[str, int]) -> None:
    """Issue 18: an invitation arriving at the BCC address is a meeting, and with `meeting` in the
    model's hand-raise types the lead goes to sales at once."""
    from leadloop.capture.mailin import MailPolicy, log_mail
    from tests.fixtures.mails import invite, message

    with db.write() as s:
        model, _ = active_model(s)
        text = model.model_copy(
            update={
                "name": "meetings-raise-hands",
                "hand_raise": model.hand_raise.model_copy(
                    update={"types": [*model.hand_raise.types, "meeting"]}
                ),
            }
        ).to_yaml()
        draft, _ = save_draft(s, SCORING, text, now=NOW)
        activate(s, SCORING, draft, now=NOW)
    _person(db, title="Head of IT")
    raw = message(
        sender="rita@x.io",
        to=["greta@polarsignal.se"],
        subject="Invitation: Leadloop demo",
        calendar=invite(organizer="rita@x.io", attendees=["greta@polarsignal.se"]),
        at=NOW - timedelta(minutes=1),
    )
    with db.write() as s:
        done = log_mail(s, raw, now=NOW, policy=MailPolicy(), envelope_recipients=("log@in.x.io",))
    assert done.status == "logged"
    lead = _lead(db)
    assert lead.stage == "mql" and lead.owner_user_id in reps.values()


def test_a_new_company_routes_by_the_country_its_person_gave(web: Web, reps: dict[str, int]) -> None:
    """A form from a company the warehouse has never seen makes an account with no location; the
    territory rules still see the country the person gave (so a Swedish demo request goes to the
    Nordics pool, not to the catch-all rule), and the audit says which rule took it."""
    web.clock.at = NOW
    client = TestClient(web.app)
    for email, company, country in (
        ("greta.lindqvist@polarsignal.se", "Polar Signal AB", "Sweden"),
        ("ann.lee@harborworks.com", "Harbor Works Inc.", "United States"),
    ):
        r = client.post(
            "/forms/lead",
            data={
                "name": "A Person",
                "email": email,
                "company": company,
                "country": country,
                "activity_type": "demo_request",
            },
        )
        assert r.status_code == 200, r.text
    with web.db.read() as s:
        rules = {
            p.email: [
                step["step"]
                for step in d.path
                if step["step"].startswith("rule ") and step["result"] != "no match"
            ]
            for d, p in s.execute(
                sa.select(RoutingDecision, Person)
                .join(Lead, Lead.id == RoutingDecision.lead_id)
                .join(Person, Person.account_id == Lead.account_id)
            )
        }
    assert rules["greta.lindqvist@polarsignal.se"] == ["rule Nordics and DACH"], rules
    assert rules["ann.lee@harborworks.com"] == ["rule Everyone else"], rules
