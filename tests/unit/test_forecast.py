"""The forecast's pure rules: which months it shows, when an open deal is expected to close, the win
rate of a stage learned from the stages closed deals passed through, and a backtest that only knows
what was known at its start."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from leadloop.analytics.filters import Money
from leadloop.analytics.forecast_rules import (
    MIN_CLOSED,
    Opp,
    backtest,
    expected_close,
    months_ahead,
    probability,
    win_rates,
)

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
USD = Money("USD", {}, None)


def _opp(
    i: int,
    outcome: str,
    *,
    stage: str | None = None,
    created: datetime = NOW - timedelta(days=200),
    closed: datetime | None = None,
    expected: date | None = None,
    history: tuple[tuple[datetime, str], ...] = (),
    amount: str = "1000",
) -> Opp:
    return Opp(i, stage, outcome, Decimal(amount), "USD", created, closed, expected, history)


def test_the_forecast_looks_ahead_from_this_month() -> None:
    months, note = months_ahead(NOW, None, None, 6)
    assert months == ["2026-11", "2026-12", "2027-01", "2027-02", "2027-03", "2027-04"] and note is None


def test_a_range_that_ends_today_shows_the_horizon() -> None:
    """The dashboards' default range (the last 90 days to today) asks nothing of the future."""
    tomorrow = datetime(NOW.year, NOW.month, NOW.day, tzinfo=UTC) + timedelta(days=1)
    months, note = months_ahead(NOW, NOW - timedelta(days=90), tomorrow, 6)
    assert months == ["2026-11", "2026-12", "2027-01", "2027-02", "2027-03", "2027-04"] and note is None
    assert months_ahead(NOW, None, tomorrow + timedelta(days=1), 6)[0] == ["2026-11"]  # into tomorrow


def test_a_range_in_the_future_picks_its_months_and_one_in_the_past_says_why() -> None:
    since = datetime(2027, 2, 1, tzinfo=UTC)
    until = datetime(2027, 5, 1, tzinfo=UTC)  # exclusive: the range ends on 30 April
    assert months_ahead(NOW, since, until, 6) == (["2027-02", "2027-03", "2027-04"], None)
    # a range that began in the past starts at this month: a past month has no open pipeline
    assert months_ahead(NOW, datetime(2026, 1, 1, tzinfo=UTC), until, 6)[0][0] == "2026-11"
    months, note = months_ahead(NOW, datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC), 6)
    assert months[0] == "2026-11" and len(months) == 6 and note and "in the past" in note


def test_an_open_deal_closes_on_its_expected_date_else_after_the_median_cycle() -> None:
    dated = _opp(1, "open", created=NOW - timedelta(days=5), expected=date(2027, 2, 14))
    assert expected_close(dated, cycle=timedelta(days=30), now=NOW) == datetime(2027, 2, 14, tzinfo=UTC)
    undated = _opp(2, "open", created=NOW - timedelta(days=5))
    assert expected_close(undated, cycle=timedelta(days=30), now=NOW) == NOW + timedelta(days=25)
    slipped = _opp(3, "open", expected=date(2026, 9, 1))  # its date passed: it slipped to this month
    assert expected_close(slipped, cycle=None, now=NOW) == datetime(2026, 11, 1, tzinfo=UTC)


def test_a_stage_rate_counts_every_closed_deal_that_passed_through_the_stage() -> None:
    t = NOW - timedelta(days=100)
    closed = [
        _opp(i, "won" if i < 4 else "lost", stage="Closed", closed=t, history=((t, "Proposal"),))
        for i in range(MIN_CLOSED + 1)
    ] + [_opp(100 + i, "lost", stage="Closed", closed=t) for i in range(3)]
    rates, overall = win_rates(closed)
    assert rates["Proposal"] == 4 / (MIN_CLOSED + 1)  # only the deals that reached Proposal
    assert overall == 4 / (MIN_CLOSED + 4)
    assert probability(_opp(9, "open", stage="Proposal"), rates, overall) == rates["Proposal"]
    # a stage with too few closed deals behind it falls back to the overall rate
    assert probability(_opp(9, "open", stage="Negotiation"), rates, overall) == overall


def test_the_backtest_prices_a_deal_at_the_stage_it_stood_at_then() -> None:
    t0 = datetime(2026, 7, 1, tzinfo=UTC)  # the start of last quarter, seen from NOW
    old = t0 - timedelta(days=60)
    history = [
        _opp(
            i,
            "won" if i % 2 else "lost",
            stage="Closed Won" if i % 2 else "Closed Lost",
            created=old - timedelta(days=30),  # a 30-day cycle: the August deal is due in the quarter
            closed=old,
        )
        for i in range(2 * MIN_CLOSED)
    ]
    # a deal open at T0 at Discovery, won in August: its later "Closed Won" must not price it
    later_won = _opp(
        99,
        "won",
        stage="Closed Won",
        created=t0 - timedelta(days=20),
        closed=t0 + timedelta(days=40),
        history=((t0 - timedelta(days=20), "Discovery"), (t0 + timedelta(days=40), "Closed Won")),
        amount="10000",
    )
    bt = backtest([*history, later_won], now=NOW, money=USD)
    assert bt.made_at == t0 and bt.pipeline_deals == 1
    assert bt.predicted == Decimal("5000.00")  # the overall rate 1/2 then, not Closed Won's 1.0
    assert bt.actual_from_pipeline == Decimal("10000.00")


@given(
    st.lists(
        st.tuples(st.booleans(), st.sampled_from(["A", "B", "C"]), st.sampled_from(["A", "B", "C"])),
        min_size=1,
        max_size=40,
    )
)
def test_every_rate_is_a_share_of_closed_deals(deals: list[tuple[bool, str, str]]) -> None:
    t = NOW - timedelta(days=50)
    closed = [
        _opp(i, "won" if won else "lost", stage=last, closed=t, history=((t, passed),))
        for i, (won, passed, last) in enumerate(deals)
    ]
    rates, overall = win_rates(closed)
    assert overall is not None and 0.0 <= overall <= 1.0
    for stage, rate in rates.items():
        behind = [o for o in closed if stage in o.stages()]
        assert len(behind) >= MIN_CLOSED
        assert rate == sum(o.outcome == "won" for o in behind) / len(behind)
