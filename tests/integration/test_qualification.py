"""The qualification desk on SQLite and PostgreSQL: a rule sends an MQL to the BDR queue, a BDR
qualifies it with BANT notes and hands it to a field rep (the rules' choice or the one picked),
whose SLA clock starts and whose e-mail carries the notes and firmographics; the history records
every move; back to nurture and disqualified need a reason; nobody else works the desk's leads;
and the SLA report counts the desk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from leadloop.auth.handlers import create_user
from leadloop.auth.model import Principal, Role
from leadloop.core.errors import InvalidInput, PermissionDenied
from leadloop.jobs.timers import Due, pending
from leadloop.lifecycle.model import BDR_QUEUE, IllegalTransition
from leadloop.lifecycle.repository import NURTURE_QUEUE
from leadloop.qualification import handlers as desk
from leadloop.qualification.model import Outcome, QualificationError
from leadloop.routing.handlers import accept, route_lead, set_manager, sla_timer
from leadloop.routing.report import desk_report, funnel
from leadloop.store.db import Database
from leadloop.store.tables import Account, Lead, LeadQualification, LeadStageChange, Outbox, Team, User
from tests.fixtures.routing import ALL_WEEK, activate_rules, add_mql

MONDAY = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
RULES = """\
name: with a desk
fallback: {queue: Sales inbox}
pools:
  field:
    members: [{user: rita@x.io}, {user: rafa@x.io}]
rules:
  - name: Mid-market to the desk first
    when: {grade: [C]}
    assign: {bdr: queue}
  - name: Field sales
    assign: {pool: field}
sla:
  - {name: Standard, first_touch_minutes: 60, remind_at: 45, escalate_at: 60, reassign_at: 240}
"""
BANT = {
    "budget": {"choice": "approved", "note": "€40k signed off for Q3"},
    "authority": {"choice": "decision_maker", "note": "Greta signs"},
    "need": {"choice": "urgent", "note": "their pipeline tool dies in March"},
    "timeline": {"choice": "quarter", "note": ""},
}


@pytest.fixture
def people(db: Database) -> dict[str, Principal]:
    out: dict[str, Principal] = {}
    with db.write() as s:
        for name, role in (
            ("bea", "bdr"),
            ("rita", "rep"),
            ("rafa", "rep"),
            ("max", "manager"),
            ("mia", "marketing"),
        ):
            uid = create_user(
                s, email=f"{name}@x.io", name=name.title(), role=role, password=None, now=MONDAY
            )
            user = s.get_one(User, uid)
            user.working_hours = ALL_WEEK
            out[name] = Principal(uid, user.email, user.name, Role(role), "session")
        for name in ("bea", "rita", "rafa"):
            set_manager(s, out[name].user_id, out["max"].user_id)
        activate_rules(s, RULES, now=MONDAY)
    return out


def _queued(db: Database, *, grade: str = "C", name: str = "Polar Signal AB") -> int:
    with db.write() as s:
        lead_id = add_mql(
            s, now=MONDAY, name=name, country="SE", grade=grade, since=MONDAY - timedelta(hours=1)
        )
        account = s.get_one(Account, s.get_one(Lead, lead_id).account_id)
        account.employees, account.industry = 240, "Software"
        account.domain = name.lower().replace(" ", "") + ".se"
        route_lead(s, lead_id, now=MONDAY)
    return lead_id


def _history(db: Database, lead_id: int) -> list[tuple[str | None, str, str, str | None]]:
    with db.read() as s:
        return [
            (r.from_stage, r.to_stage, r.trigger, r.reason)
            for r in s.scalars(
                sa.select(LeadStageChange)
                .where(LeadStageChange.lead_id == lead_id)
                .order_by(LeadStageChange.id)
            )
        ]


def test_an_mql_goes_to_the_desk_and_a_qualified_one_to_a_field_rep_with_its_clock_and_notes(
    db: Database, people: dict[str, Principal]
) -> None:
    lead_id = _queued(db)
    with db.read() as s:
        lead = s.get_one(Lead, lead_id)
        queue = s.scalar(sa.select(Team.id).where(Team.name == BDR_QUEUE))
        assert (lead.stage, lead.owner_team_id, lead.sla_due_at) == (
            "mql",
            queue,
            None,
        )  # a queue has no clock
        assert [r.id for r in desk.desk(s, people["bea"], now=MONDAY)] == [lead_id]
    later = MONDAY + timedelta(minutes=20)
    with db.write() as s:
        desk.save_answers(s, lead_id, people["bea"], {"budget": BANT["budget"]}, now=later)
    with db.write() as s, pytest.raises(QualificationError, match="answer Authority, Need, Timeline"):
        desk.hand_over(s, lead_id, people["bea"], now=later)
    handed = MONDAY + timedelta(minutes=30)
    with db.write() as s:
        row = desk.hand_over(
            s, lead_id, people["bea"], now=handed, answers=BANT, note="Wants a demo on Tuesday"
        )
        assert row.outcome == "handed_over" and row.handed_to_user_id == people["rita"].user_id
    with db.read() as s:
        lead = s.get_one(Lead, lead_id)
        assert (lead.stage, lead.owner_user_id) == ("handed_over", people["rita"].user_id)
        assert lead.assigned_at == handed and lead.sla_due_at == handed + timedelta(minutes=60)
        assert pending(s, "sla_due", f"lead:{lead_id}") == handed + timedelta(
            minutes=60
        )  # the rep's clock runs
        mails = s.scalars(sa.select(Outbox).where(Outbox.channel == "email")).all()
        mail = next(m for m in mails if m.payload["to"] == "rita@x.io")
        assert mail.payload["subject"].startswith("Qualified lead for you: Polar Signal AB")
        body = mail.payload["body"]
        assert "Budget: Budget approved — €40k signed off for Q3" in body and "Qualified by bea@x.io" in body
        assert "Employees: 240" in body and "From the call: Wants a demo on Tuesday" in body
        view = desk.panel(s, lead_id, people["rita"])
        assert view.visit is not None and view.visit.handed_to == "Rita"
        assert ["Industry", "Software"] in view.visit.firmographics and not view.may_decide
    assert _history(db, lead_id)[-2:] == [
        (
            "mql",
            "mql",
            "routed",
            f"mql: rule Mid-market to the desk first → {BDR_QUEUE} (a BDR calls to qualify it before field sales)",
        ),
        (
            "mql",
            "handed_over",
            "handed_over",
            "handover: qualified by bea@x.io → rule Field sales → pool field → rita@x.io",
        ),
    ]
    with db.read() as s:
        change = s.scalars(sa.select(LeadStageChange).where(LeadStageChange.trigger == "handed_over")).one()
        assert (change.by_user_id, change.owner_user_id) == (people["bea"].user_id, people["rita"].user_id)
    # The rep's first-touch SLA timer is live for a handed-over lead, and the rep accepts it.
    with db.write() as s:
        due = Due(
            0,
            "sla_due",
            f"lead:{lead_id}",
            handed + timedelta(minutes=60),
            {"owner_user_id": people["rita"].user_id},
        )
        sla_timer(s, due, handed + timedelta(minutes=61))
        assert s.get_one(Lead, lead_id).sla_breached_at is not None
    with db.write() as s:
        accept(s, lead_id, s.get_one(User, people["rita"].user_id), now=handed + timedelta(minutes=62))
    assert _history(db, lead_id)[-1][:3] == ("handed_over", "sal", "accepted")
    # The SLA report counts the desk: 30 minutes to decide, 90 from MQL to the hand-over.
    with db.read() as s:
        rows = desk_report(s, since=MONDAY - timedelta(days=1), now=handed, within_minutes=240)
        total = rows[-1]
        assert [r.group for r in rows] == ["Bea", "All"]
        assert (total.arrived, total.handed_over, total.waiting, total.within, total.missed) == (
            1,
            1,
            0,
            1,
            0,
        )
        assert (total.median_minutes, total.median_mql_to_handover) == (30.0, 90.0)
        stages = dict(funnel(s, since=MONDAY - timedelta(days=1)))
        assert stages["Handed over"] == 1 and stages["SAL"] == 1


def test_the_bdr_may_pick_the_field_rep(db: Database, people: dict[str, Principal]) -> None:
    lead_id = _queued(db)
    with db.write() as s:
        desk.hand_over(s, lead_id, people["bea"], now=MONDAY, answers=BANT, to_user_id=people["rafa"].user_id)
    with db.read() as s:
        assert s.get_one(Lead, lead_id).owner_user_id == people["rafa"].user_id
        row = s.scalars(sa.select(LeadQualification)).one()
        assert row.handed_to_user_id == people["rafa"].user_id
    assert _history(db, lead_id)[-1][3] == "handover: qualified by bea@x.io → rafa@x.io (picked by the BDR)"
    other = _queued(db, name="Other AB")
    with db.write() as s, pytest.raises(InvalidInput, match="choose an active field rep or manager"):
        desk.hand_over(s, other, people["bea"], now=MONDAY, answers=BANT, to_user_id=people["mia"].user_id)


@pytest.mark.parametrize(
    ("outcome", "reason", "stage", "label"),
    [
        (Outcome.NURTURE, "not_ready", "nurture", "Not ready yet"),
        (Outcome.DISQUALIFIED, "competitor", "recycled", "Competitor"),
    ],
)
def test_back_to_nurture_or_disqualified_with_a_reason(
    db: Database, people: dict[str, Principal], outcome: Outcome, reason: str, stage: str, label: str
) -> None:
    lead_id = _queued(db)
    with db.write() as s, pytest.raises(QualificationError, match="choose a reason"):
        desk.send_back(s, lead_id, people["bea"], outcome, reason=None, now=MONDAY)
    with db.read() as s:
        assert s.get_one(Lead, lead_id).stage == "mql"  # the refusal changed nothing
    with db.write() as s:
        desk.send_back(s, lead_id, people["bea"], outcome, reason=reason, note="call in spring", now=MONDAY)
    with db.read() as s:
        lead = s.get_one(Lead, lead_id)
        nurture = s.scalar(sa.select(Team.id).where(Team.name == NURTURE_QUEUE))
        assert (lead.stage, lead.owner_team_id) == (stage, nurture)
        row = s.scalars(sa.select(LeadQualification)).one()
        assert (row.outcome, row.reason, row.reason_label) == (outcome.value, reason, label)
        assert desk.current(s, lead_id) is None  # a lead that comes back starts a new visit
    assert _history(db, lead_id)[-1] == (
        "mql",
        stage,
        "disqualified" if outcome is Outcome.DISQUALIFIED else "sent_to_nurture",
        f"{label}: call in spring",
    )


def test_only_the_desk_works_the_desks_leads(db: Database, people: dict[str, Principal]) -> None:
    lead_id = _queued(db)
    for who in ("rita", "mia"):  # a rep (not theirs) and marketing (reads, does not work)
        with db.write() as s, pytest.raises(PermissionDenied):
            desk.save_answers(s, lead_id, people[who], BANT, now=MONDAY)
    with db.write() as s:  # their manager may step in
        desk.save_answers(s, lead_id, people["max"], BANT, now=MONDAY)
    field = _queued(db, grade="A", name="Hot GmbH")  # the field rules gave it to a rep directly
    with db.write() as s, pytest.raises(PermissionDenied):
        desk.hand_over(s, field, people["bea"], now=MONDAY, answers=BANT)
    with db.read() as s:
        owner = s.get_one(Lead, field).owner_user_id
    rep = next(p for p in people.values() if p.user_id == owner)
    with db.write() as s:  # the rep may note BANT on their own lead, but it is not at the desk
        desk.save_answers(s, field, rep, BANT, now=MONDAY)
        with pytest.raises(InvalidInput, match="not waiting at the qualification desk"):
            desk.hand_over(s, field, rep, now=MONDAY)
    with db.write() as s:
        desk.hand_over(s, lead_id, people["bea"], now=MONDAY)
    with db.write() as s, pytest.raises(PermissionDenied):
        desk.hand_over(s, lead_id, people["bea"], now=MONDAY)  # twice: it is the rep's now
    with db.write() as s, pytest.raises(InvalidInput, match="not waiting at the qualification desk"):
        desk.hand_over(s, lead_id, people["max"], now=MONDAY)  # their manager: it left the desk
    with db.write() as s, pytest.raises(IllegalTransition):
        from leadloop.lifecycle.handlers import move
        from leadloop.lifecycle.model import Trigger

        move(s, s.get_one(Lead, lead_id), Trigger.SENT_TO_NURTURE, now=MONDAY)
