"""What each home page shows, read in a few grouped queries, always within the viewer's scope."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.access.model import Scope
from leadloop.home.model import HOT, RECENT, month_start, week_start
from leadloop.lifecycle.history import ARRIVAL
from leadloop.lifecycle.model import OPEN, Stage, Trigger
from leadloop.routing.clock import Tally, lead_clock
from leadloop.routing.sla_clocks import LeadClock, lead_clocks
from leadloop.store.tables import (
    Account,
    ImportRun,
    Lead,
    LeadStageChange,
    Outbox,
    Team,
    Timer,
    User,
)

OPEN_STAGES = tuple(sorted(OPEN))


@dataclass(frozen=True)
class LeadLine:
    id: int
    account: str
    product: str
    stage: str
    sla_due_at: datetime | None = None
    when: datetime | None = None  # what makes it worth a look now (reactivated at, last activity)


def _lines(session: Session, stmt: Any) -> list[LeadLine]:
    return [LeadLine(*r) for r in session.execute(stmt).all()]


@dataclass
class RepHome:
    open_leads: int
    waiting: int  # the SLA clock runs: no touch, acceptance or rejection yet
    overdue: int
    clocks: list[LeadLine]  # the waiting ones, most urgent first
    reactivated: list[LeadLine]
    hot: list[LeadLine]


def rep_home(session: Session, user_id: int, *, now: datetime) -> RepHome:
    """The rep's own open leads; waiting and overdue are the inbox's clocks (routing/clock.py)."""
    mine = sa.and_(Lead.owner_user_id == user_id, Lead.stage.in_(OPEN_STAGES))

    def count(where: sa.ColumnElement[bool]) -> int:
        return int(session.scalar(sa.select(sa.func.count()).select_from(Lead).where(where)) or 0)

    cols = (Lead.id, Account.name, Lead.product, Lead.stage)
    running = [
        (row, clock)
        for row in session.execute(
            sa.select(
                *cols,
                Lead.sla_due_at,
                Lead.assigned_at,
                Lead.stage_changed_at,
                Lead.first_touch_at,
                Lead.accepted_at,
                Lead.rejected_at,
            )
            .join(Account, Account.id == Lead.account_id)
            .where(mine, Lead.sla_due_at.is_not(None))
        )
        if (clock := lead_clock(row, now=now)).running
    ]
    running.sort(key=lambda rc: (rc[0].sla_due_at, rc[0].id))
    clocks = [LeadLine(r.id, r.name, r.product, r.stage, r.sla_due_at, r.assigned_at) for r, _ in running[:8]]
    reactivated = _lines(
        session,
        sa.select(*cols, Lead.sla_due_at, sa.func.max(LeadStageChange.at))
        .join(Account, Account.id == Lead.account_id)
        .join(LeadStageChange, LeadStageChange.lead_id == Lead.id)
        .where(
            Lead.owner_user_id == user_id,
            LeadStageChange.trigger == Trigger.REACTIVATED.value,
            LeadStageChange.at >= now - RECENT,
        )
        .group_by(*cols, Lead.sla_due_at)
        .order_by(sa.func.max(LeadStageChange.at).desc())
        .limit(8),
    )
    hot = _lines(
        session,
        sa.select(*cols, Lead.sla_due_at, Lead.last_activity_at)
        .join(Account, Account.id == Lead.account_id)
        .where(mine, Lead.last_activity_at >= now - HOT)
        .order_by(Lead.engagement_key.desc(), Lead.id)
        .limit(8),
    )
    return RepHome(
        count(mine),
        len(running),
        sum(1 for _, c in running if c.overdue),
        clocks,
        reactivated,
        hot,
    )


@dataclass(frozen=True)
class RepLoad:
    user_id: int
    name: str
    team: str | None
    open_leads: int = 0
    waiting: int = 0
    overdue: int = 0
    breached_week: int = 0
    assigned_today: int = 0


@dataclass
class ManagerHome:
    reps: list[RepLoad]
    queued: list[tuple[int, str, int]]  # (team id, queue, open leads waiting to be claimed)
    breached_week: int  # every clock their people held that breached in the last 7 days


def manager_home(session: Session, scope: Scope, *, now: datetime) -> ManagerHome:
    """Each rep's load within the manager's scope, breaches in the last 7 days, and the sales queues.
    The SLA numbers are Team's: the same clocks (routing/sla_clocks.py), counted by the leads list's
    own filters, so each links to the leads behind it."""
    users = sa.select(User.id, User.name, Team.name).outerjoin(Team, Team.id == User.team_id)
    users = users.where(User.active, User.role.in_(("rep", "bdr", "manager")))
    if not scope.everything:
        users = users.where(User.id.in_(scope.users or {-1}))
    people = session.execute(users.order_by(User.name)).all()
    ids = [u for u, _, _ in people]
    open_by: dict[int, int] = dict(
        session.execute(  # type: ignore[arg-type]
            sa.select(Lead.owner_user_id, sa.func.count())
            .where(Lead.owner_user_id.in_(ids), Lead.stage.in_(OPEN_STAGES))
            .group_by(Lead.owner_user_id)
        ).all()
    )
    clocks: dict[int, list[LeadClock]] = defaultdict(list)
    for c in lead_clocks(session, now=now, reps=None if scope.everything else scope.users):
        clocks[c.rep_id].append(c)
    day = now - timedelta(hours=24)
    reps = []
    for u, name, team in people:
        mine = clocks.get(u, [])
        tally = Tally.of((c.clock for c in mine), now=now)
        today = sum(1 for c in mine if c.assigned_at is not None and c.assigned_at >= day)
        reps.append(
            RepLoad(
                u, name, team, open_by.get(u, 0), tally.running, tally.overdue, tally.breached_week, today
            )
        )
    everyone = Tally.of((c.clock for cs in clocks.values() for c in cs), now=now)
    queues = sa.select(Team.id, Team.name, sa.func.count(Lead.id)).join(Lead, Lead.owner_team_id == Team.id)
    if not scope.everything:  # the queues they see, not the nurture queue their people's rejects went to
        queues = queues.where(Team.id.in_(scope.queues or {-1}))
    queues = queues.where(Lead.stage.in_(OPEN_STAGES)).group_by(Team.id, Team.name)
    queued = [(i, n, c) for i, n, c in session.execute(queues.order_by(Team.name)).all()]
    return ManagerHome(reps, queued, everyone.breached_week)


@dataclass
class Pipeline:
    week: datetime
    month: datetime
    stages: list[tuple[str, int, int, int]]  # stage, leads in it now, arrived this week, this month
    sources: list[tuple[str, int, int]]  # source, leads opened this week, this month


def pipeline(session: Session, *, now: datetime) -> Pipeline:
    week, month = week_start(now), month_start(now)
    start = min(week, month)
    now_in = dict(session.execute(sa.select(Lead.stage, sa.func.count()).group_by(Lead.stage)).all())
    arrived: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for stage, at in session.execute(
        sa.select(LeadStageChange.to_stage, LeadStageChange.at).where(
            LeadStageChange.at >= start,
            ARRIVAL,  # routing a won lead to a new owner keeps its stage
        )
    ):
        arrived[stage][0] += at >= week
        arrived[stage][1] += at >= month
    stages = [
        (s.value, int(now_in.get(s.value, 0)), arrived[s.value][0], arrived[s.value][1])
        for s in Stage
        if s is not Stage.MERGED and (now_in.get(s.value) or any(arrived[s.value]))
    ]
    opened: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for source, at in session.execute(sa.select(Lead.source, Lead.opened_at).where(Lead.opened_at >= start)):
        opened[source or "(none)"][0] += at >= week
        opened[source or "(none)"][1] += at >= month
    sources = sorted(((k, w, m) for k, (w, m) in opened.items()), key=lambda r: (-r[2], r[0]))
    return Pipeline(week, month, stages, sources)


@dataclass
class Health:
    database: bool
    timers_late: int  # due more than 5 minutes ago and not done: is a worker running?
    outbox_pending: int
    outbox_failing: int  # tried and failed at least once
    oldest_pending: datetime | None
    users: dict[str, int] = field(default_factory=dict)  # active users by role
    last_import: tuple[str, str, datetime] | None = None  # (entity, status, started)


def health(session: Session, *, now: datetime, database: bool) -> Health:
    late = session.scalar(
        sa.select(sa.func.count())
        .select_from(Timer)
        .where(Timer.done_at.is_(None), Timer.due_at < now - timedelta(minutes=5))
    )
    pending = sa.select(sa.func.count()).select_from(Outbox).where(Outbox.sent_at.is_(None))
    failing = pending.where(Outbox.attempts > 0)
    oldest = session.scalar(sa.select(sa.func.min(Outbox.created_at)).where(Outbox.sent_at.is_(None)))
    users = dict(
        session.execute(sa.select(User.role, sa.func.count()).where(User.active).group_by(User.role)).all()
    )
    last = session.execute(
        sa.select(ImportRun.entity, ImportRun.status, ImportRun.started_at)
        .order_by(ImportRun.id.desc())
        .limit(1)
    ).first()
    return Health(
        database,
        int(late or 0),
        int(session.scalar(pending) or 0),
        int(session.scalar(failing) or 0),
        oldest,
        {str(k): int(v) for k, v in users.items()},
        (last[0], last[1], last[2]) if last else None,
    )
