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

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.analytics.cube import handed_won_money, totals
from leadloop.analytics.filters import Money, ReportFilters, Scope, resolve
from leadloop.analytics.slices import LF, NONE, where
from leadloop.core.arrays import weighted_medians
from leadloop.store.bulk import select_columns
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
    """Counted over columns: `rep_weeks`' groups in (rep, week, minutes) order, straight from the
    cursor, each rep-week's median by `weighted_medians` (`median_of_counts` for all at once)."""
    config = config or CapacityConfig()
    scope = resolve(session, filters)
    q = rep_weeks(scope).order_by(LF.c.owner_user_id, LF.c.assigned_week, LF.c.response_minutes)
    reps, week_of, minutes, ok, count = select_columns(session, q)
    rep = np.array(reps, np.int64)
    week = np.array(week_of, dtype=object)
    n = np.array(count, np.int64)
    new = np.ones(len(rep), bool)
    new[1:] = (rep[1:] != rep[:-1]) | (week[1:] != week[:-1])
    seg = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    leads = np.add.reduceat(n, starts) if len(n) else n
    within = np.add.reduceat(n * np.array(ok, bool), starts) if len(n) else n
    timed = np.array([m is not None for m in minutes], bool)
    mins = np.array([m for m in minutes if m is not None], np.int64)
    medians = weighted_medians(seg[timed], mins, n[timed], len(starts))
    names = {i: nm or e for i, nm, e in session.execute(sa.select(User.id, User.name, User.email))}
    weeks = sorted(
        (
            RepWeek(
                str(names.get(r, f"user #{r}")),
                str(r),
                w,
                int(k),
                int(k) / config.leads_per_week,
                None if np.isnan(m) else float(m),
            )
            for r, w, k, m in zip(
                rep[starts].tolist(), week[starts].tolist(), leads.tolist(), medians.tolist(), strict=True
            )
        ),
        key=lambda x: (x.week, x.rep, int(x.key)),
    )
    band = np.array([BANDS.index(band_of(int(k), config.leads_per_week)) for k in leads.tolist()], np.int64)
    row_band = band[seg[timed]]
    order = np.lexsort((mins, row_band))
    band_medians = weighted_medians(row_band[order], mins[order], n[timed][order], len(BANDS))
    bands = [
        LoadBand(
            b,
            int((band == i).sum()),
            int(leads[band == i].sum()),
            None if np.isnan(band_medians[i]) else float(band_medians[i]),
            int(within[band == i].sum()),
        )
        for i, b in enumerate(BANDS)
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
