"""Recycling and reactivation on SQLite and PostgreSQL (issue 14, item 6): a rejected, cooled or
lost lead is announced to the remarketing sequences with its reason and stays out of the reps'
inbox; a trial sign-up brings a rejected lead back to its earlier owner, who is told in the app and
by e-mail which activity brought it back and after how long; an earlier owner who left means the
rules route it; a cluster of pricing views is a hand-raise at its count and not below."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from leadloop import capture as h
from leadloop.auth.handlers import create_user
from leadloop.bootstrap import timer_handlers
from leadloop.capture import model as m
from leadloop.core.clock import FrozenClock
from leadloop.core.events import LeadRecycled
from leadloop.documents.handlers import activate, save_draft
from leadloop.jobs.timers import schedule
from leadloop.jobs.worker import Worker
from leadloop.routing.handlers import deactivate_user, reject
from leadloop.routing.views import inbox
from leadloop.scoring.document import Cluster
from leadloop.scoring.kind import SCORING
from leadloop.scoring.repository import active_model
from leadloop.settings import Settings
from leadloop.store.db import Database
from leadloop.store.tables import Account, Lead, LeadStageChange, Notification, Outbox, RoutingDecision, User
from tests.fixtures.events import recorded
from tests.fixtures.routing import ALL_WEEK, activate_rules

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
REJECTED_AT = T0 + timedelta(hours=1)
BACK_AT = REJECTED_AT + timedelta(days=143, hours=5)
# One pool, round robin: after Rita's turn the rules would give the next lead to Rafael.
RULES = """\
name: one pool
fallback: {queue: Sales inbox}
pools:
  field:
    mode: round_robin
    members: [{user: rita@x.io}, {user: rafael@x.io}]
rules:
  - name: Everyone
    assign: {pool: field}
sla:
  - {name: Standard, first_touch_minutes: 240}
"""


@pytest.fixture
def reps(db: Database) -> dict[str, int]:
    ids = {}
    with db.write() as s:
        for name in ("rita", "rafael"):
            ids[name] = create_user(
                s, email=f"{name}@x.io", name=name.title(), role="rep", password=None, now=T0
            )
            s.get_one(User, ids[name]).working_hours = ALL_WEEK
        activate_rules(s, RULES, now=T0)
        h.ingest_people(
            s,
            [
                m.parse_person(
                    {
                        "email": "jane.roe@acme.example",
                        "first_name": "Jane",
                        "last_name": "Roe",
                        "company": "Acme",
                        "title": "Head of IT",
                        "country": "SE",
                    }
                )
            ],
            now=T0,
            source="import",
        )
    return ids


def _act(db: Database, kind: str, now: datetime, *, ago: timedelta = timedelta(minutes=1)) -> None:
    row = {"email": "jane.roe@acme.example", "type": kind, "product": "analytics"}
    act = m.parse_activity({**row, "occurred_at": (now - ago).isoformat()}, now=now)
    with db.write() as s:
        h.ingest_activities(s, [act], now=now, source="api")


def _lead(db: Database) -> Lead:
    with db.read() as s:
        lead = s.scalars(sa.select(Lead)).one()
        s.expunge(lead)
        return lead


def _rejected_by_rita(db: Database, reps: dict[str, int]) -> int:
    """A demo request routes the lead to Rita (the pool's first turn); she rejects it: no budget."""
    _act(db, "demo_request", T0)
    lead = _lead(db)
    assert (lead.stage, lead.owner_user_id) == ("mql", reps["rita"])
    with db.write() as s:
        reject(s, lead.id, s.get_one(User, reps["rita"]), "no_budget", now=REJECTED_AT)
    assert _lead(db).stage == "recycled"
    return lead.id


def test_a_rejected_lead_is_announced_with_its_reason_and_leaves_the_inbox(
    db: Database, reps: dict[str, int]
) -> None:
    recycled = recorded(db, LeadRecycled)
    _act(db, "demo_request", T0)
    lead_id = _lead(db).id
    with db.read() as s:
        assert [r.id for r in inbox(s, reps["rita"], now=T0)] == [lead_id]
    with db.write() as s:
        reject(s, lead_id, s.get_one(User, reps["rita"]), "no_budget", now=REJECTED_AT)
    assert recycled == [LeadRecycled(lead_id, "rejected", "no_budget", "mql", "recycled", REJECTED_AT)]
    with db.read() as s:
        assert inbox(s, reps["rita"], now=REJECTED_AT) == []  # marketing's now, not hers
        assert inbox(s, reps["rafael"], now=REJECTED_AT) == []


def test_a_lost_lead_stays_out_of_the_inbox_though_its_rep_still_owns_it(
    db: Database, reps: dict[str, int]
) -> None:
    recycled = recorded(db, LeadRecycled)
    _act(db, "demo_request", T0)
    lead = _lead(db)
    with db.write() as s:
        s.get_one(Account, s.get_one(Lead, lead.id).account_id).external_id = "ACC-ACME"
    opp = m.parse_opportunity(
        {
            "external_id": "OPP-9",
            "account_external_id": "ACC-ACME",
            "product": "analytics",
            "created_at": T0.isoformat(),
            "closed_at": REJECTED_AT.isoformat(),
            "outcome": "lost",
        },
        now=REJECTED_AT,
    )
    with db.write() as s:
        h.upsert_opportunities(s, [opp], now=REJECTED_AT)
    lost = _lead(db)
    assert (lost.stage, lost.owner_user_id) == ("lost", reps["rita"])  # a loss keeps the rep
    assert [(e.lead_id, e.trigger, e.from_stage, e.stage) for e in recycled] == [
        (lead.id, "lost", "mql", "lost")
    ]
    assert recycled[0].reason == "opportunity OPP-9"
    with db.read() as s:
        assert inbox(s, reps["rita"], now=REJECTED_AT) == []


def test_a_cooled_lead_is_announced_too(db: Database, reps: dict[str, int]) -> None:
    """An MQL waiting in a queue whose engagement fell below the threshold goes back to nurture."""
    recycled = recorded(db, LeadRecycled)
    with db.write() as s:
        activate_rules(
            s,
            RULES.replace("assign: {pool: field}", "assign: {queue: Sales inbox}").replace(
                "one pool", "queue"
            ),
            now=T0,
        )
    _act(db, "demo_request", T0)
    lead = _lead(db)
    assert lead.stage == "mql" and lead.owner_team_id is not None
    clock = FrozenClock(T0 + timedelta(days=1))
    with db.write() as s:
        schedule(s, "lead_cools", f"lead:{lead.id}", clock(), {"threshold": 60.0})
    assert Worker(db, clock, timer_handlers(Settings(retrain_every_days=0))).run_once() == 1
    assert _lead(db).stage == "nurture"
    assert [(e.trigger, e.from_stage, e.stage, e.at) for e in recycled] == [
        ("cooled", "mql", "nurture", clock())
    ]
    assert recycled[0].reason is not None and "fell below the MQL threshold" in recycled[0].reason


def test_a_trial_sign_up_brings_a_rejected_lead_back_to_its_earlier_owner_who_is_told_why(
    db: Database, reps: dict[str, int]
) -> None:
    lead_id = _rejected_by_rita(db, reps)
    _act(db, "trial_signup", BACK_AT)
    lead = _lead(db)
    assert (lead.stage, lead.owner_user_id) == ("mql", reps["rita"])  # not Rafael, whose turn it was
    sentence = (
        "Reactivated: trial sign-up by Jane Roe brought back Acme · analytics after 143 days in remarketing"
        " (rejected by sales: no budget)"
    )
    with db.read() as s:
        history = s.execute(
            sa.select(LeadStageChange.from_stage, LeadStageChange.to_stage, LeadStageChange.trigger)
            .where(LeadStageChange.lead_id == lead_id)
            .order_by(LeadStageChange.id)
        ).all()
        assert [tuple(r) for r in history][-3:] == [
            ("mql", "recycled", "rejected"),
            ("recycled", "mql", "reactivated"),
            ("mql", "mql", "routed"),
        ]
        decision = s.scalars(sa.select(RoutingDecision).order_by(RoutingDecision.id.desc())).first()
        assert decision is not None and decision.owner_user_id == reps["rita"]
        assert [step["step"] for step in decision.path] == ["hand-raise", "reactivated", "earlier owner"]
        assert decision.path[1] == {"step": "reactivated", "result": "back from recycled", "why": sentence}
        assert decision.path[2]["result"] == "assigned"
        notice = s.scalars(sa.select(Notification).where(Notification.kind == "lead_reactivated")).one()
        assert (notice.user_id, notice.title, notice.link) == (reps["rita"], sentence, f"/leads/{lead_id}")
        mail = [
            o.payload
            for o in s.scalars(sa.select(Outbox).where(Outbox.channel == "email").order_by(Outbox.id))
            if o.payload["subject"].startswith("Reactivated")
        ]
        assert len(mail) == 1 and mail[0]["to"] == "rita@x.io"
        assert mail[0]["subject"].startswith("Reactivated lead for you: Acme · analytics")
        assert mail[0]["body"].startswith(sentence + ".\n\n")


def test_an_earlier_owner_who_left_means_the_rules_route_it(db: Database, reps: dict[str, int]) -> None:
    lead_id = _rejected_by_rita(db, reps)
    with db.write() as s:
        deactivate_user(s, reps["rita"], now=REJECTED_AT + timedelta(days=1))
    _act(db, "trial_signup", BACK_AT)
    lead = _lead(db)
    assert (lead.stage, lead.owner_user_id) == ("mql", reps["rafael"])
    with db.read() as s:
        decision = s.scalars(
            sa.select(RoutingDecision)
            .where(RoutingDecision.lead_id == lead_id)
            .order_by(RoutingDecision.id.desc())
        ).first()
        assert decision is not None
        assert decision.path[2] == {
            "step": "earlier owner",
            "result": "skipped",
            "why": "rita@x.io: inactive",
        }
        assert decision.path[3]["step"] == "rule Everyone"
        notice = s.scalars(sa.select(Notification).where(Notification.kind == "lead_reactivated")).one()
        assert notice.user_id == reps["rafael"] and notice.title.startswith(
            "Reactivated: trial sign-up by Jane Roe"
        )


def test_a_pricing_cluster_brings_it_back_at_its_count_and_not_below(
    db: Database, reps: dict[str, int]
) -> None:
    with db.write() as s:
        model, _ = active_model(s)
        clusters = [Cluster(type="pricing_page_view", count=3, within_days=14)]
        text = model.model_copy(
            update={
                "name": "pricing",
                "hand_raise": model.hand_raise.model_copy(update={"clusters": clusters}),
            }
        ).to_yaml()
        draft, _ = save_draft(s, SCORING, text, now=T0)
        activate(s, SCORING, draft, now=T0)
    lead_id = _rejected_by_rita(db, reps)
    start = BACK_AT - timedelta(days=20)
    _act(db, "pricing_page_view", start)  # 20 days before the third: outside its window
    _act(db, "pricing_page_view", BACK_AT - timedelta(days=10))
    _act(db, "pricing_page_view", BACK_AT - timedelta(days=1))
    assert _lead(db).stage == "recycled"  # two within 14 days: below the count
    _act(db, "pricing_page_view", BACK_AT)
    lead = _lead(db)
    assert (lead.stage, lead.owner_user_id) == ("mql", reps["rita"])
    with db.read() as s:
        reason = s.scalar(
            sa.select(LeadStageChange.reason).where(
                LeadStageChange.lead_id == lead_id, LeadStageChange.trigger == "reactivated"
            )
        )
        assert reason is not None and reason.startswith(
            "Hand-raise: 3rd pricing page view within 14 days on "
        )
        notice = s.scalars(sa.select(Notification).where(Notification.kind == "lead_reactivated")).one()
        assert notice.title.startswith(
            "Reactivated: 3rd pricing page view within 14 days by Jane Roe brought back Acme · analytics after"
        )
