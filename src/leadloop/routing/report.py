"""Speed-to-lead and the lead audit, as reports: time to first touch (median and p90) and the share
within SLA per rep, team, source or grade; rejections by source and campaign with their reasons."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.arrays import moments
from leadloop.lifecycle.history import ARRIVAL
from leadloop.lifecycle.model import BDR_QUEUE, STAGE_LABELS, Stage
from leadloop.routing import clock_arrays
from leadloop.routing.clock import span
from leadloop.routing.sla_clocks import clock_query, taken_for_sla
from leadloop.store.bulk import select_columns
from leadloop.store.tables import Campaign, Lead, LeadStageChange, Team, User

GROUPS = ("rep", "team", "source", "grade")


@dataclass(frozen=True)
class SlaRow:
    """One group's clocks in the period. `filters` is the leads-list query that shows the leads
    behind the group's numbers (None where the list cannot express the group: source, grade)."""

    group: str
    assigned: int
    touched: int
    median_minutes: float | None  # assignment to the stop of the clock (touch, accept or reject)
    p90_minutes: float | None
    within_sla: int  # met
    missed: int  # breached: stopped late or still running past due
    running: int = 0  # still waiting, not yet due
    taken_for_sla: int = 0  # earlier assignments taken away because the SLA lapsed (no link)
    filters: str | None = None

    @property
    def share_within(self) -> float | None:
        judged = self.within_sla + self.missed
        return self.within_sla / judged if judged else None

    @property
    def median_text(self) -> str:
        return "—" if self.median_minutes is None else span(timedelta(minutes=self.median_minutes))

    @property
    def p90_text(self) -> str:
        return "—" if self.p90_minutes is None else span(timedelta(minutes=self.p90_minutes))

    @property
    def breach_rate(self) -> float | None:
        judged = self.within_sla + self.missed
        return self.missed / judged if judged else None


def sla_report(
    session: Session,
    *,
    since: datetime,
    now: datetime,
    by: str = "rep",
    users: frozenset[int] | None = None,
    until: datetime | None = None,
) -> list[SlaRow]:
    """One row per rep (by name), team, source or grade: the clocks of the leads assigned since
    `since`, one per lead, held by whoever the lead's current assignment named (routing/sla_clocks.py;
    a lead they rejected still counts for them), counted by the leads list's own filters; plus how
    many of their earlier assignments were taken away for the SLA."""
    if by not in GROUPS:
        raise ValueError(f"group by one of {', '.join(GROUPS)}")
    # Reps' clocks only: a partner's accept deadline is the partner report's business. Counted over
    # columns (clock_arrays: `clock_state` and `matches` for every lead at once), not clock objects.
    q = clock_query(
        reps=users, assigned_since=since, assigned_before=until, times=lambda c: sa.cast(c, sa.String)
    )
    if by in ("source", "grade"):
        q = q.add_columns(Lead.source, Lead.grade)
    cols = select_columns(session, q)  # raw columns straight from the cursor, no row objects
    c = clock_arrays.clocks(
        now=now,
        stage=cols[2],
        stage_changed_at=moments(cols[3]),
        assigned_at=moments(cols[4]),
        due_at=moments(cols[5]),
        first_touch_at=moments(cols[6]),
        accepted_at=moments(cols[7]),
        rejected_at=moments(cols[8]),
    )
    people = {
        uid: (name or email, team_id, team)
        for uid, name, email, team_id, team in session.execute(
            sa.select(User.id, User.name, User.email, User.team_id, Team.name).outerjoin(
                Team, Team.id == User.team_id
            )
        )
    }
    days = max(1, round((now - since).total_seconds() / 86400))

    def of_user(uid: int) -> tuple[str, str | None]:
        name, team_id, team = people.get(uid, (f"user #{uid}", None, None))
        if by == "rep":
            return name, f"rep={uid}&days={days}"
        return team or "(no team)", f"rep_team={team_id}&days={days}" if team_id else None

    index: dict[tuple[str, str | None], int] = {}
    if by in ("rep", "team"):
        of = {uid: of_user(uid) for uid in set(cols[1])}
        keys = [of[uid] for uid in cols[1]]
    else:
        values = cols[9] if by == "source" else cols[10]
        keys = [(v or "(none)", None) for v in values]
    group = np.array([index.setdefault(k, len(index)) for k in keys], dtype=np.int64)
    size = len(index)

    def count(mask: np.ndarray) -> list[int]:
        return [int(x) for x in np.bincount(group[mask], minlength=size)]

    total = count(np.ones(len(group), bool))
    touched = count(c.stopped_by == clock_arrays.TOUCHED)
    met = count(c.state == clock_arrays.MET)
    breached = count(c.breached)
    waiting = count((c.state == clock_arrays.RUNNING) & ~c.overdue)
    stopped = ~np.isnan(c.taken_minutes)
    order = np.argsort(group[stopped], kind="stable")
    minutes = np.split(c.taken_minutes[stopped][order], np.cumsum(count(stopped))[:-1]) if size else []
    taken: Counter[tuple[str, str | None]] = Counter()
    if by in ("rep", "team"):
        for uid, n in taken_for_sla(session, since=since, reps=users).items():
            taken[of_user(uid)] += n
    out = []
    for k in sorted(set(index) | set(taken), key=lambda k: (k[0].casefold(), k[1] or "")):
        i = index.get(k)
        mins = minutes[i] if i is not None else np.array([])
        out.append(
            SlaRow(
                k[0],
                total[i] if i is not None else 0,
                touched[i] if i is not None else 0,
                float(np.median(mins)) if len(mins) else None,
                float(np.percentile(mins, 90)) if len(mins) else None,
                met[i] if i is not None else 0,
                breached[i] if i is not None else 0,
                waiting[i] if i is not None else 0,
                taken.get(k, 0),
                k[1],
            )
        )
    return out


@dataclass(frozen=True)
class RejectionRow:
    source: str
    campaign: str
    routed: int
    rejected: int
    reasons: dict[str, int]


def rejection_report(session: Session, *, since: datetime) -> list[RejectionRow]:
    """Every lead handed to sales since `since`, and how many sales sent back, by source and campaign."""
    rows = session.execute(
        sa.select(Lead.source, Campaign.name, Lead.rejected_reason, Lead.rejected_at)
        .outerjoin(Campaign, Campaign.id == Lead.campaign_id)
        .where(Lead.assigned_at >= since)
    ).all()
    routed: Counter[tuple[str, str]] = Counter()
    reasons: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for source, campaign, reason, _at in rows:
        key = (source or "(none)", campaign or "(none)")
        routed[key] += 1
        if reason:
            reasons[key][reason] += 1
    return sorted(
        (
            RejectionRow(s, c, n, sum(reasons[(s, c)].values()), dict(reasons[(s, c)].most_common()))
            for (s, c), n in routed.items()
        ),
        key=lambda r: (-r.rejected, -r.routed, r.source),
    )


# The qualification desk (issue 13, item 3): how fast the BDR queue decides, what it decides, how
# long from MQL to hand-over, and the funnel's arrivals per stage. All from the stage history.

DESK_OUTCOMES = {"handed_over": "handed_over", "sent_to_nurture": "nurtured", "disqualified": "disqualified"}


@dataclass(frozen=True)
class DeskRow:
    group: str  # the BDR who decided, or "All"
    arrived: int
    handed_over: int
    nurtured: int
    disqualified: int
    waiting: int  # still at the desk
    median_minutes: float | None  # from reaching the desk to the outcome
    p90_minutes: float | None
    within: int  # decided within the desk's SLA
    missed: int  # decided late, or still waiting past it
    median_mql_to_handover: float | None  # minutes from becoming an MQL to the hand-over

    @property
    def share_within(self) -> float | None:
        judged = self.within + self.missed
        return self.within / judged if judged else None


@dataclass
class _Visit:
    lead_id: int
    arrived: datetime
    mql_at: datetime | None
    decided_at: datetime | None = None
    outcome: str | None = None
    by: int | None = None


def _desk_visits(session: Session, *, since: datetime) -> list[_Visit]:
    desk_team = session.scalar(sa.select(Team.id).where(Team.name == BDR_QUEUE))
    bdrs = set(session.scalars(sa.select(User.id).where(User.role == "bdr")))
    if desk_team is None and not bdrs:
        return []
    h = LeadStageChange
    leads = sa.select(h.lead_id).where(
        h.at >= since,
        h.trigger == "routed",
        sa.or_(h.owner_team_id == (desk_team or -1), h.owner_user_id.in_(bdrs or {-1})),
    )
    rows = session.execute(
        sa.select(h.lead_id, h.at, h.trigger, h.to_stage, h.owner_team_id, h.owner_user_id, h.by_user_id)
        .where(h.lead_id.in_(leads))
        .order_by(h.lead_id, h.at, h.id)
    ).all()
    visits: list[_Visit] = []
    open_: dict[int, _Visit] = {}
    # A lead's own MQL time stands in where its history began after it (stage history started late).
    mql: dict[int, datetime] = {
        i: at for i, at in session.execute(sa.select(Lead.id, Lead.mql_at).where(Lead.id.in_(leads))) if at
    }
    for lead_id, at, trigger, to_stage, team_id, user_id, by in rows:
        if trigger in ("reached_mql", "reactivated"):
            mql[lead_id] = at
        at_desk = to_stage == "mql" and (
            (team_id is not None and team_id == desk_team) or (user_id is not None and user_id in bdrs)
        )
        visit = open_.get(lead_id)
        if trigger in DESK_OUTCOMES and visit is not None:
            visit.decided_at, visit.outcome, visit.by = at, DESK_OUTCOMES[trigger], by
            del open_[lead_id]
        elif at_desk and visit is None and at >= since:
            open_[lead_id] = _Visit(lead_id, at, mql.get(lead_id))
            visits.append(open_[lead_id])
        elif not at_desk and visit is not None:  # it left the desk another way (cooled, reassigned)
            del open_[lead_id]
            visits.remove(visit)
    return visits


def desk_report(session: Session, *, since: datetime, now: datetime, within_minutes: float) -> list[DeskRow]:
    """One row per BDR who decided, and "All" (which also counts what is still waiting). The desk's
    SLA is wall-clock minutes: a queue has no working hours of its own."""
    visits = _desk_visits(session, since=since)
    if not visits:
        return []
    names = dict(session.execute(sa.select(User.id, User.name)).all())
    groups: dict[str, list[_Visit]] = defaultdict(list)
    for v in visits:
        groups["All"].append(v)
        if v.outcome is not None:
            groups[names.get(v.by, "(someone)") if v.by is not None else "(someone)"].append(v)

    def row(group: str, items: list[_Visit]) -> DeskRow:
        took = np.array([(v.decided_at - v.arrived).total_seconds() / 60 for v in items if v.decided_at])
        to_handover = np.array(
            [
                (v.decided_at - v.mql_at).total_seconds() / 60
                for v in items
                if v.outcome == "handed_over" and v.decided_at and v.mql_at
            ]
        )
        late = [v for v in items if (v.decided_at or now) - v.arrived > timedelta(minutes=within_minutes)]
        return DeskRow(
            group,
            len(items),
            sum(1 for v in items if v.outcome == "handed_over"),
            sum(1 for v in items if v.outcome == "nurtured"),
            sum(1 for v in items if v.outcome == "disqualified"),
            sum(1 for v in items if v.outcome is None),
            float(np.median(took)) if len(took) else None,
            float(np.percentile(took, 90)) if len(took) else None,
            sum(1 for v in items if v.decided_at is not None and v not in late),
            len(late),
            float(np.median(to_handover)) if len(to_handover) else None,
        )

    total = groups.pop("All")
    return [*(row(g, items) for g, items in sorted(groups.items())), row("All", total)]


def funnel(session: Session, *, since: datetime) -> list[tuple[str, int]]:
    """Arrivals per stage since `since`, in funnel order (a lead counts once per stage it reached)."""
    h = LeadStageChange
    counts = dict(
        session.execute(
            sa.select(h.to_stage, sa.func.count(sa.distinct(h.lead_id)))
            .where(h.at >= since, ARRIVAL)
            .group_by(h.to_stage)
        ).all()
    )
    order = [Stage.INQUIRY, Stage.MQL, Stage.HANDED_OVER, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY, Stage.WON]
    return [(STAGE_LABELS[s], int(counts.get(s.value, 0))) for s in order]
