"""The lead audit (issue 15, item 2): each handed-over lead as sales experienced it, rolled up by
source, campaign, segment, grade, rule or rep (or any other dimension of `slices.DIMS`).

Per group, over the leads opened in the range that were handed to sales (reached MQL or were
assigned): accepted (reached SAL, or accepted), rejected (with the reasons), touched within SLA
(first touch at or before the due time), converted (reached opportunity), won, and revenue: the won
opportunities linked to those leads, whatever their close date, in one currency (`Money`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.analytics.cube import handed_won_money, totals
from leadloop.analytics.filters import Money, ReportFilters, Scope, resolve
from leadloop.analytics.slices import (
    LF,
    as_key,
    check_dim,
    grouped,
    key_condition,
    labels,
    lead_ids,
    where,
)

COUNTS = (
    "handed",
    "handed_accepted",
    "handed_rejected",
    "handed_within_sla",
    "handed_converted",
    "handed_won",
)
MEASURES: dict[str, sa.ColumnElement[bool]] = {
    "handed": LF.c.handed.is_(True),
    "accepted": sa.and_(LF.c.handed.is_(True), LF.c.accepted.is_(True)),
    "rejected": sa.and_(LF.c.handed.is_(True), LF.c.rejected.is_(True)),
    "within_sla": sa.and_(LF.c.handed.is_(True), LF.c.within_sla.is_(True)),
    "converted": sa.and_(LF.c.handed.is_(True), LF.c.furthest >= 4),
    "won": sa.and_(LF.c.handed.is_(True), LF.c.furthest >= 5),
}


@dataclass(frozen=True, slots=True)
class AuditRow:
    group: str
    key: str  # the drill-down's handle (`audit_leads`)
    handed: int
    accepted: int
    rejected: int
    within_sla: int
    converted: int
    won: int
    revenue: Decimal
    currency: str
    reasons: tuple[tuple[str, int], ...]  # rejection reasons, most frequent first

    @property
    def acceptance(self) -> float | None:
        return self.accepted / self.handed if self.handed else None

    @property
    def win_rate(self) -> float | None:
        return self.won / self.handed if self.handed else None


def _n(cond: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
    return sa.func.sum(sa.case((cond, 1), else_=0))


def reasons(by: str, scope: Scope) -> sa.Select[Any]:
    """Per group, the handed leads rejected for each reason (read from their covering index)."""
    q, key = grouped(by, LF.c.rejected_reason, sa.func.count())
    conds = [*where(scope), LF.c.handed.is_(True), LF.c.rejected.is_(True)]
    return q.where(*conds).group_by(key, LF.c.rejected_reason)


def audit_report(
    session: Session, *, now: datetime, filters: ReportFilters, by: str = "source", money: Money
) -> list[AuditRow]:
    check_dim(by)
    scope = resolve(session, filters)
    counts = {
        as_key(k[0]): (k[0], v)
        for k, v in totals(session, scope, [by], COUNTS).rows.items()
        if v[0]  # groups with handed leads
    }
    why: dict[str, Counter[str]] = defaultdict(Counter)
    for k, reason, n in session.execute(reasons(by, scope)):
        why[as_key(k)][reason or "(no reason)"] += n
    money_of = {as_key(k[0]): v for k, v in handed_won_money(session, scope, [by]).items()}
    names = labels(session, by, [raw for raw, _ in counts.values()])
    rows = []
    for k, (_, c) in counts.items():
        accepted, rejected, within, converted, won = (int(x or 0) for x in c[1:])
        rows.append(
            AuditRow(
                names[k],
                k,
                int(c[0]),
                accepted,
                rejected,
                within,
                converted,
                won,
                money.total(money_of.get(k, {})),
                money.currency,
                tuple(why[k].most_common()),
            )
        )
    return sorted(rows, key=lambda r: (-r.handed, r.group))


def audit_leads(
    session: Session, *, now: datetime, filters: ReportFilters, by: str, key: str, measure: str = "handed"
) -> list[int]:
    """The leads behind one number of the audit: the group's `measure` (a key of MEASURES)."""
    check_dim(by)
    if measure not in MEASURES:
        from leadloop.core.errors import InvalidInput

        raise InvalidInput(f"measure one of {', '.join(MEASURES)}, not {measure!r}")
    return lead_ids(session, resolve(session, filters), [MEASURES[measure], key_condition(by, key)])
