"""Campaign ROI (issue 15, item 4): per campaign, its cost for the period, the leads it sourced
(`leads.campaign_id`: the campaign a lead came from) opened in the range and how far they went, the
cost per lead, MQL, SAL, SQL, opportunity and won deal, the pipeline and revenue it influenced, and
its ROI.

- **Cost for the period**: the campaign's cost, prorated by the days its run (started → ended)
  overlaps the range when both ends are known; in full otherwise. A campaign with no cost recorded
  has no cost (None: "—"), a zero-cost one costs 0.00, and its cost per anything is 0.00.
- **Influenced**: an opportunity (won by close date, open by creation, in the range) is influenced
  by every campaign with an engagement touch of its account's people in its attribution window
  (ADR 0034; touches after the close never count), each in full: influence overlaps, so it is not
  summed across campaigns.
- **Attributed revenue**: the won amount the linear model credits to the campaign (sums to the
  revenue exactly); **ROI** = (attributed revenue - cost) / cost, none when the cost is unknown or 0.
Segment, team and product narrow the lead counts; influence follows the opportunities of the range.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.analytics import credits
from leadloop.analytics.attribution import (
    DEFAULT_HALF_LIFE,
    DEFAULT_WINDOW,
    LINEAR,
    credit,
)
from leadloop.analytics.attribution_queries import load
from leadloop.analytics.cube import totals
from leadloop.analytics.facts_model import STAGES
from leadloop.analytics.filters import Money, ReportFilters, Scope, resolve
from leadloop.analytics.slices import LF, lead_ids
from leadloop.core.errors import InvalidInput
from leadloop.store.tables import Campaign

COUNTED = ("leads", "mql", "sal", "sql", "opportunity", "won")


def prorated(
    cost: Decimal | None, started: datetime | None, ended: datetime | None, scope: Scope
) -> Decimal | None:
    """Pure: the part of `cost` spent in the scope's range (by days of the run that overlap it)."""
    if cost is None or started is None or ended is None or ended <= started:
        return cost
    lo = max(started, scope.since) if scope.since else started
    hi = min(ended, scope.until) if scope.until else ended
    if hi <= lo:
        return Decimal("0.00")
    return (cost * Decimal((hi - lo).total_seconds()) / Decimal((ended - started).total_seconds())).quantize(
        Decimal("0.01")
    )


@dataclass(frozen=True, slots=True)
class RoiRow:
    campaign: str
    key: str  # the campaign's id
    channel: str | None
    started: datetime | None
    ended: datetime | None
    cost: Decimal | None
    counts: tuple[int, ...]  # per COUNTED
    pipeline: Decimal  # open amount influenced
    revenue: Decimal  # won amount influenced
    attributed: Decimal  # won amount credited (linear)
    currency: str

    def cost_per(self, what: str) -> Decimal | None:
        n = self.counts[COUNTED.index(what)]
        if self.cost is None or n == 0:
            return None
        return (self.cost / n).quantize(Decimal("0.01"))

    @property
    def roi(self) -> float | None:
        if not self.cost:
            return None
        return float((self.attributed - self.cost) / self.cost)


def roi_report(
    session: Session,
    *,
    now: datetime,
    filters: ReportFilters,
    money: Money,
    window: timedelta = DEFAULT_WINDOW,
) -> list[RoiRow]:
    scope = resolve(session, filters)
    cq = sa.select(
        Campaign.id, Campaign.name, Campaign.channel, Campaign.cost, Campaign.started_at, Campaign.ended_at
    )
    if scope.campaign_id is not None:
        cq = cq.where(Campaign.id == scope.campaign_id)
    campaigns = session.execute(cq.order_by(Campaign.name)).all()
    names = ["leads", *(f"reached_{i}" for i in range(1, len(STAGES)))]
    counts = {
        k[0]: v for k, v in totals(session, scope, ["campaign"], names).rows.items() if k[0] is not None
    }
    pipeline, revenue, attributed = (
        _kept(session, scope)
        if credits.answers(session, window=window, half_life=DEFAULT_HALF_LIFE)
        else _influence(session, scope, now=now, window=window, currency=money.into)
    )
    return [
        RoiRow(
            name,
            str(cid),
            channel,
            started,
            ended,
            prorated(cost, started, ended, scope),
            counts.get(cid, (0,) * len(COUNTED)),
            money.total(pipeline.get(name, {})),
            money.total(revenue.get(name, {})),
            money.total(attributed.get(name, {})),
            money.currency,
        )
        for cid, name, channel, cost, started, ended in campaigns
    ]


Amounts = dict[str, dict[str, Decimal]]  # campaign -> currency -> amount


def _influence(
    session: Session, scope: Scope, *, now: datetime, window: timedelta, currency: str
) -> tuple[Amounts, Amounts, Amounts]:
    """Pipeline, revenue and attributed revenue per campaign, from the touches in the log."""
    loaded = load(
        session, now=now, start=scope.since, end=scope.until, window=window, default_currency=currency
    )
    pipeline: Amounts = defaultdict(lambda: defaultdict(Decimal))
    revenue: Amounts = defaultdict(lambda: defaultdict(Decimal))
    attributed: Amounts = defaultdict(lambda: defaultdict(Decimal))
    for o in loaded.opps:
        touches = loaded.touches.get(o.id, [])
        if o.outcome == "lost" or not touches:
            continue
        into = revenue if o.outcome == "won" else pipeline
        for name in {t.campaign for t in touches if t.campaign}:
            into[name][o.currency] += o.amount
        if o.outcome == "won":
            for t, part in zip(touches, credit(LINEAR, o, touches), strict=True):
                if t.campaign:
                    attributed[t.campaign][o.currency] += part
    return pipeline, revenue, attributed


def _kept(session: Session, scope: Scope) -> tuple[Amounts, Amounts, Amounts]:
    """The same from the credits the facts' refresh keeps (ADR 0048): an opportunity has one row
    per campaign it touched, with its amount and the campaign's linear credit."""
    pipeline: Amounts = defaultdict(lambda: defaultdict(Decimal))
    revenue: Amounts = defaultdict(lambda: defaultdict(Decimal))
    attributed: Amounts = defaultdict(lambda: defaultdict(Decimal))
    for name, currency, outcome, amount, _n, (linear,) in credits.sums(
        session,
        by="campaign",
        models=[LINEAR],
        start=scope.since,
        end=scope.until,
        campaign=None,
        per_campaign=True,
    ):
        (revenue if outcome == "won" else pipeline)[name][currency] += Decimal(amount).scaleb(-2)
        if outcome == "won":
            attributed[name][currency] += Decimal(linear).scaleb(-2)
    return pipeline, revenue, attributed


def roi_leads(
    session: Session, *, now: datetime, filters: ReportFilters, campaign_id: int, measure: str = "leads"
) -> list[int]:
    """The leads behind one count of a campaign's row (leads, mql, ... won)."""
    if measure not in COUNTED:
        raise InvalidInput(f"measure one of {', '.join(COUNTED)}, not {measure!r}")
    conds = [LF.c.campaign_id == campaign_id, LF.c.furthest >= COUNTED.index(measure)]
    return lead_ids(session, resolve(session, filters), conds)
