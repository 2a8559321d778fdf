"""The decay maths, property-tested: ranking key order, exact crossings, order independence."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from leadloop.scoring.decay import ZERO_KEY, Decaying, decay_rate, value_from_key

RATE = decay_rate(30)
times = st.floats(min_value=1.6e9, max_value=1.9e9, allow_nan=False)
weights = st.floats(min_value=0.5, max_value=100, allow_nan=False)
events = st.lists(st.tuples(weights, times), min_size=1, max_size=30)


def build(evts: list[tuple[float, float]]) -> Decaying:
    score = Decaying()
    for w, t in evts:
        score = score.add(w, t, RATE)
    return score


def test_half_life_halves() -> None:
    s = Decaying(80.0, 1.7e9)
    assert s.value_at(1.7e9 + 30 * 86_400, RATE) == pytest.approx(40.0)
    assert s.value_at(1.7e9 + 60 * 86_400, RATE) == pytest.approx(20.0)


@given(a=events, b=events, t=times)
def test_ranking_key_orders_like_the_decayed_values_at_any_time(
    a: list[tuple[float, float]], b: list[tuple[float, float]], t: float
) -> None:
    sa, sb = build(a), build(b)
    va, vb = sa.value_at(t, RATE), sb.value_at(t, RATE)
    assume(abs(va - vb) > 1e-9 * max(va, vb, 1e-300))
    assume(min(va, vb) > 1e-250)  # far below float range both are 0.0 and ties are meaningless
    assert (sa.rank_key(RATE) > sb.rank_key(RATE)) == (va > vb)


@given(evts=events, t=times)
def test_the_key_gives_back_the_value(evts: list[tuple[float, float]], t: float) -> None:
    s = build(evts)
    assert value_from_key(s.rank_key(RATE), t, RATE) == pytest.approx(
        s.value_at(t, RATE), rel=1e-9, abs=1e-300
    )


@given(evts=events, threshold=st.floats(min_value=0.1, max_value=50))
def test_threshold_crossing_time_is_exact(evts: list[tuple[float, float]], threshold: float) -> None:
    s = build(evts)
    when = s.falls_below_at(threshold, RATE)
    if s.s <= threshold:
        assert when is None
        return
    assert when is not None and when >= s.t0
    assert s.value_at(when, RATE) == pytest.approx(threshold, rel=1e-9)
    assert s.value_at(when - 1, RATE) > threshold > s.value_at(when + 1, RATE)


@given(evts=events)
def test_arrival_order_does_not_matter(evts: list[tuple[float, float]]) -> None:
    forward = build(evts)
    backward = build(list(reversed(evts)))
    by_time = build(sorted(evts, key=lambda e: e[1]))
    t = max(e[1] for e in evts) + 1000
    for other in (backward, by_time):
        assert other.value_at(t, RATE) == pytest.approx(forward.value_at(t, RATE), rel=1e-9)


@given(evts=events)
def test_sum_of_individually_decayed_weights(evts: list[tuple[float, float]]) -> None:
    t = max(e[1] for e in evts) + 10
    expected = sum(w * math.exp(-RATE * (t - te)) for w, te in evts)
    assert build(evts).value_at(t, RATE) == pytest.approx(expected, rel=1e-9)


def test_negative_signal_cools_below_zero_and_fades_back() -> None:
    s = Decaying().add(10, 1.7e9, RATE).add(-50, 1.7e9 + 60, RATE)
    assert s.s < 0 and s.rank_key(RATE) == ZERO_KEY and s.current(1.7e9 + 60, RATE) == 0.0
    later = 1.7e9 + 60 + 60 * 86_400  # two half-lives: -40 has faded to about -10
    assert s.value_at(later, RATE) == pytest.approx(-40 / 4, rel=1e-3)
    assert s.add(30, later, RATE).current(later, RATE) == pytest.approx(20, rel=1e-3)


signed = st.floats(min_value=-60, max_value=100, allow_nan=False).filter(lambda w: abs(w) > 0.1)


@given(evts=st.lists(st.tuples(signed, times), min_size=1, max_size=30))
def test_any_signed_events_in_any_order_give_the_vectorised_sum(evts: list[tuple[float, float]]) -> None:
    t = max(e[1] for e in evts) + 10
    expected = sum(w * math.exp(-RATE * (t - te)) for w, te in evts)
    for order in (evts, list(reversed(evts)), sorted(evts, key=lambda e: e[1])):
        assert build(order).value_at(t, RATE) == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="half-life must be positive"):
        decay_rate(-1)
    with pytest.raises(ValueError, match="threshold must be positive"):
        Decaying(1, 0).falls_below_at(0, RATE)
