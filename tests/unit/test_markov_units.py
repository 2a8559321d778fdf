"""`markov_units` (integers) gives exactly `credit(MARKOV)`'s parts (fractions), cent for cent: the
kept-credits path of the attribution report (ADR 0048) shares the data-driven model out with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from leadloop.analytics.attribution import (
    MARKOV,
    NO_CAMPAIGN,
    Opp,
    Touch,
    credit,
    markov_units,
    scaled_removal,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NAMES = ["a", "b", "c", NO_CAMPAIGN]


@given(
    names=st.lists(st.sampled_from(NAMES), min_size=1, max_size=12),
    effects=st.dictionaries(
        st.sampled_from(NAMES),
        st.one_of(st.just(0.0), st.just(1 / 3), st.floats(min_value=-0.5, max_value=1.0, allow_nan=False)),
    ),
    cents=st.integers(min_value=0, max_value=10**12),
)
def test_integer_parts_equal_the_fraction_parts(
    names: list[str], effects: dict[str, float], cents: int
) -> None:
    opp = Opp(1, Decimal(cents).scaleb(-2), "USD", T0, None, "won")
    touches = [
        Touch(i, T0 + timedelta(hours=i), None if n == NO_CAMPAIGN else n, None, None, 1, "page_view")
        for i, n in enumerate(names)
    ]
    want = [int(p.scaleb(2)) for p in credit(MARKOV, opp, touches, removal=effects)]
    scaled, _ = scaled_removal(effects)
    got = markov_units(cents, names, scaled)
    assert got == want
    assert sum(got) == cents


def test_ties_go_to_the_earlier_touch_and_no_effect_is_linear() -> None:
    scaled, _ = scaled_removal({"a": 0.5, "b": 0.5})
    assert markov_units(1, ["a", "b"], scaled) == [1, 0]  # one cent, two equal shares
    assert markov_units(100, ["x", "y", "x"], scaled) == [34, 33, 33]  # neither learnt: linear
    assert markov_units(10, ["a", "a", "b"], scaled) == [3, 2, 5]  # a's half shared by its two touches
