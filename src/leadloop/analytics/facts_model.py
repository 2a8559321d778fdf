"""One row of facts per lead and per opportunity, derived purely from what the warehouse recorded:
the rollup every report groups (ADR 0036). No I/O here; `facts.py` loads, calls `derive`, writes.

Definitions (the reports' docstrings refer here):
- **Funnel stages**: inquiry → mql → sal → sql → opportunity → won. A lead *reached* a stage when its
  stage history (migration 0009) has a move into it, or its own columns say so (`mql_at`,
  `accepted_at` for SAL), or an opportunity linked to it was opened (opportunity) or won (won).
  Reaching a stage implies every earlier one (an import straight into `sql`, a CRM deal won with no
  history), whose arrival time is then unknown. The arrival is the *first* move into the stage: a
  stage that went backwards and forwards again counts once, at its first arrival.
- **Hours in a stage**: from the first arrival at a stage to the first arrival at the next, in whole
  hours (floored), only where both are known and in order; the reports' medians are medians of these.
- **First response**: from the lead's hand-raise to sales (first MQL arrival, else its assignment)
  to its owner's first touch (`first_touch_at`: a call, meeting or e-mail), whole minutes, never
  negative. Buckets: under 5 min, 5-30, 30-60, 1-24 h, over 24 h, never (not touched yet).
- **Within SLA**: touched at or before the SLA due time of its assignment.
- **Recycled**: sales or the desk gave it back to marketing at least once (rejected, cooled, sent to
  nurture, disqualified, recycled). **Reactivated**: it came back to MQL from there (`reactivated`).
- **First seen**: the earliest of the lead's opening, its account's creation and the account's (and
  merged-away accounts') first activity. A won deal is *old* when first seen ≥ 9 calendar months
  before its close.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from leadloop.lifecycle.model import arrives

STAGES = ("inquiry", "mql", "sal", "sql", "opportunity", "won")
# Stages past MQL that a history move may name: the desk's hand-over sits between MQL and SAL.
_RANK = {"inquiry": 0, "mql": 1, "handed_over": 1, "sal": 2, "sql": 3, "opportunity": 4, "won": 5}
RECYCLE_TRIGGERS = frozenset({"rejected", "cooled", "sent_to_nurture", "disqualified", "recycled"})
BUCKETS = ("< 5 min", "5–30 min", "30–60 min", "1–24 h", "> 24 h", "never")
OLD_MONTHS = 9


@dataclass(frozen=True, slots=True)
class Move:
    at: datetime
    from_stage: str | None
    to_stage: str
    trigger: str


@dataclass(frozen=True, slots=True)
class LeadIn:
    """A lead's own columns, as the lifecycle and routing wrote them."""

    id: int
    account_id: int
    product: str
    stage: str
    source: str | None
    campaign_id: int | None
    grade: str | None
    owner_user_id: int | None
    owner_team_id: int | None
    opened_at: datetime
    mql_at: datetime | None
    assigned_at: datetime | None
    sla_due_at: datetime | None
    first_touch_at: datetime | None
    accepted_at: datetime | None
    rejected_at: datetime | None
    rejected_reason: str | None


@dataclass(frozen=True, slots=True)
class OppIn:
    id: int
    lead_id: int | None  # resolved through merges (facts.py)
    account_id: int | None
    product: str | None
    outcome: str
    amount: Decimal
    currency: str
    created_at: datetime
    closed_at: datetime | None
    stage: str | None


@dataclass(frozen=True, slots=True)
class LeadFact:
    lead_id: int
    account_id: int
    product: str
    source: str | None
    campaign_id: int | None
    grade: str | None
    owner_user_id: int | None
    team_id: int | None
    rule: str | None
    cohort: str  # YYYY-MM of the opening
    opened_day: str  # YYYY-MM-DD of the opening (the rollup's day, ADR 0047)
    opened_at: datetime
    first_seen_at: datetime
    furthest: int  # index in STAGES of the furthest stage reached
    lost: bool
    mql_at: datetime | None
    sal_at: datetime | None
    sql_at: datetime | None
    opp_at: datetime | None
    won_at: datetime | None
    h_inquiry: int | None  # whole hours from each stage's arrival to the next one's
    h_mql: int | None
    h_sal: int | None
    h_sql: int | None
    h_opportunity: int | None
    handed: bool  # handed to sales: reached MQL or was assigned to a rep
    assigned_at: datetime | None
    assigned_week: str | None  # the Monday (YYYY-MM-DD) of the assignment's week
    accepted: bool
    rejected: bool
    rejected_reason: str | None
    within_sla: bool
    sla_due_at: datetime | None
    first_touch_at: datetime | None
    response_minutes: int | None
    bucket: str | None  # of BUCKETS; None when never handed to sales
    recycled: bool
    reactivated: bool
    sales_touches: int


@dataclass(frozen=True, slots=True)
class OppFact:
    opp_id: int
    lead_id: int | None
    account_id: int | None
    product: str | None
    outcome: str
    amount: Decimal
    currency: str
    created_at: datetime
    closed_at: datetime | None
    stage: str | None
    close_month: str | None  # YYYY-MM of the close (won or lost)
    months_seen: int | None  # whole months from first seen to the close of a won deal
    reactivated: bool  # its lead came back from recycling before the close


def bucket_of(minutes: int | None) -> str:
    if minutes is None:
        return "never"
    if minutes < 5:
        return BUCKETS[0]
    if minutes < 30:
        return BUCKETS[1]
    if minutes < 60:
        return BUCKETS[2]
    if minutes < 24 * 60:
        return BUCKETS[3]
    return BUCKETS[4]


def whole_months(start: datetime | date, end: datetime | date) -> int:
    """Calendar months from `start` to `end`, counting a month only once its day is reached."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if (end.day, _tod(end)) < (start.day, _tod(start)):
        months -= 1
    return months


def _tod(d: datetime | date) -> tuple[int, int, int, int]:
    return (d.hour, d.minute, d.second, d.microsecond) if isinstance(d, datetime) else (0, 0, 0, 0)


def monday(at: datetime) -> str:
    return (at.date() - timedelta(days=at.weekday())).isoformat()


def _earliest(*values: datetime | None) -> datetime | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


def _hours(a: datetime | None, b: datetime | None) -> int | None:
    if a is None or b is None or b < a:
        return None
    return int((b - a).total_seconds() // 3600)


def arrivals(
    lead: LeadIn, moves: Sequence[Move], opps: Sequence[OppIn]
) -> tuple[int, dict[str, datetime | None]]:
    """The furthest stage reached (index in STAGES, -1: none) and each stage's first arrival."""
    first: dict[str, datetime | None] = dict.fromkeys(STAGES)
    first["inquiry"] = lead.opened_at
    for m in sorted(moves, key=lambda m: m.at):
        stage = "mql" if m.to_stage == "handed_over" else m.to_stage
        if stage in first and arrives(m.from_stage, m.to_stage) and first[stage] is None:
            first[stage] = m.at
    first["mql"] = _earliest(first["mql"], lead.mql_at)
    first["sal"] = _earliest(first["sal"], lead.accepted_at)
    first["opportunity"] = _earliest(first["opportunity"], *(o.created_at for o in opps))
    first["won"] = _earliest(first["won"], *(o.closed_at or o.created_at for o in opps if o.outcome == "won"))
    furthest = max((i for i, s in enumerate(STAGES) if first[s] is not None), default=0)
    furthest = max(furthest, _RANK.get(lead.stage, 0))
    return furthest, first


def derive(
    lead: LeadIn,
    moves: Sequence[Move],
    opps: Sequence[OppIn],
    *,
    first_activity: datetime | None,
    account_created: datetime | None,
    team_of_owner: int | None,
    rule: str | None,
    sales_touches: int,
    campaign_touches: Sequence[tuple[datetime, int]] = (),
) -> LeadFact:
    """Pure: a lead's facts. Its campaign is the one it was captured with; a lead that engagement
    opened (no campaign of its own) is credited to its account's first campaign touch up to its
    opening (`campaign_touches`: (when, campaign) in time order), so ROI and the audit see it."""
    furthest, first = arrivals(lead, moves, opps)
    campaign = lead.campaign_id
    if campaign is None:
        campaign = next((c for at, c in campaign_touches if at <= lead.opened_at), None)
    lost = furthest < STAGES.index("won") and (
        lead.stage == "lost"
        or any(o.outcome == "lost" for o in opps)
        or any(m.to_stage == "lost" for m in moves)
    )
    hours = [_hours(first[a], first[b]) for a, b in pairwise(STAGES)]
    handed = furthest >= 1 or lead.assigned_at is not None
    start = first["mql"] or lead.assigned_at
    response = None
    if handed and start is not None and lead.first_touch_at is not None:
        response = max(0, int((lead.first_touch_at - start).total_seconds() // 60))
    triggers = {m.trigger for m in moves}
    return LeadFact(
        lead_id=lead.id,
        account_id=lead.account_id,
        product=lead.product,
        source=lead.source,
        campaign_id=campaign,
        grade=lead.grade,
        owner_user_id=lead.owner_user_id,
        team_id=team_of_owner if lead.owner_user_id is not None else lead.owner_team_id,
        rule=rule,
        cohort=lead.opened_at.strftime("%Y-%m"),
        opened_day=lead.opened_at.strftime("%Y-%m-%d"),
        opened_at=lead.opened_at,
        first_seen_at=min(v for v in (lead.opened_at, account_created, first_activity) if v is not None),
        furthest=furthest,
        lost=lost,
        mql_at=first["mql"],
        sal_at=first["sal"],
        sql_at=first["sql"],
        opp_at=first["opportunity"],
        won_at=first["won"],
        h_inquiry=hours[0],
        h_mql=hours[1],
        h_sal=hours[2],
        h_sql=hours[3],
        h_opportunity=hours[4],
        handed=handed,
        assigned_at=lead.assigned_at,
        assigned_week=monday(lead.assigned_at) if lead.assigned_at else None,
        accepted=lead.accepted_at is not None or furthest >= 2,
        rejected=lead.rejected_at is not None,
        rejected_reason=lead.rejected_reason,
        within_sla=(
            lead.first_touch_at is not None
            and lead.sla_due_at is not None
            and lead.first_touch_at <= lead.sla_due_at
        ),
        sla_due_at=lead.sla_due_at,
        first_touch_at=lead.first_touch_at,
        response_minutes=response,
        bucket=bucket_of(response) if handed and start is not None else None,
        recycled=bool(triggers & RECYCLE_TRIGGERS),
        reactivated="reactivated" in triggers,
        sales_touches=sales_touches,
    )


def opp_fact(o: OppIn, *, first_seen: datetime | None, moves: Iterable[Move] = ()) -> OppFact:
    closed = o.closed_at or (o.created_at if o.outcome in ("won", "lost") else None)
    end = closed or o.created_at
    return OppFact(
        opp_id=o.id,
        lead_id=o.lead_id,
        account_id=o.account_id,
        product=o.product,
        outcome=o.outcome,
        amount=o.amount,
        currency=o.currency,
        created_at=o.created_at,
        closed_at=closed,
        stage=o.stage,
        close_month=closed.strftime("%Y-%m") if closed and o.outcome in ("won", "lost") else None,
        months_seen=whole_months(first_seen, closed)
        if first_seen and closed and o.outcome == "won"
        else None,
        reactivated=any(m.trigger == "reactivated" and m.at <= end for m in moves),
    )
