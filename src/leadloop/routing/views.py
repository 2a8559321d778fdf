"""Read models for the rep inbox, the manager's team view and a lead's routing audit."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.routing.clock import ClockState, clock_state, facts_of, lead_clock, matches
from leadloop.routing.repository import ASSIGNING, OPEN_STAGES
from leadloop.scoring.decay import Decaying, decay_rate, epoch
from leadloop.scoring.repository import active_model
from leadloop.store.tables import Account, Lead, RoutingDecision, Team, User


@dataclass(frozen=True)
class InboxRow:
    id: int
    account: str
    account_id: int
    product: str
    grade: str | None
    stage: str
    score: float
    assigned_at: datetime | None
    sla_due_at: datetime | None
    first_touch_at: datetime | None
    breached: bool
    clock: ClockState


def inbox(session: Session, user_id: int, *, now: datetime, lead_id: int | None = None) -> list[InboxRow]:
    """My open leads, hottest first (the time-invariant key: the order of the decayed scores now)."""
    rate = decay_rate(active_model(session)[0].engagement.half_life_days)
    q = (
        sa.select(Lead, Account.name)
        .join(Account, Account.id == Lead.account_id)
        .where(Lead.owner_user_id == user_id, Lead.stage.in_(OPEN_STAGES))
        .order_by(Lead.engagement_key.desc(), Lead.id)
    )
    if lead_id is not None:
        q = q.where(Lead.id == lead_id)
    out = []
    for lead, name in session.execute(q.limit(500)):
        clock = lead_clock(lead, now=now)
        out.append(
            InboxRow(
                lead.id,
                name,
                lead.account_id,
                lead.product,
                lead.grade,
                lead.stage,
                Decaying(lead.engagement_s, lead.engagement_t0).current(epoch(now), rate),
                lead.assigned_at,
                lead.sla_due_at,
                lead.first_touch_at,
                clock.breached,
                clock,
            )
        )
    return out


@dataclass(frozen=True)
class TeamRow:
    """Each number has a leads-list filter behind it (team.html links them)."""

    user_id: int
    email: str
    name: str
    team: str | None
    active: bool
    open_leads: int  # owned now, with sales (mql, sal, sql)
    assigned_today: int  # last assigned to them in the last 24 h
    waiting: int  # clock running: no touch, accept or reject yet
    overdue: int  # clock running past its due time
    breached: int  # breached in the last 7 days (stopped late or still overdue)


def team(session: Session, *, now: datetime, users: frozenset[int] | None = None) -> list[TeamRow]:
    """Each rep's load; `users` limits it to the people a manager may see (None: everyone). The
    clocks come from routing/clock.py, so an accepted or rejected lead never counts as waiting."""
    day = now - timedelta(hours=24)
    open_by: dict[int, int] = defaultdict(int)
    for owner, n in session.execute(
        sa.select(Lead.owner_user_id, sa.func.count())
        .where(Lead.owner_user_id.is_not(None), Lead.stage.in_(OPEN_STAGES))
        .group_by(Lead.owner_user_id)
    ):
        if owner is not None:
            open_by[owner] = n
    clocks: dict[int, list[LeadClock]] = defaultdict(list)
    for c in lead_clocks(session, now=now, reps=users):
        if c.rep_id is not None:
            clocks[c.rep_id].append(c)
    out = []
    for u, team_name in session.execute(
        sa.select(User, Team.name)
        .outerjoin(Team, Team.id == User.team_id)
        .where(
            User.role.in_(("rep", "bdr", "manager")), User.id.in_(users) if users is not None else sa.true()
        )
        .order_by(User.name, User.email)
    ):
        mine = clocks.get(u.id, [])
        out.append(
            TeamRow(
                u.id,
                u.email,
                u.name,
                team_name,
                u.active,
                open_by.get(u.id, 0),
                sum(1 for c in mine if c.assigned_at and c.assigned_at >= day),
                sum(1 for c in mine if matches(c.clock, "running", now=now)),
                sum(1 for c in mine if matches(c.clock, "overdue", now=now)),
                sum(1 for c in mine if matches(c.clock, "breached_week", now=now)),
            )
        )
    return out


def audit(session: Session, lead_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        sa.select(RoutingDecision, User.email, Team.name)
        .outerjoin(User, User.id == RoutingDecision.owner_user_id)
        .outerjoin(Team, Team.id == RoutingDecision.owner_team_id)
        .where(RoutingDecision.lead_id == lead_id)
        .order_by(RoutingDecision.id)
    ).all()
    return [
        {"at": d.at, "reason": d.reason, "owner": email or team_name, "summary": d.summary, "path": d.path}
        for d, email, team_name in rows
    ]


# SLA clocks for many leads (team, reports, the leads list's filter): read once, decided by
# routing/clock.py, never compared in SQL, so every view agrees with the lead page.


@dataclass(frozen=True)
class LeadClock:
    lead_id: int
    rep_id: int | None  # whose clock it is: the user the lead was last assigned to
    assigned_at: datetime | None
    clock: ClockState


def lead_clocks(
    session: Session,
    *,
    now: datetime,
    lead_ids: sa.Select[Any] | None = None,
    reps: frozenset[int] | None = None,
    assigned_since: datetime | None = None,
) -> list[LeadClock]:
    """The clock of every assigned lead with an SLA (limited to `lead_ids`, a select of ids; to
    leads last assigned to `reps`; to assignments since `assigned_since`). A rejected lead belongs
    to the nurture queue now, so the rep is read from the lead's latest assigning decision."""
    latest = (
        sa.select(RoutingDecision.lead_id, sa.func.max(RoutingDecision.id).label("did"))
        .where(RoutingDecision.reason.in_(ASSIGNING), RoutingDecision.owner_user_id.is_not(None))
        .group_by(RoutingDecision.lead_id)
        .subquery()
    )
    q = (
        sa.select(
            Lead.id,
            RoutingDecision.owner_user_id,
            Lead.stage,
            Lead.stage_changed_at,
            Lead.assigned_at,
            Lead.sla_due_at,
            Lead.first_touch_at,
            Lead.accepted_at,
            Lead.rejected_at,
        )
        .outerjoin(latest, latest.c.lead_id == Lead.id)
        .outerjoin(RoutingDecision, RoutingDecision.id == latest.c.did)
        .where(Lead.assigned_at.is_not(None), Lead.sla_due_at.is_not(None))
    )
    if lead_ids is not None:
        q = q.where(Lead.id.in_(lead_ids))
    if reps is not None:
        q = q.where(RoutingDecision.owner_user_id.in_(reps))
    if assigned_since is not None:
        q = q.where(Lead.assigned_at >= assigned_since)
    out = []
    for lid, rep, stage, changed, assigned, due, touched, accepted, rejected in session.execute(q):
        facts = facts_of(
            stage=stage,
            stage_changed_at=changed,
            assigned_at=assigned,
            sla_due_at=due,
            first_touch_at=touched,
            accepted_at=accepted,
            rejected_at=rejected,
        )
        out.append(LeadClock(lid, rep, assigned, clock_state(facts, now=now)))
    return out
