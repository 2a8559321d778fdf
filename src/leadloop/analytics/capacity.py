"""Capacity (issue 15, item 8): lead flow against the reps' capacity, and what handling a lead
costs by channel, so a leader can see when more reps, a BDR desk or stricter scoring would pay.

- **Leads per rep per week**: the leads opened in the range, by their owner now and the week
  (Monday) of their assignment, against `CapacityConfig.leads_per_week` (a setting:
  LEADLOOP_REP_CAPACITY_PER_WEEK). Median first response per rep-week, in minutes.
- **Load curve**: rep-weeks in bands of load (share of capacity: up to 50 %, 50-100 %, 100-150 %,
  over 150 %), with their leads, median first response and share touched within SLA: does the first
  touch slow down as load grows?
- **Cost of handling a lead by channel** (the campaign's channel, else the lead's source): the
  assumptions are settings, stated on the report: each sales touch (call, meeting, e-mail after the
  lead opened) takes `minutes_per_touch`, each handed lead `minutes_per_lead` more, at
  `cost_per_hour` of a front-line rep. Shown with the leads, won deals and revenue of the channel,
  so cost per won deal and revenue per lead sit side by side.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.analytics.cube import handed_won_money, totals
from leadloop.analytics.filters import Money, ReportFilters, Scope, resolve
from leadloop.analytics.slices import LF, NONE, median_of_counts, where
from leadloop.store.tables import Campaign, User

BANDS = ("≤ 50 %", "50-100 %", "100-150 %", "> 150 %")


@dataclass(frozen=True, slots=True)
class CapacityConfig:
    leads_per_week: int = 25
    cost_per_hour: Decimal = Decimal("60")
    minutes_per_touch: int = 10
    minutes_per_lead: int = 5


def band_of(leads: int, capacity: int) -> str:
    load = leads / capacity if capacity else float("inf")
    return BANDS[0] if load <= 0.5 else BANDS[1] if load <= 1 else BANDS[2] if load <= 1.5 else BANDS[3]


@dataclass(frozen=True, slots=True)
class RepWeek:
    rep: str
    key: str  # the rep's user id
    week: str  # the Monday, YYYY-MM-DD
    leads: int
    load: float  # leads / capacity
    median_response_minutes: float | None


@dataclass(frozen=True, slots=True)
class LoadBand:
    band: str
    rep_weeks: int
    leads: int
    median_response_minutes: float | None
    within_sla: int


@dataclass(frozen=True, slots=True)
class ChannelCost:
    channel: str
    leads: int
    sales_touches: int
    handling_cost: Decimal
    won: int
    revenue: Decimal
    currency: str

    @property
    def cost_per_lead(self) -> Decimal | None:
        return (self.handling_cost / self.leads).quantize(Decimal("0.01")) if self.leads else None

    @property
    def cost_per_won(self) -> Decimal | None:
        return (self.handling_cost / self.won).quantize(Decimal("0.01")) if self.won else None


@dataclass(frozen=True, slots=True)
class Capacity:
    config: CapacityConfig
    weeks: list[RepWeek]
    bands: list[LoadBand]
    channels: list[ChannelCost]


def handling_cost(leads: int, touches: int, config: CapacityConfig) -> Decimal:
    minutes = Decimal(touches * config.minutes_per_touch + leads * config.minutes_per_lead)
    return (minutes / 60 * config.cost_per_hour).quantize(Decimal("0.01"))


def rep_weeks(scope: Scope) -> sa.Select[Any]:
    """Per rep and week of assignment: how many leads took each whole number of minutes to a first
    touch, within SLA or not; read from its covering index (ADR 0047)."""
    cols = (LF.c.owner_user_id, LF.c.assigned_week, LF.c.response_minutes, LF.c.within_sla)
    return (
        sa.select(*cols, sa.func.count())
        .where(*where(scope), LF.c.owner_user_id.is_not(None), LF.c.assigned_week.is_not(None))
        .group_by(*cols)
    )


def capacity_report(
    session: Session,
    *,
    now: datetime,
    filters: ReportFilters,
    money: Money,
    config: CapacityConfig | None = None,
) -> Capacity:
    config = config or CapacityConfig()
    scope = resolve(session, filters)
    per: dict[tuple[int, str], dict[int, int]] = defaultdict(dict)
    leads: dict[tuple[int, str], int] = defaultdict(int)
    within: dict[tuple[int, str], int] = defaultdict(int)
    q = rep_weeks(scope)
    for rep, week, minutes, ok, n in session.execute(q):
        k = (rep, week)
        leads[k] += n
        within[k] += n if ok else 0
        if minutes is not None:
            per[k][minutes] = per[k].get(minutes, 0) + n
    names = {i: n or e for i, n, e in session.execute(sa.select(User.id, User.name, User.email))}
    weeks = [
        RepWeek(
            str(names.get(r, f"user #{r}")),
            str(r),
            w,
            n,
            n / config.leads_per_week,
            median_of_counts(per[(r, w)]),
        )
        for (r, w), n in sorted(leads.items(), key=lambda kv: (kv[0][1], str(names.get(kv[0][0], ""))))
    ]
    band_counts: dict[str, dict[int, int]] = defaultdict(dict)
    band_rows: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for k, n in leads.items():
        b = band_of(n, config.leads_per_week)
        band_rows[b][0] += 1
        band_rows[b][1] += n
        band_rows[b][2] += within[k]
        for m, c in per[k].items():
            band_counts[b][m] = band_counts[b].get(m, 0) + c
    bands = [
        LoadBand(b, band_rows[b][0], band_rows[b][1], median_of_counts(band_counts[b]), band_rows[b][2])
        for b in BANDS
    ]
    return Capacity(config, weeks, bands, _channels(session, scope=scope, money=money, config=config))


def _channels(session: Session, *, scope: Scope, money: Money, config: CapacityConfig) -> list[ChannelCost]:
    """Per channel (the campaign's, else the lead's source): the handed leads, their sales touches,
    the won ones and their won money."""
    of: dict[int | None, str | None] = dict(session.execute(sa.select(Campaign.id, Campaign.channel)).all())

    def channel(campaign_id: int | None, source: str | None) -> str | None:
        named = of.get(campaign_id)
        return named if named is not None else source

    keys = ["campaign", "source"]
    counts: dict[str | None, tuple[int, int, int]] = {}
    for (cid, source), (n, t, w) in totals(
        session, scope, keys, ["handed", "handed_touches", "handed_won"]
    ).rows.items():
        c = channel(cid, source)
        if n:
            was = counts.get(c, (0, 0, 0))
            counts[c] = (was[0] + n, was[1] + t, was[2] + w)
    revenue: dict[str | None, dict[str, Decimal]] = defaultdict(dict)
    for (cid, source), amounts in handed_won_money(session, scope, keys).items():
        into = revenue[channel(cid, source)]
        for currency, amount in amounts.items():
            into[currency] = into.get(currency, Decimal(0)) + amount
    rows = [
        ChannelCost(
            c or NONE, n, t, handling_cost(n, t, config), w, money.total(revenue.get(c, {})), money.currency
        )
        for c, (n, t, w) in counts.items()
    ]
    return sorted(rows, key=lambda r: (-r.leads, r.channel))
