"""Attribution models, pure: every model's credits sum to exactly the amount, and each keeps its
shape (first/last take all, linear is even, U/W/full-path put their shares on the key touches,
time-decay favours the recent); the Markov removal effects agree with removing each campaign and
solving again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadloop.analytics.attribution import (
    MODELS,
    Opp,
    Timeline,
    Touch,
    UnknownModel,
    credit,
    in_window,
    split_exact,
    weights,
)
from leadloop.analytics.markov import removal_effects

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CAMPAIGNS = ["Spring webinar", "Paid search", "Newsletter", None]


def touch(i: int, days: float, campaign: str | None = "Paid search") -> Touch:
    return Touch(i, T0 + timedelta(days=days), campaign, "web", None, 1, "page_view")


def opp(amount: str = "1000.00", created: float = 30, closed: float | None = 60, **kw: object) -> Opp:
    return Opp(
        1,
        Decimal(amount),
        "EUR",
        T0 + timedelta(days=created),
        None if closed is None else T0 + timedelta(days=closed),
        "won",
        **kw,  # type: ignore[arg-type]
    )


amounts = st.decimals(min_value=Decimal("0"), max_value=Decimal("10000000"), places=2)
touch_lists = st.lists(
    st.tuples(st.floats(min_value=0, max_value=59, allow_nan=False), st.sampled_from(CAMPAIGNS)),
    min_size=1,
    max_size=25,
).map(lambda xs: sorted((touch(i, d, c) for i, (d, c) in enumerate(xs)), key=lambda t: (t.at, t.id)))
removals = st.dictionaries(st.sampled_from([*CAMPAIGNS[:3], "(no campaign)"]), st.floats(0, 1))


@settings(max_examples=300, deadline=None)
@given(amount=amounts, touches=touch_lists, model=st.sampled_from(MODELS), removal=removals)
def test_every_model_gives_away_exactly_the_amount(
    amount: Decimal, touches: list[Touch], model: str, removal: dict[str, float]
) -> None:
    parts = credit(model, opp(str(amount)), touches, removal=removal)
    assert len(parts) == len(touches)
    assert sum(parts, Decimal(0)) == amount
    assert all(p >= 0 for p in parts)
    assert sum(weights(model, opp(), touches, removal=removal), Fraction(0)) == 1


@given(amount=amounts, touches=touch_lists)
def test_first_and_last_touch_give_everything_to_one_touch(amount: Decimal, touches: list[Touch]) -> None:
    o = opp(str(amount))
    first, last = credit("first_touch", o, touches), credit("last_touch", o, touches)
    assert first[0] == amount and all(p == 0 for p in first[1:])
    assert last[-1] == amount and all(p == 0 for p in last[:-1])


@given(amount=amounts, touches=touch_lists)
def test_linear_shares_differ_by_at_most_one_cent(amount: Decimal, touches: list[Touch]) -> None:
    parts = credit("linear", opp(str(amount)), touches)
    assert max(parts) - min(parts) <= Decimal("0.01")


def test_u_shaped_is_40_20_40() -> None:
    ts = [touch(i, i) for i in range(5)]
    assert credit("u_shaped", opp("100.00"), ts) == [Decimal(x) for x in ("40", "6.67", "6.67", "6.66", "40")]
    assert credit("u_shaped", opp("100.00"), ts[:2]) == [Decimal(50), Decimal(50)]
    assert credit("u_shaped", opp("100.00"), ts[:1]) == [Decimal(100)]


def test_w_shaped_puts_30_on_first_lead_creation_and_opportunity_creation() -> None:
    # touches on days 0..5; the lead was created on day 2, the opportunity on day 4.5
    ts = [touch(i, i) for i in range(6)]
    o = opp("100.00", created=4.5, closed=10, lead_created_at=T0 + timedelta(days=2))
    a, b = Fraction(3, 10), Fraction(1, 30)
    assert weights("w_shaped", o, ts) == [a, b, a, b, a, b]
    # no lead known: the first touch is the lead's creation too, and takes both shares
    assert weights("w_shaped", opp(created=4.5), ts)[0] == Fraction(3, 5)
    # full path: 22.5 % on each of first, lead creation, opportunity creation and the last touch
    w = weights("full_path", o, ts)
    assert [w[i] for i in (0, 2, 4, 5)] == [Fraction(9, 40)] * 4
    assert w[1] == w[3] == Fraction(1, 20)


def test_when_every_touch_holds_a_key_the_rest_goes_to_the_keys() -> None:
    ts = [touch(0, 0), touch(1, 40)]  # opportunity created on day 30: touch 0 opens it, 1 closes
    # W-shaped: touch 0 is first, lead and opportunity creation (90 %); touch 1 is "the rest"
    assert weights("w_shaped", opp(), ts) == [Fraction(9, 10), Fraction(1, 10)]
    assert weights("full_path", opp(), ts) == [
        Fraction(27, 40) + Fraction(1, 20),
        Fraction(9, 40) + Fraction(1, 20),
    ]


def test_an_opportunity_created_before_any_touch_counts_the_first_as_its_creation() -> None:
    ts = [touch(0, 35), touch(1, 40), touch(2, 50)]
    assert weights("w_shaped", opp(created=30), ts) == [Fraction(9, 10), Fraction(1, 20), Fraction(1, 20)]


@settings(deadline=None)
@given(touches=touch_lists, days=st.integers(1, 60))
def test_time_decay_gives_a_more_recent_touch_more(touches: list[Touch], days: int) -> None:
    w = weights("time_decay", opp(), touches, half_life=timedelta(days=days))
    assert all(a <= b for a, b in pairwise(w))
    assert all(a < b for (a, ta), (b, tb) in pairwise(zip(w, touches, strict=True)) if ta.at < tb.at)


def test_time_decay_halves_per_half_life() -> None:
    w = weights("time_decay", opp(), [touch(0, 0), touch(1, 7), touch(2, 14)], half_life=timedelta(days=7))
    assert w == [Fraction(1, 7), Fraction(2, 7), Fraction(4, 7)]


def test_the_window_leaves_out_touches_after_the_close_and_before_its_start() -> None:
    now = T0 + timedelta(days=400)
    ts = [touch(0, -200), touch(1, 10), touch(2, 60), touch(3, 61)]
    assert [t.id for t in in_window(opp(created=30, closed=60), ts, now=now)] == [1, 2]
    assert [t.id for t in in_window(opp(created=30, closed=None), ts, now=now)] == [1, 2, 3]
    assert [t.id for t in in_window(opp(), ts, now=now, window=timedelta(days=300))] == [0, 1, 2]


@given(
    days=st.lists(st.integers(-120, 120), max_size=30),
    created=st.integers(-60, 60),
    length=st.none() | st.integers(0, 90),
    window_days=st.integers(0, 200),
)
def test_a_timeline_s_window_is_the_touches_in_it_in_order(
    days: list[int], created: int, length: int | None, window_days: int
) -> None:
    """Touches in any order, at shared instants too: bisection gives what filtering and sorting give."""
    ts = [touch(i, d) for i, d in reversed(list(enumerate(days)))]
    o = opp(created=created, closed=None if length is None else created + length)
    now, window = T0 + timedelta(days=100), timedelta(days=window_days)
    start, end = o.created_at - window, o.closed_at or now
    want = sorted((t for t in ts if start <= t.at <= end), key=lambda t: (t.at, t.id))
    assert Timeline(ts).window(o, now=now, window=window) == want
    assert in_window(o, ts, now=now, window=window) == want


def test_split_is_exact_on_odd_amounts_and_refuses_bad_weights() -> None:
    assert split_exact(Decimal("0.05"), [1, 1, 1]) == [Decimal("0.02"), Decimal("0.02"), Decimal("0.01")]
    assert split_exact(Decimal("10"), [1, 2]) == [Decimal("3.33"), Decimal("6.67")]
    assert split_exact(Decimal("1.005"), [1, 1]) == [Decimal("0.503"), Decimal("0.502")]
    with pytest.raises(ValueError):
        split_exact(Decimal(1), [0, 0])
    with pytest.raises(ValueError):
        split_exact(Decimal(1), [])


def test_an_unknown_model_is_named() -> None:
    with pytest.raises(UnknownModel, match=r"'shapely'.*first_touch"):
        credit("shapely", opp(), [touch(0, 1)])


def test_no_touches_no_credits() -> None:
    assert credit("linear", opp(), []) == []


# Markov


def _brute_removal(paths: list[tuple[list[str], bool]]) -> dict[str, float]:
    """Remove each campaign and solve the chain again: the definition, one solve per campaign."""

    def p_convert(removed: str | None) -> float:
        names = sorted({c for p, _ in paths for c in p})
        ix = {c: i for i, c in enumerate(names)}
        n = len(names)
        q, r, s, out = np.zeros((n, n)), np.zeros(n), np.zeros(n), np.zeros(n)
        for p, won in paths:
            s[ix[p[0]]] += 1
            for a, b in pairwise(p):
                q[ix[a], ix[b]] += 1
            r[ix[p[-1]]] += won
            for c in p:
                out[ix[c]] += 1
        q, r, s = q / out[:, None], r / out, s / s.sum()
        if removed is not None:
            q[ix[removed], :] = 0
            r[ix[removed]] = 0
        return float(s @ np.linalg.solve(np.eye(n) - q, r))

    base = p_convert(None)
    return {c: (base - p_convert(c)) / base for c in sorted({c for p, _ in paths for c in p})}


paths_st = st.lists(
    st.tuples(st.lists(st.sampled_from("ABCDE"), min_size=1, max_size=6), st.booleans()),
    min_size=1,
    max_size=30,
)


@settings(deadline=None)
@given(paths=paths_st)
def test_removal_effects_agree_with_removing_and_solving_again(paths: list[tuple[list[str], bool]]) -> None:
    got = removal_effects(paths)
    if not any(won for _, won in paths):
        assert got == {}
        return
    want = _brute_removal(paths)
    assert got.keys() == want.keys()
    for c in want:
        assert got[c] == pytest.approx(want[c], abs=1e-9)


def test_removal_effects_degenerate_cases() -> None:
    assert removal_effects([]) == {}
    assert removal_effects([([], True)]) == {}
    assert removal_effects([(["A"], False), (["A", "B"], False)]) == {}
    assert removal_effects([(["A"], True), (["A"], False)]) == {"A": 1.0}
    # B only ever appears on lost paths: no effect; A is on every conversion
    assert removal_effects([(["A"], True), (["B"], False)]) == {"A": 1.0, "B": 0.0}


def test_markov_credit_follows_the_effects_and_falls_back_to_linear() -> None:
    ts = [touch(0, 1, "A"), touch(1, 2, "B"), touch(2, 3, "A")]
    assert credit("markov", opp("90.00"), ts, removal={"A": 0.5, "B": 1.0}) == [
        Decimal("15.00"),  # A's 0.5 shared by its two touches
        Decimal("60.00"),
        Decimal("15.00"),
    ]
    assert credit("markov", opp("90.00"), ts, removal={"A": 0.0}) == [Decimal(30)] * 3
    assert credit("markov", opp("90.00"), ts, removal={}) == [Decimal(30)] * 3
