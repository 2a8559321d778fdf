"""The forecast over columns equals forecast_rules.py applied deal by deal (the report as it was
before it read columns), on random pipelines: stages and their history, closes before and after the
backtest's start, expected dates, slipped deals, two currencies, deals without a stage."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from leadloop.analytics import forecast_columns as columns
from leadloop.analytics.filters import Money
from leadloop.analytics.forecast_rules import Opp, months_ahead
from tests.fixtures.forecast_reference import deals_of, reference

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
MONEY = Money("USD", {"EUR": Decimal("1.08")})
STAGES = ["Discovery", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]


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


@settings(deadline=None)
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
