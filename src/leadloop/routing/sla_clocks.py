"""Many leads' SLA clocks, read once: whose clock each is, and what routing/clock.py decides. The
SLA report, Team, the manager's home and the leads list's SLA filter all count from `lead_clocks`
and `clock.matches`, so a number and the list it links to cannot disagree.

What a number means: one clock per lead, the clock of its current assignment (the lead's columns),
held by the user that assignment named. A lead a rep rejected late, or let cool away, stays that
rep's breach; a lead taken away for the SLA starts a new clock for its new owner, and the earlier
one is counted per assignment as "reassigned for SLA" (`taken_for_sla`). A clock held by a queue
or a partner (a partner's accept deadline) is nobody's first-touch breach: partners have their own
report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from leadloop.routing.clock import ClockState, clock_state, facts_of
from leadloop.routing.repository import CLOCK_STARTS
from leadloop.store.tables import Lead, RoutingDecision


@dataclass(frozen=True)
class LeadClock:
    lead_id: int
    rep_id: int  # whose clock it is: the user the lead's current assignment named
    assigned_at: datetime | None
    clock: ClockState


def _holder() -> tuple[Any, sa.ColumnElement[Any]]:
    """The decision that started each lead's current clock (its latest in CLOCK_STARTS, looked up
    per lead through the decisions' lead index, never the whole table grouped), and the user it
    named. A lead with no such decision (loaded by hand or imported with its owner) is held by its
    owner."""
    started = aliased(RoutingDecision)
    latest = (
        sa.select(sa.func.max(RoutingDecision.id))
        .where(RoutingDecision.lead_id == Lead.id, RoutingDecision.reason.in_(CLOCK_STARTS))
        .correlate(Lead)
        .scalar_subquery()
    )
    holder = sa.case((started.id.is_(None), Lead.owner_user_id), else_=started.owner_user_id)
    return (started, started.id == latest), holder


def clock_query(
    *,
    lead_ids: sa.Select[Any] | None = None,
    reps: frozenset[int] | None = None,
    assigned_since: datetime | None = None,
    assigned_before: datetime | None = None,
    times: Any = lambda c: c,
) -> sa.Select[Any]:
    """The clock columns of every lead assigned to a user with an SLA (limited to `lead_ids`, a
    select of ids; to clocks held by `reps`; to assignments in [`assigned_since`,
    `assigned_before`)): id, holder, stage, then its six times, each passed through `times`."""
    (started, on), holder = _holder()
    q = (
        sa.select(
            Lead.id,
            holder,
            Lead.stage,
            *(
                times(c)
                for c in (
                    Lead.stage_changed_at,
                    Lead.assigned_at,
                    Lead.sla_due_at,
                    Lead.first_touch_at,
                    Lead.accepted_at,
                    Lead.rejected_at,
                )
            ),
        )
        .select_from(Lead)
        .outerjoin(started, on)
        .where(Lead.assigned_at.is_not(None), Lead.sla_due_at.is_not(None), holder.is_not(None))
    )
    if lead_ids is not None:
        q = q.where(Lead.id.in_(lead_ids))
    if reps is not None:
        q = q.where(holder.in_(reps or {-1}))
    if assigned_since is not None:
        q = q.where(Lead.assigned_at >= assigned_since)
    if assigned_before is not None:
        q = q.where(Lead.assigned_at < assigned_before)
    return q


def lead_clocks(
    session: Session,
    *,
    now: datetime,
    lead_ids: sa.Select[Any] | None = None,
    reps: frozenset[int] | None = None,
    assigned_since: datetime | None = None,
    assigned_before: datetime | None = None,
) -> list[LeadClock]:
    """The clock of every lead assigned to a user with an SLA (`clock_query`'s leads)."""
    q = clock_query(
        lead_ids=lead_ids, reps=reps, assigned_since=assigned_since, assigned_before=assigned_before
    )
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


def taken_for_sla(session: Session, *, since: datetime, reps: frozenset[int] | None = None) -> Counter[int]:
    """Per user, their assignments since `since` that the very next assignment took away because
    the SLA lapsed (one per assignment: the same lead taken from them twice counts twice)."""
    taken_leads = sa.select(RoutingDecision.lead_id).where(
        RoutingDecision.reason == "sla_reassign", RoutingDecision.at >= since
    )
    rows = session.execute(
        sa.select(
            RoutingDecision.lead_id, RoutingDecision.at, RoutingDecision.reason, RoutingDecision.owner_user_id
        )
        .where(RoutingDecision.lead_id.in_(taken_leads), RoutingDecision.reason.in_(CLOCK_STARTS))
        .order_by(RoutingDecision.lead_id, RoutingDecision.id)
    ).all()
    out: Counter[int] = Counter()
    for (lead, at, _, uid), (next_lead, _, next_reason, _) in pairwise(rows):
        if uid is None or (reps is not None and uid not in reps):
            continue
        if next_lead == lead and next_reason == "sla_reassign" and at >= since:
            out[uid] += 1
    return out
