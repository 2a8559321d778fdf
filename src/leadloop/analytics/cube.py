"""The counts rollup of the lead facts (ADR 0047): per month and per day of opening, per (source,
campaign, product, team, rep, grade, rule), the sums every lead-based report groups: how many leads,
how many reached each stage, were recycled or reactivated, were handed to sales and what sales made
of them, the speed-to-lead buckets and the won money of the handed leads. A report over a year sums
a few thousand rows instead of a million facts.

Each measure is defined once, as an expression over `lead_facts` (`MEASURES`); the rollup stores its
sum, and `totals` sums either the rollup or the facts with the same expressions: the facts when the
scope or the grouping is one the rollup cannot answer (a segment: it holds people, not cells), or
when the rollup was not built yet. A date range sums the whole months inside it from the month rows
and the days at its ends from the day rows, so a range need not start on the first of a month.

`rebuild` is the rollup's one writer, called by the facts' refresh in its transaction, for the days
whose facts it rewrote (every day and month when it rebuilt them all)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.analytics.facts_model import BUCKETS
from leadloop.analytics.filters import Scope, day_start
from leadloop.analytics.slices import LF, OF, cell_where, grouped, key_column, where
from leadloop.store.bulk import chunks, connection
from leadloop.store.tables import (
    CUBE_DIMS,
    CUBE_MEASURES,
    LEAD_CUBE,
    LEAD_CUBE_MONEY,
    FactsRefresh,
    Lead,
)

CUBE = LEAD_CUBE
MONEY = LEAD_CUBE_MONEY
STATE = "cube"  # its row in facts_refresh: present once the rollup was built
# A report dimension -> the rollup's column (cohort is the period's month).
DIM_COLUMN = {
    "source": "source",
    "campaign": "campaign_id",
    "product": "product",
    "team": "team_id",
    "rep": "owner_user_id",
    "grade": "grade",
    "rule": "rule",
}


def _n(cond: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.case((cond, 1), else_=0)


def _measures() -> dict[str, sa.ColumnElement[int]]:
    handed = LF.c.handed.is_(True)
    out: dict[str, sa.ColumnElement[int]] = {"leads": sa.literal_column("1")}
    out |= {f"reached_{i}": _n(LF.c.furthest >= i) for i in range(1, 6)}
    out |= {
        "recycled": _n(LF.c.recycled.is_(True)),
        "reactivated": _n(LF.c.reactivated.is_(True)),
        "handed": _n(handed),
        "handed_accepted": _n(sa.and_(handed, LF.c.accepted.is_(True))),
        "handed_rejected": _n(sa.and_(handed, LF.c.rejected.is_(True))),
        "handed_within_sla": _n(sa.and_(handed, LF.c.within_sla.is_(True))),
        "handed_converted": _n(sa.and_(handed, LF.c.furthest >= 4)),
        "handed_won": _n(sa.and_(handed, LF.c.furthest >= 5)),
        "handed_touches": sa.case((handed, LF.c.sales_touches), else_=0),
    }
    for i, bucket in enumerate(BUCKETS):
        b = LF.c.bucket == bucket
        out[f"bucket_{i}_leads"] = _n(b)
        for name, stage in (("sal", 2), ("sql", 3), ("opp", 4), ("won", 5)):
            out[f"bucket_{i}_{name}"] = _n(sa.and_(b, LF.c.furthest >= stage))
    return out


MEASURES = _measures()  # the same list as the rollup's columns (tests/unit/test_report_cube_measures.py)


# --- reading ---------------------------------------------------------------------------------------


def built(session: Session) -> bool:
    return session.get(FactsRefresh, STATE) is not None


def answers(session: Session, scope: Scope, keys: Sequence[str]) -> bool:
    """Can the rollup answer this scope and grouping (else the facts do)?"""
    return scope.segment_id is None and "segment" not in keys and built(session)


def products(session: Session) -> list[str]:
    """The products the leads are about, for a filter's choices: from the rollup's months (a few
    thousand rows) once it is built, else from the leads."""
    if built(session):
        q = sa.select(CUBE.c.product).where(CUBE.c.grain == "M").distinct().order_by(CUBE.c.product)
        return list(session.scalars(q))
    return list(session.scalars(sa.select(Lead.product).distinct().order_by(Lead.product)))


def _month(d: date) -> date:
    return d.replace(day=1)


def _next_month(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def periods(scope: Scope, table: sa.Table = CUBE) -> sa.ColumnElement[bool]:
    """The rollup rows of the scope's range: whole months from month rows, the ends from day rows."""
    return periods_between(scope.since, scope.until, table)


def periods_between(
    since: datetime | None, until: datetime | None, table: sa.Table
) -> sa.ColumnElement[bool]:
    """The rows of a rollup by `grain` ("D": day, "M": month) and `period` (its first day) that
    make up [since, until) (UTC midnights): whole months from month rows, the ends from day rows."""
    lo = since.date() if since is not None else None
    hi = until.date() if until is not None else None  # exclusive
    first = None if lo is None else (lo if lo.day == 1 else _next_month(lo))  # first whole month
    last = None if hi is None else _month(hi)  # end of the whole months (exclusive)
    if first is not None and last is not None and first >= last:  # no whole month inside
        days = [table.c.grain == "D"]
        if lo is not None:
            days.append(table.c.period >= lo.isoformat())
        if hi is not None:
            days.append(table.c.period < hi.isoformat())
        return sa.and_(*days)
    months = [table.c.grain == "M"]
    if first is not None:
        months.append(table.c.period >= first.isoformat())
    if last is not None:
        months.append(table.c.period < last.isoformat())
    parts = [sa.and_(*months)]
    if lo is not None and first is not None and lo < first:
        parts.append(
            sa.and_(
                table.c.grain == "D", table.c.period >= lo.isoformat(), table.c.period < first.isoformat()
            )
        )
    if hi is not None and last is not None and last < hi:
        parts.append(
            sa.and_(table.c.grain == "D", table.c.period >= last.isoformat(), table.c.period < hi.isoformat())
        )
    return sa.or_(*parts)


def cube_where(scope: Scope, table: sa.Table = CUBE) -> list[sa.ColumnElement[bool]]:
    return [periods(scope, table), *cell_where(scope, table)]


def _cube_key(table: sa.Table, dim: str) -> sa.ColumnElement[Any]:
    if dim == "cohort":
        return sa.func.substr(table.c.period, 1, 7)
    return table.c[DIM_COLUMN[dim]]


@dataclass(frozen=True, slots=True)
class Totals:
    """Per group (its raw key values, one per grouping dimension), the sums of the asked measures."""

    names: tuple[str, ...]
    rows: dict[tuple[Any, ...], tuple[int, ...]]

    def get(self, key: tuple[Any, ...]) -> dict[str, int]:
        values = self.rows.get(key, (0,) * len(self.names))
        return dict(zip(self.names, values, strict=True))


def totals(
    session: Session,
    scope: Scope,
    keys: Sequence[str],
    names: Sequence[str],
    *,
    facts: bool = False,
) -> Totals:
    """The sums of `names` (MEASURES) per group of `keys` (report dimensions, not segment) over the
    scope's leads; `facts` forces the reading of the facts (the rollup's reference in tests)."""
    if not facts and answers(session, scope, keys):
        cols = [_cube_key(CUBE, k) for k in keys]
        q = sa.select(*cols, *(sa.func.sum(CUBE.c[n]) for n in names)).where(*cube_where(scope))
    else:
        if len(keys) == 1:
            q, key = grouped(keys[0], *(sa.func.sum(MEASURES[n]) for n in names))
            cols = [key]
        else:
            cols = [key_column(k) for k in keys]
            q = sa.select(*cols, *(sa.func.sum(MEASURES[n]) for n in names)).select_from(LF)
        q = q.where(*where(scope))
    if cols:
        q = q.group_by(*cols)
    out: dict[tuple[Any, ...], tuple[int, ...]] = {}
    for row in session.execute(q):
        values = tuple(int(v or 0) for v in row[len(cols) :])
        if any(values):
            out[tuple(row[: len(cols)])] = values
    return Totals(tuple(names), out)


def handed_won_money(
    session: Session, scope: Scope, keys: Sequence[str], *, facts: bool = False
) -> dict[tuple[Any, ...], dict[str, Decimal]]:
    """Per group, per currency: the won opportunities' amounts of the scope's handed leads (whatever
    the close date)."""
    if not facts and answers(session, scope, keys):
        cols = [_cube_key(MONEY, k) for k in keys]
        q = _money_query(cols, MONEY.c.currency, MONEY.c.handed_won_amount, MONEY)
        q = q.where(*cube_where(scope, MONEY)).group_by(*cols, MONEY.c.currency)
    else:
        if list(keys) == ["segment"]:
            q, one = grouped("segment", OF.c.currency, sa.func.sum(OF.c.amount))
            cols = [one]
            q = q.join(OF, OF.c.lead_id == LF.c.lead_id)
        else:
            cols = [key_column(k) for k in keys]
            q = _money_query(cols, OF.c.currency, OF.c.amount, LF.join(OF, OF.c.lead_id == LF.c.lead_id))
        q = q.where(*where(scope), LF.c.handed.is_(True), OF.c.outcome == "won")
        q = q.group_by(*cols, OF.c.currency)
    out: dict[tuple[Any, ...], dict[str, Decimal]] = {}
    for row in session.execute(q):
        group, code, amount = tuple(row[: len(cols)]), row[len(cols)], row[len(cols) + 1]
        if amount:
            into = out.setdefault(group, {})
            into[code] = into.get(code, Decimal(0)) + Decimal(amount)
    return out


def _money_query(
    cols: list[sa.ColumnElement[Any]],
    currency: sa.ColumnElement[Any],
    amount: sa.ColumnElement[Any],
    base: Any,
) -> sa.Select[Any]:
    return sa.select(*cols, currency, sa.func.sum(amount)).select_from(base)


# --- writing ---------------------------------------------------------------------------------------


def _cells() -> list[sa.ColumnElement[Any]]:
    return [LF.c[d] for d in CUBE_DIMS]


def _days(conn: sa.Connection, since: datetime | None, until: datetime | None) -> None:
    """Insert the day rows of the leads opened in [since, until) (everything when both are None),
    read through the opening's index."""
    cols = ["grain", "period", *CUBE_DIMS, *CUBE_MEASURES]
    sel = sa.select(
        sa.literal("D"), LF.c.opened_day, *_cells(), *(sa.func.sum(m) for m in MEASURES.values())
    ).group_by(LF.c.opened_day, *_cells())
    money_cols = ["grain", "period", *CUBE_DIMS, "currency", "handed_won_amount"]
    money_sel = (
        sa.select(sa.literal("D"), LF.c.opened_day, *_cells(), OF.c.currency, sa.func.sum(OF.c.amount))
        .select_from(LF.join(OF, OF.c.lead_id == LF.c.lead_id))
        .where(LF.c.handed.is_(True), OF.c.outcome == "won")
        .group_by(LF.c.opened_day, *_cells(), OF.c.currency)
    )
    if since is not None and until is not None:
        sel = sel.where(LF.c.opened_at >= since, LF.c.opened_at < until)
        money_sel = money_sel.where(LF.c.opened_at >= since, LF.c.opened_at < until)
    conn.execute(CUBE.insert().from_select(cols, sel))
    conn.execute(MONEY.insert().from_select(money_cols, money_sel))


def _months(conn: sa.Connection, months: list[str] | None) -> None:
    """Insert the month rows of `months` (YYYY-MM; every month when None) as sums of their day rows:
    each lead is in exactly one day, and its cohort is that day's month."""
    for table, measures, extra in (
        (CUBE, CUBE_MEASURES, ()),
        (MONEY, ("handed_won_amount",), ("currency",)),
    ):
        month = sa.func.substr(table.c.period, 1, 7)
        keys = [table.c[d] for d in CUBE_DIMS] + [table.c[e] for e in extra]
        sel = (
            sa.select(sa.literal("M"), month + "-01", *keys, *(sa.func.sum(table.c[m]) for m in measures))
            .where(table.c.grain == "D")
            .group_by(month, *keys)
        )
        cols = ["grain", "period", *CUBE_DIMS, *extra, *measures]
        if months is None:
            conn.execute(table.insert().from_select(cols, sel))
            continue
        for m in months:
            first = date.fromisoformat(m + "-01")
            conn.execute(
                table.insert().from_select(
                    cols,
                    sel.where(
                        table.c.period >= first.isoformat(), table.c.period < _next_month(first).isoformat()
                    ),
                )
            )


def day_runs(days: list[str]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days: (first, last)."""
    out: list[tuple[date, date]] = []
    for d in (date.fromisoformat(x) for x in days):
        if out and out[-1][1] + timedelta(days=1) == d:
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out


def rebuild(session: Session, days: Iterable[str] | None) -> None:
    """Rewrite the rollup's rows of `days` (YYYY-MM-DD) from the facts and of their months from
    those days, or the whole rollup (`days` None). The facts' refresh calls it (ADR 0047)."""
    conn = connection(session)
    if days is None:
        conn.execute(CUBE.delete())
        conn.execute(MONEY.delete())
        _days(conn, None, None)
        _months(conn, None)
        return
    wanted = sorted(set(days))
    if not wanted:
        return
    months = sorted({d[:7] for d in wanted})
    for table in (CUBE, MONEY):
        for part in chunks(wanted):
            conn.execute(table.delete().where(table.c.grain == "D", table.c.period.in_(part)))
        for part in chunks([m + "-01" for m in months]):
            conn.execute(table.delete().where(table.c.grain == "M", table.c.period.in_(part)))
    for first, last in day_runs(wanted):
        _days(conn, day_start(first), day_start(last + timedelta(days=1)))
    _months(conn, months)


def days_of(conn: sa.Connection, lead_ids: Iterable[int]) -> set[str]:
    """The opening days of these leads' facts as stored now."""
    out: set[str] = set()
    for part in chunks(sorted(set(lead_ids))):
        out |= {
            d
            for d in conn.execute(
                sa.select(LF.c.opened_day).where(LF.c.lead_id.in_(part)).distinct()
            ).scalars()
            if d is not None
        }
    return out
