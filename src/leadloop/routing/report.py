"""Speed-to-lead and the lead audit, as reports: time to first touch (median and p90) and the share
within SLA per rep, team, source or grade; rejections by source and campaign with their reasons."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from leadloop.routing.clock import matches, span
from leadloop.routing.repository import ASSIGNING
from leadloop.routing.views import LeadClock, lead_clocks
from leadloop.store.tables import Campaign, Lead, RoutingDecision, Team, User

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
    session: Session, *, since: datetime, now: datetime, by: str = "rep", users: frozenset[int] | None = None
) -> list[SlaRow]:
    """One row per rep (by name), team, source or grade: the clocks of the leads assigned since
    `since`, as routing/clock.py decides them (the rep is the one the lead was last assigned to, so
    a lead they rejected still counts for them); plus how many earlier assignments were taken
    away for the SLA."""
    if by not in GROUPS:
        raise ValueError(f"group by one of {', '.join(GROUPS)}")
    # Reps' clocks only: a partner's accept deadline is the partner report's business.
    clocks = [c for c in lead_clocks(session, now=now, reps=users, assigned_since=since) if c.rep_id]
    people = {
        uid: (name or email, team_id, team)
        for uid, name, email, team_id, team in session.execute(
            sa.select(User.id, User.name, User.email, User.team_id, Team.name).outerjoin(
                Team, Team.id == User.team_id
            )
        )
    }
    ids = [c.lead_id for c in clocks]
    extra = (
        {
            lid: (source, grade)
            for lid, source, grade in session.execute(
                sa.select(Lead.id, Lead.source, Lead.grade).where(Lead.id.in_(ids))
            )
        }
        if by in ("source", "grade")
        else {}
    )
    days = max(1, round((now - since).total_seconds() / 86400))

    def key(c: LeadClock) -> tuple[str, str | None]:
        name, team_id, team = people.get(c.rep_id or 0, ("(no rep)", None, None))
        if by == "rep":
            return name, f"rep={c.rep_id}&days={days}" if c.rep_id else None
        if by == "team":
            return team or "(no team)", f"rep_team={team_id}&days={days}" if team_id else None
        source, grade = extra.get(c.lead_id, (None, None))
        return (source or "(none)") if by == "source" else (grade or "(none)"), None

    groups: dict[tuple[str, str | None], list[LeadClock]] = defaultdict(list)
    for c in clocks:
        groups[key(c)].append(c)
    taken: Counter[tuple[str, str | None]] = Counter()
    taken_by = aliased(RoutingDecision)  # a later decision that took the lead away for the SLA
    if by in ("rep", "team"):
        for uid in session.scalars(
            sa.select(RoutingDecision.owner_user_id)
            .join(
                taken_by,
                sa.and_(
                    taken_by.lead_id == RoutingDecision.lead_id,
                    taken_by.reason == "sla_reassign",
                    taken_by.at > RoutingDecision.at,
                ),
            )
            .where(
                RoutingDecision.at >= since,
                RoutingDecision.reason.in_(ASSIGNING),
                RoutingDecision.owner_user_id.in_(users) if users is not None else sa.true(),
            )
            .distinct()
        ):
            name, team_id, team = people.get(uid or 0, ("(no rep)", None, None))
            k = (
                (name, f"rep={uid}&days={days}")
                if by == "rep"
                else (
                    team or "(no team)",
                    f"rep_team={team_id}&days={days}" if team_id else None,
                )
            )
            taken[k] += 1
    out = []
    for k in sorted(set(groups) | set(taken), key=lambda k: (k[0].casefold(), k[1] or "")):
        items = groups.get(k, [])
        taken_minutes = np.array(
            [c.clock.taken.total_seconds() / 60 for c in items if c.clock.taken is not None]
        )
        out.append(
            SlaRow(
                k[0],
                len(items),
                sum(1 for c in items if c.clock.stopped_by == "touched"),
                float(np.median(taken_minutes)) if len(taken_minutes) else None,
                float(np.percentile(taken_minutes, 90)) if len(taken_minutes) else None,
                sum(1 for c in items if matches(c.clock, "met", now=now)),
                sum(1 for c in items if matches(c.clock, "breached", now=now)),
                sum(1 for c in items if matches(c.clock, "waiting", now=now)),
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
