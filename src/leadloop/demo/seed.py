"""`leadloop demo`: load a simulated world through the real capture path, plus users to sign in."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop import capture as h
from leadloop.analytics.facts import refresh as refresh_facts
from leadloop.auth.handlers import create_user
from leadloop.auth.model import Principal, Role
from leadloop.capture import model as m
from leadloop.core.reactions import KEY as REACTIONS_KEY
from leadloop.core.reactions import Reactions, publish
from leadloop.demo.sla_story import Step
from leadloop.demo.world import World, build_world
from leadloop.identity.warehouse import dedupe_accounts
from leadloop.lifecycle.handlers import OwnerRef, move
from leadloop.lifecycle.model import Trigger
from leadloop.lifecycle.repository import NURTURE_QUEUE, SALES_INBOX
from leadloop.routing.handlers import on_mql as route_at_mql
from leadloop.routing.handlers import route_lead
from leadloop.store.db import Database
from leadloop.store.tables import Account, Activity, Campaign, Lead, Opportunity, Partner, Person, Team, User

DEMO_PASSWORD = "leadloop-demo"
DEMO_USERS: tuple[tuple[str, str, str, str | None], ...] = (
    ("admin@demo.leadloop.dev", "Ada Admin", "admin", None),
    ("marketing@demo.leadloop.dev", "Maya Marketing", "marketing", None),
    ("manager@demo.leadloop.dev", "Manuel Manager", "manager", "Sales EMEA"),
    ("rep1@demo.leadloop.dev", "Rita Rep", "rep", "Sales EMEA"),
    ("rep2@demo.leadloop.dev", "Rafael Rep", "rep", "Sales EMEA"),
    ("rep3@demo.leadloop.dev", "Rosa Rep", "rep", "Sales Americas"),
    ("rep4@demo.leadloop.dev", "Ravi Rep", "rep", "Sales Americas"),
    ("partner@demo.leadloop.dev", "Paula Partner", "partner", None),
    # The qualification desk (issue 13, item 3): a BDR who qualifies grade-C MQLs before field sales.
    ("bdr@demo.leadloop.dev", "Bea BDR", "bdr", "Sales EMEA"),
)


@dataclass
class DemoSummary:
    counts: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str]] = field(default_factory=list)
    password: str = DEMO_PASSWORD
    account_merges: int = 0
    account_reviews: int = 0


def _batches(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def load_world(db: Database, world: World, *, now: datetime, batch: int = 2000) -> None:
    """Every record through parse_* and the ingest handlers, as an import would."""

    def run(items: list[Any], store: Callable[..., Any]) -> None:
        for part in _batches(items, batch):
            with db.write() as session:
                store(session, part, now=now)

    run([m.parse_campaign(r) for r in world.campaigns], h.upsert_campaigns)
    run([m.parse_account(r) for r in world.accounts], h.upsert_accounts)
    people = [m.parse_person(r) for r in world.people]
    for part in _batches(people, batch):
        with db.write() as session:
            captures = [
                m.ActivityIn(
                    type="list_import",
                    occurred_at=p.created_at or now,
                    channel="import",
                    email=p.email,
                    dedupe_key=f"demo:{p.external_id}",
                    campaign=None,
                )
                for p in part
            ]
            h.ingest_people(session, part, now=now, source="demo", activities=list(captures))
    acts = [m.parse_activity(r, now=now + timedelta(minutes=1)) for r in world.activities]
    for part in _batches(acts, batch):
        with db.write() as session:
            h.ingest_activities(session, part, now=now, source="demo")
    run([m.parse_opportunity(r, now=now) for r in world.opportunities], h.upsert_opportunities)
    run([m.parse_contact_role(r) for r in world.contact_roles], h.upsert_contact_roles)


def _not_routing_at_mql(db: Database) -> Database:
    """The same database with every reaction but routing at MQL."""
    quiet = Reactions()
    for kind, reactions in db.info[REACTIONS_KEY].wired().items():
        for reaction in reactions:
            if reaction is not route_at_mql:
                quiet.on(kind, reaction)
    return Database(db.engine, info={**db.info, REACTIONS_KEY: quiet})


def _speed_to_lead(
    session: Session, leads: Sequence[Lead], touches: dict[str, tuple[datetime, datetime | None]]
) -> None:
    """The worked leads' story: handed to their rep at the hand-raise, first touched when the world
    says (faster touches converted more: demo/world.py). Written directly, as the rest of the demo's
    history is: these leads were worked before Leadloop's clocks ran."""
    wanted = sa.select(Account.id, Account.external_id).where(
        Account.id.in_({lead.account_id for lead in leads})
    )
    ext = {aid: external_id for aid, external_id in session.execute(wanted)}
    for lead in leads:
        raised, touched = touches.get(ext.get(lead.account_id) or "", (None, None))
        if raised is not None:
            lead.assigned_at, lead.first_touch_at = raised, touched


def _demo_routing(session: Session, *, now: datetime) -> None:
    """Reps in four time zones, the manager above them, and the demo's territories activated. Demo reps
    work around the clock, so the demo routes whenever it is tried; real reps get working hours with
    `leadloop users calendar`."""
    from importlib import resources

    from leadloop.documents import handlers as documents
    from leadloop.routing.handlers import set_manager
    from leadloop.routing.kind import ROUTING

    users = {u.email: u for u in session.scalars(sa.select(User))}
    manager = users["manager@demo.leadloop.dev"]
    for email, zone in (
        ("rep1", "Europe/Berlin"),
        ("rep2", "Europe/London"),
        ("rep3", "America/New_York"),
        ("rep4", "America/Chicago"),
        ("bdr", "Europe/Berlin"),
    ):
        rep = users[f"{email}@demo.leadloop.dev"]
        rep.timezone = zone
        rep.working_hours = {d: "00:00-23:59" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
        set_manager(session, rep.id, manager.id)
    text = resources.files("leadloop.demo").joinpath("routing.yaml").read_text(encoding="utf-8")
    draft = documents.save_draft(session, ROUTING, text, now=now)
    documents.activate(session, ROUTING, draft.id, now=now)


def build_demo(db: Database, *, seed: int, n_accounts: int, n_people: int, now: datetime) -> DemoSummary:
    world = build_world(seed=seed, n_accounts=n_accounts, n_people=n_people, now=now)
    # The history is loaded as it happened before Leadloop ran: its MQLs are routed below, at the
    # times the demo's story gives them, not all at once at build time (a routing dated today
    # before a story's routing dated weeks ago read as a lead back in the Sales inbox).
    load_world(_not_routing_at_mql(db), world, now=now)
    summary = DemoSummary()
    with db.write() as session:
        teams: dict[str, int] = {}
        for team in ("Sales EMEA", "Sales Americas"):
            tid = session.scalar(
                sa.insert(Team).returning(Team.id).values(name=team, is_queue=False, created_at=now)
            )
            assert tid is not None
            teams[team] = tid
        partner_id = session.scalar(
            sa.insert(Partner)
            .returning(Partner.id)
            .values(name="Northwind Resellers", email="leads@northwind.example", tier="gold", created_at=now)
        )
        reps = []
        for email, name, role, team_name in DEMO_USERS:
            uid = create_user(
                session,
                email=email,
                name=name,
                role=role,
                password=DEMO_PASSWORD,
                now=now,
                team_id=teams.get(team_name) if team_name else None,
                partner_id=partner_id if role == "partner" else None,
            )
            if role == "rep":
                reps.append(uid)
            summary.logins.append((email, role))
        _demo_routing(session, now=now)
        # Leads that became opportunities were worked by reps: give them owners in the demo story.
        worked = session.scalars(
            sa.select(Lead).where(Lead.stage.in_(("opportunity", "won", "lost"))).order_by(Lead.id)
        ).all()
        moved = []
        for i, lead in enumerate(worked):
            owner = OwnerRef(user_id=reps[i % len(reps)])
            why = "worked by a rep in the demo story"
            at = lead.mql_at or lead.opened_at or now  # worked since it became an MQL
            moved += move(session, lead, Trigger.ROUTED, now=now, at=at, reason=why, owner=owner)
        publish(session, moved, now=now)
        _speed_to_lead(session, worked, world.touches)
    with db.write() as session:  # the MQLs waiting in the sales inbox went to the reps over 6 weeks
        waiting = session.execute(
            sa.select(Lead.id, Lead.mql_at)
            .join(Team, Team.id == Lead.owner_team_id)
            .where(Lead.stage == "mql", Team.name.in_((SALES_INBOX, NURTURE_QUEUE)))
            .order_by(Lead.id)
        ).all()
        _sla_history(session, [(i, at) for i, at in waiting], seed=seed, now=now)
    with db.write() as session:  # last night's warehouse pass over the accounts a legacy import doubled
        accounts = dedupe_accounts(session, now=now)
        summary.account_merges, summary.account_reviews = accounts.merged, accounts.queued
    with db.write() as session:  # the rep's workbench (issue 13): follow-ups and a note to start the day
        _demo_work(session, reps, now=now)
    with db.write() as session:  # segments (issue 14): four that marketing keeps, built at once
        _demo_segments(session, now=now)
    with db.write() as session:  # sequences (issue 14): the shipped drip is on, the reachable pool in it
        _demo_sequences(session, now=now)
    with db.write() as session:  # the reports' facts (issue 15): the dashboards open on the history at once
        refresh_facts(session, now=now, full=True)
    with db.read() as session:
        for label, table in (
            ("accounts", Account),
            ("people", Person),
            ("campaigns", Campaign),
            ("activities", Activity),
            ("leads", Lead),
            ("opportunities", Opportunity),
            ("users", User),
        ):
            summary.counts[label] = session.scalar(sa.select(sa.func.count()).select_from(table)) or 0
    return summary


DEMO_SEGMENTS = {
    "Pricing page in the last 30 days": {"match": {"did": "pricing_page_view", "within_days": 30}},
    "Remarketing pool (reachable)": {
        "match": {
            "all": [
                {"lead": {"stage": ["recycled", "nurture", "lost"]}},
                {"not": {"field": "consent.email", "op": "is", "value": "opted_out"}},
            ]
        }
    },
    "Opted in to e-mail": {"match": {"field": "consent.email", "op": "is", "value": "opted_in"}},
    "Read content, never at a webinar": {
        "match": {"all": [{"did": "content_download"}, {"not": {"did": "webinar_attended"}}]}
    },
}


def _demo_segments(session: Session, *, now: datetime) -> None:
    from leadloop.segments.handlers import create_segment
    from leadloop.segments.parse import parse_definition

    for name, doc in DEMO_SEGMENTS.items():
        create_segment(session, name=name, definition=parse_definition(doc), now=now)


def _demo_sequences(session: Session, *, now: datetime) -> None:
    """The shipped example drip is active (new inquiries and recycled leads enter it by themselves
    from now on), and marketing enrolled the remarketing pool's people who opted in to e-mail."""
    from leadloop.documents.handlers import activate, export, save_draft
    from leadloop.nurture.handlers import enrol
    from leadloop.nurture.kind import SEQUENCES
    from leadloop.segments.queries import people_in, segment_choices

    draft = save_draft(session, SEQUENCES, export(session, SEQUENCES), now=now)
    activate(session, SEQUENCES, draft.id, now=now)
    ids = {name: sid for sid, name in segment_choices(session)}
    query = sa.select(Person.id).where(
        people_in(ids["Remarketing pool (reachable)"]), people_in(ids["Opted in to e-mail"])
    )
    people = [(int(pid), None) for pid in session.scalars(query.order_by(Person.id))]
    enrol(session, "not-ready-yet", people, trigger="manual", detail="the remarketing pool", now=now)


# The rep's workbench (issue 13): each rep starts with a follow-up overdue since this morning, one
# due in ten minutes (its reminder reaches them in the app as the demo starts), one for tomorrow
# and a note.
def _demo_work(session: Session, reps: list[int], *, now: datetime) -> None:
    from leadloop.access.repository import scope_of
    from leadloop.auth.handlers import principal_for_user
    from leadloop.work.handlers import add_note, add_task

    plan = (
        ("Call back: asked about pricing", now - timedelta(hours=3)),
        ("Send the case study", now + timedelta(minutes=10)),
        ("Book the technical deep-dive", now + timedelta(days=1)),
    )
    for uid in reps:
        who = principal_for_user(session, uid)
        leads = session.scalars(
            sa.select(Lead.id)
            .where(Lead.owner_user_id == uid, Lead.stage.in_(("mql", "sal", "sql")))
            .order_by(Lead.engagement_key.desc(), Lead.id)
            .limit(len(plan))
        ).all()
        if who is None or not leads:
            continue
        scope = scope_of(session, who)
        for lead_id, (title, due) in zip(leads, plan, strict=False):
            add_task(session, scope, who, title=title, due_at=due, about="lead", record_id=lead_id, now=now)
        note = "Met at the trade show; interested in a pilot for the data team."
        add_note(session, scope, who, "lead", leads[0], note, now=now)


# SLA history (the sla work): the waiting MQLs were assigned over the past weeks and worked, through
# the real routing, lifecycle and qualification handlers, so the SLA report, Team and the desk's
# report look like a real team's. A lead the rules sent to the BDR gets a BDR's outcome, not a rep's.
def _sla_history(
    session: Session, leads: list[tuple[int, datetime | None]], *, seed: int, now: datetime
) -> None:
    from leadloop.demo.sla_story import acted_at, plan

    turns = _Turns()
    for step in plan(leads, seed=seed, now=now):
        route_lead(session, step.lead_id, now=step.assign_at, reason="manual")
        lead = session.get(Lead, step.lead_id)
        if lead is not None and lead.owner_partner_id is not None and lead.assigned_at is not None:
            _partner_works(session, lead, step, turns, now=now)
            continue
        if lead is None or lead.owner_user_id is None or lead.assigned_at is None:
            continue
        at = acted_at(step, lead.assigned_at, lead.sla_due_at, now)
        owner = session.get_one(User, lead.owner_user_id)
        if at is None:
            if owner.role == "bdr":  # at the desk, being decided: called (the clock stopped), no outcome yet
                _called_at_the_desk(session, lead, owner, now=now)
            continue
        if owner.role == "bdr" and step.desk is not None:
            _at_the_desk(session, lead, owner, step, at, turns, now=now)
        else:
            _work(session, lead, owner, step, at, turns)


def _called_at_the_desk(session: Session, lead: Lead, bdr: User, *, now: datetime) -> None:
    """A lead still on the desk had its qualifying call soon after it came (so the first sweep does
    not take it away for a lapsed clock, and the desk a visitor opens has leads to qualify)."""
    from leadloop.routing.handlers import log_call

    assert lead.assigned_at is not None
    called = min(now, lead.assigned_at + timedelta(minutes=8))
    log_call(session, lead.id, bdr, now=called, note="Qualifying call: interested; call back for the budget.")


@dataclass
class _Turns:
    """Which reason, or which set of answers, comes next: every one shows up in a small world."""

    rejected: int = 0
    desk: int = 0
    partner: int = 0


# What the partner reported on the leads it accepted, in turn (the scorecard's columns).
PARTNER_REPORTS = ("contacted", "qualified", "contacted", "won", "lost", "contacted")


def _partner_works(session: Session, lead: Lead, step: Step, turns: _Turns, *, now: datetime) -> None:
    """The channel partner's part, as its scorecard would show a real one: it accepts most leads in
    its window and reports on them, hands one in ten back, and misses the late ones (left past the
    deadline: the first sweep recalls them and routes them again). Still waiting: left as they are."""
    from leadloop.demo.sla_story import Outcome
    from leadloop.partners import handlers as partners
    from leadloop.partners.model import Report

    user = session.scalars(sa.select(User).where(User.partner_id == lead.owner_partner_id)).first()
    assert lead.assigned_at is not None and lead.sla_due_at is not None
    if user is None or step.outcome in (Outcome.WAIT, Outcome.ACCEPT_LATE):
        return
    who = Principal(user.id, user.email, user.name, Role.PARTNER, "session")
    at = lead.assigned_at + (lead.sla_due_at - lead.assigned_at) * min(step.after_share, 0.9)
    if at >= now:
        return
    if step.outcome is Outcome.REJECT:
        partners.reject(session, who, lead.id, "Outside the regions we cover this quarter", now=at)
        return
    partners.accept(session, who, lead.id, now=at)
    outcome = PARTNER_REPORTS[turns.partner % len(PARTNER_REPORTS)]
    turns.partner += 1
    later = min(now, at + timedelta(days=2 + turns.partner % 5))
    if outcome == "won":
        report = Report("won", amount=Decimal(18000 + 4000 * (turns.partner % 4)))
    elif outcome == "lost":
        report = Report("lost", reason="Chose a local competitor")
    else:
        report = Report(outcome)
    partners.report(session, who, lead.id, report, now=later)


def _work(session: Session, lead: Lead, owner: User, step: Step, at: datetime, turns: _Turns) -> None:
    """A rep's part: accept (in time or late), call, or reject."""
    from leadloop.demo.sla_story import Outcome
    from leadloop.routing.handlers import accept, log_call, reject

    if step.outcome in (Outcome.ACCEPT_IN_TIME, Outcome.ACCEPT_LATE):
        accept(session, lead.id, owner, now=at)
    elif step.outcome is Outcome.CALL_IN_TIME:
        log_call(session, lead.id, owner, now=at, note="First call: left the agenda for a demo.")
    elif step.outcome is Outcome.REJECT:
        reasons = ("not_a_fit", "no_budget", "bad_contact_data", "no_response")
        reject(session, lead.id, owner, reasons[turns.rejected % len(reasons)], now=at)
        turns.rejected += 1


def _at_the_desk(
    session: Session, lead: Lead, bdr: User, step: Step, at: datetime, turns: _Turns, *, now: datetime
) -> None:
    """A BDR's part: the qualifying call (their first touch), then, unless it is still being
    decided, the outcome through the qualification desk; a handed-over lead is then the field rep's."""
    from leadloop.auth.handlers import principal_for_user
    from leadloop.demo.sla_story import Desk, acted_at, answers, desk_outcome
    from leadloop.qualification import handlers as desk
    from leadloop.qualification.model import Outcome as DeskOutcome
    from leadloop.routing.handlers import log_call

    plan = step.desk
    assert plan is not None
    log_call(session, lead.id, bdr, now=at, note="Qualifying call: budget, authority, need and timeline.")
    decided = at + plan.decide_after
    who = principal_for_user(session, bdr.id)
    if decided >= now or who is None:
        return  # the call was made; the outcome is still to come
    form = desk.form_of(session)
    turn, turns.desk = turns.desk, turns.desk + 1
    decision = desk_outcome(turn)
    if decision is Desk.HAND_OVER:
        given = answers([(f.key, list(f.choices)) for f in form.fields], turn)
        note = "Keen on a pilot; call the Head of Data first."
        desk.hand_over(session, lead.id, who, now=decided, answers=given, note=note)
        session.refresh(lead)
        rep = session.get(User, lead.owner_user_id) if lead.owner_user_id is not None else None
        handed = step.handed_over()
        rep_at = acted_at(handed, lead.assigned_at, lead.sla_due_at, now) if lead.assigned_at else None
        if rep is not None and rep_at is not None:
            _work(session, lead, rep, handed, rep_at, turns)
        return
    outcome = DeskOutcome.NURTURE if decision is Desk.NURTURE else DeskOutcome.DISQUALIFIED
    reasons = list(form.nurture_reasons if outcome is DeskOutcome.NURTURE else form.disqualify_reasons)
    desk.send_back(session, lead.id, who, outcome, reason=reasons[turn % len(reasons)], now=decided)
