"""Read models for the rep inbox, the manager's team view and a lead's routing audit."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.routing.clock import ClockState, Tally, lead_clock
from leadloop.routing.repository import OPEN_STAGES
from leadloop.routing.sla_clocks import LeadClock, lead_clocks
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
        tally = Tally.of((c.clock for c in mine), now=now)
        out.append(
            TeamRow(
                u.id,
                u.email,
                u.name,
                team_name,
                u.active,
                open_by.get(u.id, 0),
                sum(1 for c in mine if c.assigned_at and c.assigned_at >= day),
                tally.running,
                tally.overdue,
                tally.breached_week,
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
