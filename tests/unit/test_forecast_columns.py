"""The forecast over columns equals forecast_rules.py applied deal by deal (the report as it was
before it read columns), on random pipelines: stages and their history, closes before and after the
backtest's start, expected dates, slipped deals, two currencies, deals without a stage."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from leadloop.analytics import forecast_columns as columns
from leadloop.analytics.filters import Money
from leadloop.analytics.forecast_rules import (
    Forecast,
    ForecastRow,
    Opp,
    backtest,
    expected_close,
    median_cycle,
    month_of,
    months_ahead,
    probability,
    win_rates,
)
from leadloop.core.arrays import factorize, moments

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
MONEY = Money("USD", {"EUR": Decimal("1.08")})
STAGES = ["Discovery", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]


def reference(opps: Sequence[Opp], *, now: datetime, wanted: list[str], money: Money) -> Forecast:
    """The forecast deal by deal: the rules, summed in Decimal per deal."""
    closed = [o for o in opps if o.outcome in ("won", "lost") and o.closed_at is not None]
    rates, overall = win_rates(closed)
    cycle = median_cycle(closed)
    amount: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    weighted: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    deals: dict[str, int] = defaultdict(int)
    for o in opps:
        if o.outcome == "open":
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
            money.total(amount.get(mo, {})),
            money.total(weighted.get(mo, {})),
            money.total(history.get(f"{int(mo[:4]) - 1}{mo[4:]}", {})),
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


def deals_of(opps: Sequence[Opp]) -> columns.Deals:
    """The columns `columns.load` would read for these deals (history in their order)."""

    def text(at: datetime | date | None) -> str | None:
        if at is None:
            return None
        return at.astimezone(UTC).replace(tzinfo=None).isoformat() if isinstance(at, datetime) else str(at)

    hist = [(i, at, s) for i, o in enumerate(opps) for at, s in o.history]
    stages, codes = factorize([o.stage for o in opps] + [s for _, _, s in hist])
    currencies, cur = factorize([o.currency for o in opps])
    return columns.Deals(
        np.array([o.id for o in opps], np.int64),
        stages,
        codes[: len(opps)],
        np.array([o.outcome for o in opps], dtype=object),
        np.array([int(o.amount * 100) for o in opps], np.int64),
        currencies,
        cur,
        moments([text(o.created_at) for o in opps]),
        moments([text(o.closed_at) for o in opps]),
        moments([text(o.expected_close_on) for o in opps]),
        np.array([i for i, _, _ in hist], np.int64),
        moments([text(at) for _, at, _ in hist]),
        codes[len(opps) :],
    )


def _moment(day: float) -> datetime:
    return (NOW - timedelta(days=day)).replace(microsecond=0)


@st.composite
def pipelines(draw: st.DrawFn) -> list[Opp]:
    out = []
    for i in range(draw(st.integers(0, 40))):
        outcome = draw(st.sampled_from(["open", "open", "won", "lost"]))
        created = _moment(draw(st.floats(0, 500)))
        closed = None
        if outcome != "open" or draw(st.integers(0, 9)) == 0:  # an open deal with a close date: rare
            closed = created + timedelta(days=draw(st.floats(0, 200)))
        steps = draw(st.lists(st.sampled_from(STAGES[:3]), max_size=3))
        history = tuple((created + timedelta(days=3 * k), s) for k, s in enumerate(steps))
        stage = draw(st.one_of(st.none(), st.sampled_from(STAGES)))
        expected = draw(st.one_of(st.none(), st.dates(date(2026, 1, 1), date(2027, 12, 31))))
        cents = draw(st.integers(0, 10**9))
        currency = draw(st.sampled_from(["USD", "EUR"]))
        out.append(
            Opp(i + 1, stage, outcome, Decimal(cents) / 100, currency, created, closed, expected, history)
        )
    return out


@settings(max_examples=150, deadline=None)
@given(
    pipelines(), st.sampled_from([NOW, datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 31, tzinfo=UTC)])
)
def test_the_columns_give_the_rules_forecast(opps: list[Opp], now: datetime) -> None:
    wanted, _ = months_ahead(now, None, None, 8)
    got = columns.forecast(deals_of(opps), now=now, wanted=wanted, money=MONEY, note=None)
    assert got == reference(opps, now=now, wanted=wanted, money=MONEY)


def test_a_stage_rate_needs_enough_closed_deals_and_the_backtest_prices_the_stage_then() -> None:
    """A hand-made case beside the random ones: five closed deals through Proposal (4 won), one
    open deal at Proposal today that stood at Discovery at the backtest's start."""
    t0 = datetime(2026, 7, 1, tzinfo=UTC)
    closed = [
        Opp(
            i,
            "Closed",
            "won" if i < 4 else "lost",
            Decimal(1000),
            "USD",
            t0 - timedelta(days=90),
            t0 - timedelta(days=30),
            None,
            ((t0 - timedelta(days=80), "Proposal"),),
        )
        for i in range(5)
    ]
    open_ = Opp(
        9,
        "Proposal",
        "open",
        Decimal(500),
        "USD",
        t0 - timedelta(days=70),
        None,
        None,
        ((t0 - timedelta(days=70), "Discovery"), (t0 + timedelta(days=10), "Proposal")),
    )
    wanted, _ = months_ahead(NOW, None, None, 6)
    got = columns.forecast(deals_of([*closed, open_]), now=NOW, wanted=wanted, money=MONEY, note=None)
    assert got.rates == {"Proposal": 0.8, "(any)": 0.8}
    assert got.rows[0].open_deals == 1 and got.rows[0].weighted == Decimal("400.00")  # 500 x 0.8
    # at T0 it stood at Discovery, which no closed deal passed: the overall rate then (0.8 too)
    assert got.backtest.pipeline_deals == 1 and got.backtest.predicted == Decimal("400.00")
    assert got == reference([*closed, open_], now=NOW, wanted=wanted, money=MONEY)
