"""The forecast (issue 15, item 9): open pipeline x win probability by expected close month, beside
the revenue won in the same month a year earlier, and a backtest of the forecast as it would have
been made at the start of last quarter against what happened.

- **Win probability**: the historical win rate of the opportunity's stage: won / closed among the
  closed opportunities whose recorded stage was that stage, when at least MIN_CLOSED closed there;
  otherwise the overall win rate (won / closed, all stages). The predictive lead score is not used
  (it is being made honest elsewhere); an opportunity stage history (migration 0029) will make the
  per-stage rate the usual case, since a CRM closes most deals at its own "Closed" stage.
- **Expected close**: an open opportunity's `closed_at` when the CRM gave one (its expected close
  date), else its creation plus the median days from creation to close of won deals; a date already
  past counts in the current month (the deal slipped).
- **Backtest**: at T0, the start of last quarter, the pipeline was the opportunities created before
  T0 and not closed before it; the rates and the median cycle are learned only from deals closed
  before T0, and the expected close comes from the median cycle alone (the real close date is what
  happened). Predicted = the expected value of those closing last quarter; actual = what those deals
  won last quarter, and all revenue won last quarter (new deals included).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.analytics.filters import Money, ReportFilters, resolve
from leadloop.analytics.slices import OF
from leadloop.core.errors import InvalidInput

MIN_CLOSED = 5
HORIZON_MONTHS = 6


@dataclass(frozen=True, slots=True)
class Opp:
    id: int
    stage: str | None
    outcome: str
    amount: Decimal
    currency: str
    created_at: datetime
    closed_at: datetime | None


def month_of(at: datetime) -> str:
    return at.strftime("%Y-%m")


def month_start(at: datetime) -> datetime:
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def add_months(m: datetime, n: int) -> datetime:
    y, mo = divmod(m.month - 1 + n, 12)
    return datetime(m.year + y, mo + 1, 1, tzinfo=UTC)


def quarter_start(at: datetime) -> datetime:
    return datetime(at.year, 3 * ((at.month - 1) // 3) + 1, 1, tzinfo=UTC)


def win_rates(closed: Sequence[Opp]) -> tuple[dict[str | None, float], float | None]:
    """Pure: each stage's win rate (stages with MIN_CLOSED closed deals or more) and the overall one."""
    by: dict[str | None, list[bool]] = defaultdict(list)
    for o in closed:
        by[o.stage].append(o.outcome == "won")
    rates = {s: sum(v) / len(v) for s, v in by.items() if len(v) >= MIN_CLOSED}
    overall = sum(o.outcome == "won" for o in closed) / len(closed) if closed else None
    return rates, overall


def median_cycle(closed: Sequence[Opp]) -> timedelta | None:
    days = [
        (o.closed_at - o.created_at).total_seconds() for o in closed if o.outcome == "won" and o.closed_at
    ]
    return timedelta(seconds=statistics.median(days)) if days else None


def expected_close(o: Opp, *, cycle: timedelta | None, now: datetime, use_close: bool = True) -> datetime:
    at = o.closed_at if use_close and o.closed_at else o.created_at + (cycle or timedelta(0))
    return max(at, month_start(now))


def probability(o: Opp, rates: dict[str | None, float], overall: float | None) -> float:
    return rates.get(o.stage, overall or 0.0)


@dataclass(frozen=True, slots=True)
class ForecastRow:
    month: str  # YYYY-MM
    open_deals: int
    open_amount: Decimal
    weighted: Decimal  # open amount x win probability
    last_year_won: Decimal  # won in the same month a year earlier


@dataclass(frozen=True, slots=True)
class Backtest:
    made_at: datetime  # the start of last quarter
    quarter_end: datetime
    pipeline_deals: int
    predicted: Decimal
    actual_from_pipeline: Decimal
    actual_all: Decimal


@dataclass(frozen=True, slots=True)
class Forecast:
    currency: str
    rates: dict[str, float]  # stage -> win rate ("(any)": the overall rate)
    median_cycle_days: float | None
    rows: list[ForecastRow]
    backtest: Backtest


def _opps(session: Session, product: str | None) -> list[Opp]:
    q = sa.select(
        OF.c.opp_id, OF.c.stage, OF.c.outcome, OF.c.amount, OF.c.currency, OF.c.created_at, OF.c.closed_at
    )
    if product is not None:
        q = q.where(OF.c.product == product)
    return [Opp(*r) for r in session.execute(q)]


def _sum(money: Money, parts: dict[str, Decimal]) -> Decimal:
    return money.total(parts)


def forecast(
    session: Session, *, now: datetime, filters: ReportFilters, money: Money, months: int = HORIZON_MONTHS
) -> Forecast:
    """Open pipeline by expected close month, from this month for `months` months (or the range's
    months when a range is given), beside last year's won revenue in each."""
    scope = resolve(session, filters)
    if not 1 <= months <= 36:
        raise InvalidInput("forecast between 1 and 36 months ahead")
    opps = [o for o in _opps(session, scope.product) if money.only is None or o.currency == money.only]
    money.check({o.currency for o in opps})
    closed = [o for o in opps if o.outcome in ("won", "lost") and o.closed_at is not None]
    rates, overall = win_rates(closed)
    cycle = median_cycle(closed)
    first = month_start(scope.since) if scope.since else month_start(now)
    last = month_start(scope.until - timedelta(seconds=1)) if scope.until else add_months(first, months - 1)
    wanted: list[str] = []
    m = first
    while m <= last and len(wanted) < 120:
        wanted.append(month_of(m))
        m = add_months(m, 1)
    amount: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    weighted: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    deals: dict[str, int] = defaultdict(int)
    for o in opps:
        if o.outcome != "open":
            continue
        mo = month_of(expected_close(o, cycle=cycle, now=now))
        deals[mo] += 1
        amount[mo][o.currency] += o.amount
        weighted[mo][o.currency] += o.amount * Decimal(str(round(probability(o, rates, overall), 6)))
    history: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for o in closed:
        if o.outcome == "won" and o.closed_at is not None:
            history[month_of(o.closed_at)][o.currency] += o.amount
    rows = [
        ForecastRow(
            mo,
            deals.get(mo, 0),
            _sum(money, amount.get(mo, {})),
            _sum(money, weighted.get(mo, {})),
            _sum(money, history.get(f"{int(mo[:4]) - 1}{mo[4:]}", {})),
        )
        for mo in wanted
    ]
    shown = {str(k): v for k, v in rates.items()} | ({"(any)": overall} if overall is not None else {})
    return Forecast(
        money.currency,
        shown,
        cycle.total_seconds() / 86400 if cycle else None,
        rows,
        backtest(opps, now=now, money=money),
    )


def backtest(opps: Sequence[Opp], *, now: datetime, money: Money) -> Backtest:
    """Pure: the forecast made at the start of last quarter for last quarter, against what happened."""
    t1 = quarter_start(now)
    t0 = quarter_start(t1 - timedelta(days=1))
    before = [
        o for o in opps if o.closed_at is not None and o.outcome in ("won", "lost") and o.closed_at < t0
    ]
    rates, overall = win_rates(before)
    cycle = median_cycle(before)
    pipeline = [
        o
        for o in opps
        if o.created_at < t0 and not (o.closed_at is not None and o.outcome != "open" and o.closed_at < t0)
    ]
    predicted: dict[str, Decimal] = defaultdict(Decimal)
    from_pipeline: dict[str, Decimal] = defaultdict(Decimal)
    n = 0
    for o in pipeline:
        if expected_close(o, cycle=cycle, now=t0, use_close=False) < t1:
            n += 1
            predicted[o.currency] += o.amount * Decimal(str(round(probability(o, rates, overall), 6)))
        if o.outcome == "won" and o.closed_at is not None and t0 <= o.closed_at < t1:
            from_pipeline[o.currency] += o.amount
    everything: dict[str, Decimal] = defaultdict(Decimal)
    for o in opps:
        if o.outcome == "won" and o.closed_at is not None and t0 <= o.closed_at < t1:
            everything[o.currency] += o.amount
    return Backtest(t0, t1, n, money.total(predicted), money.total(from_pipeline), money.total(everything))


def forecast_opportunities(
    session: Session, *, now: datetime, filters: ReportFilters, month: str
) -> list[int]:
    """The open opportunities behind a month's forecast (their ids; their leads are on each)."""
    scope = resolve(session, filters)
    opps = _opps(session, scope.product)
    closed = [o for o in opps if o.outcome in ("won", "lost") and o.closed_at is not None]
    cycle = median_cycle(closed)
    return sorted(
        o.id
        for o in opps
        if o.outcome == "open" and month_of(expected_close(o, cycle=cycle, now=now)) == month
    )
