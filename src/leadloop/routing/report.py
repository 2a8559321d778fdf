"""Speed-to-lead and the lead audit, as reports: time to first touch (median and p90) and the share
within SLA per rep, team, source or grade; rejections by source and campaign with their reasons."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.routing.repository import ASSIGNING
from leadloop.store.tables import Campaign, Lead, RoutingDecision, Team, User

GROUPS = ("rep", "team", "source", "grade")


@dataclass(frozen=True)
class SlaRow:
    group: str
    assigned: int
    touched: int
    median_minutes: float | None
    p90_minutes: float | None
    within_sla: int
    missed: int  # past the deadline without a touch in time (still waiting or touched late)

    @property
    def share_within(self) -> float | None:
        judged = self.within_sla + self.missed
        return self.within_sla / judged if judged else None


def sla_report(
    session: Session, *, since: datetime, now: datetime, by: str = "rep", users: frozenset[int] | None = None
) -> list[SlaRow]:
    """One row per assignment to a rep since `since` (a lead reassigned counts for each rep who had
    it): the current owner's touch and deadline from the lead; an earlier owner whose lead was taken
    away for the SLA counts as a miss."""
    if by not in GROUPS:
        raise ValueError(f"group by one of {', '.join(GROUPS)}")
    rows = session.execute(
        sa.select(
            RoutingDecision.lead_id,
            RoutingDecision.at,
            Lead.assigned_at,
            Lead.first_touch_at,
            Lead.sla_due_at,
            User.email,
            Team.name,
            Lead.source,
            Lead.grade,
        )
        .join(Lead, Lead.id == RoutingDecision.lead_id)
        .join(User, User.id == RoutingDecision.owner_user_id)
        .outerjoin(Team, Team.id == User.team_id)
        .where(
            RoutingDecision.at >= since,
            RoutingDecision.reason.in_(ASSIGNING),
            RoutingDecision.owner_user_id.in_(users) if users is not None else sa.true(),
        )
    ).all()
    taken_for_sla = {
        (lead_id, at)
        for lead_id, at in session.execute(
            sa.select(RoutingDecision.lead_id, RoutingDecision.at).where(
                RoutingDecision.at >= since, RoutingDecision.reason == "sla_reassign"
            )
        )
    }
    reassigned_at: dict[int, list[datetime]] = defaultdict(list)
    for lead_id, at in taken_for_sla:
        reassigned_at[lead_id].append(at)
    groups: dict[str, list[tuple[float | None, bool | None]]] = defaultdict(list)
    for lead_id, at, assigned, touched, due, email, team, source, grade in rows:
        key = {
            "rep": email,
            "team": team or "(no team)",
            "source": source or "(none)",
            "grade": grade or "(none)",
        }[by]
        if assigned == at:  # the lead's current (latest) assignment
            minutes = (touched - at).total_seconds() / 60 if touched else None
            ok: bool | None = (
                None if due is None else (touched <= due if touched else (False if now > due else None))
            )
        else:  # an earlier owner: a miss if the lead was taken from them for the SLA
            minutes = None
            ok = False if any(t > at for t in reassigned_at.get(lead_id, [])) else None
        groups[key].append((minutes, ok))
    out = []
    for key, items in sorted(groups.items()):
        times = np.array([m for m, _ in items if m is not None])
        out.append(
            SlaRow(
                key,
                len(items),
                len(times),
                float(np.median(times)) if len(times) else None,
                float(np.percentile(times, 90)) if len(times) else None,
                sum(1 for _, ok in items if ok is True),
                sum(1 for _, ok in items if ok is False),
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
