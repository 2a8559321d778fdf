"""The data-driven model over a range at once (credits_markov.shares, numpy) equals the model run one
opportunity at a time: removal effects from the won and lost paths (`removal_effects`), each won and
open opportunity split by `credit(MARKOV)` in fractions, summed per group, currency and outcome;
with ties, repeated campaigns, no-touch opportunities, a deleted campaign, a campaign filter, and
amounts too big for 64-bit integers."""

from __future__ import annotations

import struct
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from leadloop.analytics.attribution import MARKOV, NO_CAMPAIGN, NO_TOUCHES, Opp, Touch, credit
from leadloop.analytics.credits_markov import shares
from leadloop.analytics.markov import removal_effects
from leadloop.store.tables import PATH_SEP

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NAMES = {1: "Spring webinar", 2: "Paid search", 3: "Newsletter"}  # 4: deleted since, 0: none
CHANNELS = ["web", "paid", "(no channel)"]

path_st = st.tuples(
    st.sampled_from(["won", "lost", "open"]),
    st.sampled_from(["USD", "EUR"]),
    st.one_of(st.integers(0, 10**9), st.just(10**17)),  # cents; 10**17: past 64-bit products
    st.lists(st.tuples(st.integers(0, 4), st.sampled_from(CHANNELS)), max_size=7),
)


def _name(i: int) -> str:
    return NAMES.get(i, NO_CAMPAIGN)


def _one_at_a_time(
    paths: list[tuple[str, str, int, list[tuple[int, str]]]], by: str, keep: int | None
) -> dict[tuple[str, str, str], int]:
    removal = removal_effects(([_name(i) for i, _ in t], o == "won") for o, _, _, t in paths if o != "open")
    out: dict[tuple[str, str, str], int] = defaultdict(int)
    for outcome, currency, cents, touches in paths:
        if outcome == "lost":
            continue
        if not touches:
            if keep is None:
                out[(NO_TOUCHES, currency, outcome)] += cents
            continue
        opp = Opp(1, Decimal(cents).scaleb(-2), currency, T0, None, outcome)  # type: ignore[arg-type]
        ts = [
            Touch(k, T0 + timedelta(hours=k), NAMES.get(i), ch, None, 1, "page_view", i or None)
            for k, (i, ch) in enumerate(touches)
        ]
        for (i, ch), part in zip(touches, credit(MARKOV, opp, ts, removal=removal), strict=True):
            if keep is None or i == keep:
                out[(_name(i) if by == "campaign" else ch, currency, outcome)] += int(part.scaleb(2))
    return {k: v for k, v in out.items()}


def _rows(paths: list[tuple[str, str, int, list[tuple[int, str]]]]) -> list[list[object]]:
    """The paths as the columns the kept paths are read into."""
    rows = [
        (
            o,
            cur,
            cents,
            len(t),
            struct.pack(f"<{len(t)}I", *(i for i, _ in t)),
            PATH_SEP.join(c for _, c in t),
        )
        for o, cur, cents, t in paths
    ]
    return [[r[k] for r in rows] for k in range(6)]


@settings(deadline=None, max_examples=300)
@given(
    paths=st.lists(path_st, max_size=25),
    by=st.sampled_from(["campaign", "channel"]),
    keep=st.sampled_from([None, 1, 2]),
)
def test_the_range_at_once_equals_one_opportunity_at_a_time(
    paths: list[tuple[str, str, int, list[tuple[int, str]]]], by: str, keep: int | None
) -> None:
    names: dict[int, str] = defaultdict(lambda: NO_CAMPAIGN, NAMES)
    got = shares(_rows(paths), names, by=by, keep=keep)
    assert {k: v for k, v in got.items()} == _one_at_a_time(paths, by, keep)


def test_a_known_case() -> None:
    paths = [
        ("won", "USD", 9000, [(1, "web"), (2, "paid"), (1, "web")]),
        ("lost", "USD", 500, [(2, "paid")]),
        ("open", "EUR", 100, []),
    ]
    got = shares(_rows(paths), defaultdict(lambda: NO_CAMPAIGN, NAMES), by="campaign", keep=None)
    # Worked by hand: from A the chain converts with 2/3, from B 1/3, overall 1/2. Without A nothing
    # converts (effect 1); without B, A's step to B is lost: 1/4 (effect 1/2). So A takes 2/3 of the
    # won 90.00, shared by its two touches, and B 1/3; the open deal without touches stays whole.
    assert got == {("Spring webinar", "USD", "won"): 6000, ("Paid search", "USD", "won"): 3000,
                   (NO_TOUCHES, "EUR", "open"): 100}  # fmt: skip


def test_a_path_whose_lcm_would_wrap_64_bits_is_split_exactly() -> None:
    """Sixteen campaigns whose touch counts are the primes 2..53: the counts' lcm passes 2^63."""
    primes = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53]
    names = {i + 1: f"c{i + 1}" for i in range(len(primes))}
    touches = [(i + 1, "web") for i, p in enumerate(primes) for _ in range(p)]
    paths = [("won", "USD", 1_000_777, touches), ("lost", "USD", 0, [(1, "web")])]
    got = shares(_rows(paths), defaultdict(lambda: NO_CAMPAIGN, names), by="campaign", keep=None)
    assert sum(got.values()) == 1_000_777 and min(got.values()) >= 0
