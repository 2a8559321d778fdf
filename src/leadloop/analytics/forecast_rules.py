"""The forecast's rules, stated one deal at a time (issue 15, item 9): open pipeline x win
probability by expected close month, beside the revenue won in the same month a year earlier, and a
backtest of the forecast as it would have been made at the start of last quarter against what
happened. forecast_columns.py applies them to every deal at once (a property test holds the two
equal); forecast.py reads and answers.

- **Win probability**: the historical win rate of the opportunity's stage: won / closed among the
  closed opportunities that stood at that stage while open (their stage history, migration 0029;
  the stage a deal closed at is not one an open deal stands at), when at least MIN_CLOSED closed deals passed there; otherwise the overall win rate
  (won / closed, all stages). The predictive lead score is not used here.
- **Expected close**: an open opportunity's expected close date when the CRM or the rep gave one,
  else its creation plus the median days from creation to close of won deals; a date already past
  counts in the current month (the deal slipped).
- **Months**: the forecast looks ahead, from this month for HORIZON_MONTHS months (also for a range
  that ends today, the dashboards' default); a date range that reaches past today picks its future
  months instead (a range wholly in the past has no open
  pipeline to forecast, so the default horizon is shown and `note` says why).
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
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from leadloop.analytics.filters import Money

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
    expected_close_on: date | None = None
    history: tuple[tuple[datetime, str], ...] = ()  # (when, stage) from its stage history, in order

    def stages(self) -> set[str]:
        """The stages it stood at while open: its history and, while it is open, its stage (a
        closed deal's last stage is where it closed, "Closed Won", which no open deal stands at)."""
        passed = {s for _, s in self.history}
        if self.outcome == "open":
            return passed | ({self.stage} if self.stage else set())
        return passed - {self.stage}

    def stage_at(self, at: datetime) -> str | None:
        """The stage it stood at just before `at` (None: no history that old)."""
        before = [s for when, s in self.history if when < at]
        return before[-1] if before else None


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
        for stage in o.stages():
            by[stage].append(o.outcome == "won")
    rates = {s: sum(v) / len(v) for s, v in by.items() if len(v) >= MIN_CLOSED}
    overall = sum(o.outcome == "won" for o in closed) / len(closed) if closed else None
    return rates, overall


def median_cycle(closed: Sequence[Opp]) -> timedelta | None:
    days = [
        (o.closed_at - o.created_at).total_seconds() for o in closed if o.outcome == "won" and o.closed_at
    ]
    return timedelta(seconds=statistics.median(days)) if days else None


def expected_close(o: Opp, *, cycle: timedelta | None, now: datetime, use_close: bool = True) -> datetime:
    """Pure: when an open deal is expected to close (never before this month: a past date slipped)."""
    if use_close and o.expected_close_on is not None:
        at = datetime.combine(o.expected_close_on, time(), UTC)
    elif use_close and o.closed_at:
        at = o.closed_at
    else:
        at = o.created_at + (cycle or timedelta(0))
    return max(at, month_start(now))


def months_ahead(
    now: datetime, since: datetime | None, until: datetime | None, months: int
) -> tuple[list[str], str | None]:
    """Pure: the months a forecast shows, and a note when the asked range could not be used."""
    this = month_start(now)
    first, last = this, add_months(this, months - 1)
    note = None
    tomorrow = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    if until is not None and until <= this:
        note = "the date range is in the past, where there is no open pipeline: the next months are shown"
    elif until is not None and until <= tomorrow:
        pass  # a range ending today (the boards' default) asks nothing of the future: the horizon
    elif since is not None or until is not None:
        first = max(this, month_start(since)) if since is not None else this
        last = (
            month_start(until - timedelta(seconds=1)) if until is not None else add_months(first, months - 1)
        )
    out: list[str] = []
    m = first
    while m <= last and len(out) < 120:
        out.append(month_of(m))
        m = add_months(m, 1)
    return out, note


def probability(
    o: Opp, rates: dict[str | None, float], overall: float | None, *, at: datetime | None = None
) -> float:
    """Pure: its stage's win rate (the stage it stood at at `at`, when given), else the overall one."""
    stage = o.stage if at is None else o.stage_at(at)
    return rates.get(stage, overall or 0.0)


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
    note: str | None = None


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
            p = probability(o, rates, overall, at=t0)  # its stage then, never the one it reached later
            predicted[o.currency] += o.amount * Decimal(str(round(p, 6)))
        if o.outcome == "won" and o.closed_at is not None and t0 <= o.closed_at < t1:
            from_pipeline[o.currency] += o.amount
    everything: dict[str, Decimal] = defaultdict(Decimal)
    for o in opps:
        if o.outcome == "won" and o.closed_at is not None and t0 <= o.closed_at < t1:
            everything[o.currency] += o.amount
    return Backtest(t0, t1, n, money.total(predicted), money.total(from_pipeline), money.total(everything))
