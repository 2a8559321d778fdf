"""Expected deal sizes (issue 16, item 5): group medians only when they beat the plain median on
the newest won deals held out; too few deals give no value and say how many more; a currency
without a rate is left out, not guessed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadloop.scoring.deal_value import MIN_DEALS, Currency, Sizes, WonDeal, band, fit

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _deals(sizes: dict[tuple[str, str], float], each: int) -> list[WonDeal]:
    out = []
    for k in range(each):  # interleaved in time, so the held-out quarter has every group
        for (product, size_band), amount in sizes.items():
            out.append(
                WonDeal(product, size_band, amount * (1 + 0.05 * (k % 3)), T0 + timedelta(days=len(out)))
            )
    return out


def test_groups_that_differ_are_used_and_named() -> None:
    sizes = fit(
        _deals({("Analytics", "1000+"): 90_000, ("Analytics", "1–49"): 9_000, ("CRM", "1–49"): 3_000}, 8)
    )
    assert isinstance(sizes, Sizes) and sizes.grouped
    assert sizes.error_grouped is not None and sizes.error_overall is not None
    assert sizes.error_grouped < sizes.error_overall
    value, basis = sizes.estimate("Analytics", "1000+")
    assert (
        value == pytest.approx(94_500)
        and basis == "median of 8 won deals for Analytics at accounts of 1000+ employees"
    )
    value, basis = sizes.estimate("Analytics", "250–999")  # no such group: the product's median
    assert basis == "median of 16 won deals for Analytics"
    assert "groups used" in sizes.lines()[0]


def test_groups_no_better_than_the_plain_median_are_not_used() -> None:
    alike = fit(_deals({("Analytics", "1000+"): 20_000, ("CRM", "1–49"): 20_000}, 8))
    assert isinstance(alike, Sizes) and not alike.grouped
    assert alike.estimate("Analytics", "1000+") == (pytest.approx(21_000), "median of all 16 won deals")
    assert "the median of all is used" in alike.lines()[0]


def test_too_few_won_deals_say_how_many_more() -> None:
    few = _deals({("Analytics", "1–49"): 10_000}, MIN_DEALS - 3)
    assert fit(few) == "no expected value: it needs 3 more won deals with an amount"
    assert fit([]) == f"no expected value: it needs {MIN_DEALS} more won deals with an amount"
    zero = [WonDeal("A", "1–49", 0.0, T0)] * 20  # a zero amount is no size
    assert fit(zero) == f"no expected value: it needs {MIN_DEALS} more won deals with an amount"


def test_bands_and_currencies() -> None:
    assert [band(e) for e in (None, 0, 1, 49, 50, 249, 250, 999, 1000)] == [
        "unknown size",
        "unknown size",
        "1–49",
        "1–49",
        "50–249",
        "50–249",
        "250–999",
        "250–999",
        "1000+",
    ]
    eur = Currency("EUR", {"USD": Decimal("0.9")})
    assert eur.convert(Decimal(100), "EUR") == 100.0 and eur.convert(Decimal(100), None) == 100.0
    assert eur.convert(Decimal(100), "USD") == pytest.approx(90.0)
    assert eur.convert(Decimal(100), "GBP") is None  # no rate: left out, not guessed
    # Money a person reads stays exact: a float keeps about 16 digits and drops the cents here.
    big = Decimal("9876543210987654.32")
    assert eur.exact(big, "EUR") == big and eur.exact(big, "USD") == Decimal("8888888889888888.888")
    assert Decimal(str(eur.convert(big, "EUR"))) != big
    assert eur.exact(Decimal(1), "GBP") is None


@given(st.lists(st.floats(min_value=1, max_value=1e7), min_size=MIN_DEALS, max_size=60))
def test_every_estimate_is_one_of_the_won_sizes_range(amounts: list[float]) -> None:
    deals = [
        WonDeal(f"P{i % 3}", band(i * 97 % 2000), a, T0 + timedelta(days=i)) for i, a in enumerate(amounts)
    ]
    sizes = fit(deals)
    assert isinstance(sizes, Sizes) and sizes.deals == len(amounts)
    for product in ("P0", "P1", "P2", "P9"):
        for b in ("1–49", "1000+", "unknown size"):
            value, _ = sizes.estimate(product, b)
            assert min(amounts) <= value <= max(amounts)
