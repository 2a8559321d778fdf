"""Funnel and velocity (issue 15, item 5): inquiry → MQL → SAL → SQL → opportunity → won, per group
(monthly cohort by default; source, campaign, segment, product, team, rep, grade, rule).

Per group, over the leads opened in the range: how many reached each stage (reaching a stage implies
the earlier ones, see `facts_model`), each step's conversion rate (reached the next / reached this),
and the median days spent in each stage (first arrival to the next stage's first arrival, whole
hours / 24). Recycled and reactivated leads are counted separately (a lead may be both).

The revenue share ("no lead dies"): of the won opportunities linked to a lead in scope and closed in
the range, the share of revenue from leads that were reactivated before the win, and the share from
leads first seen 9 or more calendar months before the close (`facts_model.OLD_MONTHS`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.analytics.cube import totals
from leadloop.analytics.facts_model import OLD_MONTHS, STAGES
from leadloop.analytics.filters import Money, ReportFilters, resolve
from leadloop.analytics.slices import (
    LF,
    OF,
    as_key,
    check_dim,
    grouped,
    key_condition,
    labels,
    lead_ids,
    median_of_counts,
    where,
)
from leadloop.core.errors import InvalidInput
from leadloop.store.bulk import select_columns

HOURS = ("h_inquiry", "h_mql", "h_sal", "h_sql", "h_opportunity")
COUNTS = ("leads", *(f"reached_{i}" for i in range(1, len(STAGES))), "recycled", "reactivated")
MEASURES: dict[str, sa.ColumnElement[bool]] = {s: LF.c.furthest >= i for i, s in enumerate(STAGES)} | {
    "recycled": LF.c.recycled.is_(True),
    "reactivated": LF.c.reactivated.is_(True),
}


@dataclass(frozen=True, slots=True)
class FunnelRow:
    group: str
    key: str
    reached: tuple[int, ...]  # per STAGES
    median_days: tuple[float | None, ...]  # in each stage but won, per STAGES[:-1]
    recycled: int
    reactivated: int

    @property
    def rates(self) -> tuple[float | None, ...]:
        """Each step's conversion: reached the next stage / reached this one."""
        return tuple(b / a if a else None for a, b in zip(self.reached, self.reached[1:], strict=False))


@dataclass(frozen=True, slots=True)
class RevenueShare:
    currency: str
    won_deals: int
    revenue: Decimal
    reactivated_deals: int
    reactivated_revenue: Decimal
    old_deals: int  # first seen OLD_MONTHS or more before the close
    old_revenue: Decimal

    @property
    def reactivated_share(self) -> float | None:
        return float(self.reactivated_revenue / self.revenue) if self.revenue else None

    @property
    def old_share(self) -> float | None:
        return float(self.old_revenue / self.revenue) if self.revenue else None


@dataclass(frozen=True, slots=True)
class Funnel:
    rows: list[FunnelRow]
    revenue: RevenueShare


def funnel_report(
    session: Session, *, now: datetime, filters: ReportFilters, by: str = "cohort", money: Money
) -> Funnel:
    check_dim(by)
    scope = resolve(session, filters)
    counts = {as_key(k[0]): (k[0], v) for k, v in totals(session, scope, [by], COUNTS).rows.items()}
    hist: dict[str, list[dict[int, int]]] = defaultdict(lambda: [{} for _ in HOURS])
    conds = where(scope)
    for i, name in enumerate(HOURS):  # tens of thousands of (group, hours) rows: straight from the cursor
        keys, hours, ns = select_columns(session, durations(by, name, conds))
        for k, h, n in zip(keys, hours, ns, strict=True):
            hist[as_key(k)][i][int(h)] = int(n)
    names = labels(session, by, [raw for raw, _ in counts.values()])
    rows = []
    for k, (_, r) in counts.items():
        medians = tuple(None if (m := median_of_counts(h)) is None else m / 24 for h in hist[k])
        rows.append(FunnelRow(names[k], k, r[: len(STAGES)], medians, r[-2], r[-1]))
    rows.sort(key=lambda r: r.key if by == "cohort" else (-r.reached[0], r.group))
    return Funnel(
        rows, _revenue_share(session, scope_conds=where(scope, dated=False), scope=scope, money=money)
    )


def durations(by: str, stage_hours: str, covered: list[sa.ColumnElement[bool]]) -> sa.Select[Any]:
    """Per group, how many leads spent each whole number of hours in a stage (`HOURS`)."""
    col = LF.c[stage_hours]
    q, key = grouped(by, col, sa.func.count())
    return q.where(*covered, col.is_not(None)).group_by(key, col)


def _revenue_share(session: Session, *, scope_conds: list[Any], scope: Any, money: Money) -> RevenueShare:
    q = (
        sa.select(
            OF.c.currency,
            sa.func.count(),
            sa.func.sum(OF.c.amount),
            sa.func.sum(sa.case((OF.c.reactivated.is_(True), 1), else_=0)),
            sa.func.sum(sa.case((OF.c.reactivated.is_(True), OF.c.amount), else_=0)),
            sa.func.sum(sa.case((OF.c.months_seen >= OLD_MONTHS, 1), else_=0)),
            sa.func.sum(sa.case((OF.c.months_seen >= OLD_MONTHS, OF.c.amount), else_=0)),
        )
        .select_from(OF.join(LF, LF.c.lead_id == OF.c.lead_id))
        .where(OF.c.outcome == "won", *scope_conds)
        .group_by(OF.c.currency)
    )
    if scope.since is not None:
        q = q.where(OF.c.closed_at >= scope.since)
    if scope.until is not None:
        q = q.where(OF.c.closed_at < scope.until)
    deals = react = old = 0
    total: dict[str, Decimal] = {}
    react_m: dict[str, Decimal] = {}
    old_m: dict[str, Decimal] = {}
    for currency, n, amount, rn, ra, on, oa in session.execute(q):
        if money.only is not None and currency != money.only:
            continue
        deals, react, old = deals + n, react + int(rn or 0), old + int(on or 0)
        total[currency], react_m[currency], old_m[currency] = (
            Decimal(amount or 0),
            Decimal(ra or 0),
            Decimal(oa or 0),
        )
    return RevenueShare(
        money.currency, deals, money.total(total), react, money.total(react_m), old, money.total(old_m)
    )


def funnel_leads(
    session: Session, *, now: datetime, filters: ReportFilters, by: str, key: str, measure: str = "inquiry"
) -> list[int]:
    """The leads behind one number of the funnel: the group's leads that reached `measure` (a stage,
    or recycled / reactivated)."""
    check_dim(by)
    if measure not in MEASURES:
        raise InvalidInput(f"measure one of {', '.join(MEASURES)}, not {measure!r}")
    return lead_ids(session, resolve(session, filters), [MEASURES[measure], key_condition(by, key)])
