"""Read models for the rep inbox, the manager's team view and a lead's routing audit."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.routing.repository import OPEN_STAGES
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
        untouched_late = lead.first_touch_at is None and lead.sla_due_at is not None and lead.sla_due_at < now
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
                lead.sla_breached_at is not None or untouched_late,
            )
        )
    return out


@dataclass(frozen=True)
class TeamRow:
    user_id: int
    email: str
    name: str
    team: str | None
    active: bool
    open_leads: int
    assigned_today: int
    waiting: int  # not yet touched
    breached: int  # past due without a touch


def team(session: Session, *, now: datetime, users: frozenset[int] | None = None) -> list[TeamRow]:
    """Each rep's load; `users` limits it to the people a manager may see (None: everyone)."""
    day = now - timedelta(hours=24)
    leads: dict[int, list[tuple[datetime | None, datetime | None, datetime | None]]] = defaultdict(list)
    for owner, assigned, touched, due in session.execute(
        sa.select(Lead.owner_user_id, Lead.assigned_at, Lead.first_touch_at, Lead.sla_due_at).where(
            Lead.owner_user_id.is_not(None), Lead.stage.in_(OPEN_STAGES)
        )
    ):
        if owner is not None:
            leads[owner].append((assigned, touched, due))
    out = []
    for u, team_name in session.execute(
        sa.select(User, Team.name)
        .outerjoin(Team, Team.id == User.team_id)
        .where(
            User.role.in_(("rep", "bdr", "manager")), User.id.in_(users) if users is not None else sa.true()
        )
        .order_by(User.email)
    ):
        mine = leads.get(u.id, [])
        out.append(
            TeamRow(
                u.id,
                u.email,
                u.name,
                team_name,
                u.active,
                len(mine),
                sum(1 for a, _, _ in mine if a and a >= day),
                sum(1 for _, t, _ in mine if t is None),
                sum(1 for _, t, d in mine if t is None and d is not None and d < now),
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
