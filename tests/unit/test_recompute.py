"""The vectorised recompute gives exactly what the incremental path gives."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadloop.scoring.decay import decay_rate
from leadloop.scoring.document import parse_model
from leadloop.scoring.engagement import Signal, score_signals
from leadloop.scoring.recompute import Activities, group_scores, weights

MODEL = parse_model("""
name: r
engagement:
  half_life_days: 20
  weights: {demo_request: 40, page_view: 1, careers_page_view: -10, webinar_attended: 15}
  per_product: {analytics: {webinar_attended: 30}}
  caps_per_day: {page_view: 2}
  lead_open_threshold: 20
  mql_threshold: 60
""")
T0 = 1.7e9
event = st.tuples(
    st.sampled_from(["demo_request", "page_view", "careers_page_view", "webinar_attended", "email_open"]),
    st.integers(0, 2),  # person
    st.sampled_from(["", "analytics"]),
    st.floats(0, 60 * 86_400),
)


def _arrays(events: list[tuple[str, int, str, float]]) -> Activities:
    return Activities.from_columns(
        list(range(len(events))),
        [e[1] for e in events],
        [0] * len(events),
        [e[2] for e in events],
        [e[0] for e in events],
        [T0 + e[3] for e in events],
    )


@settings(max_examples=150)
@given(st.lists(event, max_size=40))
def test_vectorised_person_scores_equal_the_incremental_ones(
    events: list[tuple[str, int, str, float]],
) -> None:
    acts = _arrays(events)
    w = weights(MODEL, acts)
    groups = group_scores(MODEL, [(int(p),) for p in acts.person], acts.t, w)
    rate = decay_rate(20)
    now = T0 + 61 * 86_400
    for person in range(3):
        # The incremental path, one activity at a time, in the order they happened (ids break ties).
        mine = [
            Signal(i, e[0], T0 + e[3], person, e[2] or None) for i, e in enumerate(events) if e[1] == person
        ]
        expected = score_signals(MODEL, mine).value_at(now, rate)
        if (person,) in groups.keys:
            k = groups.keys.index((person,))
            got = groups.s[k] * np.exp(-rate * (now - groups.t0[k]))
        else:
            got = 0.0
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_first_threshold_crossings() -> None:
    events = [
        ("page_view", 0, "", 0.0),
        ("demo_request", 0, "", 3600.0),
        ("webinar_attended", 1, "analytics", 7200.0),
    ]
    acts = _arrays(events)
    groups = group_scores(MODEL, [("acme",)] * 3, acts.t, weights(MODEL, acts))
    assert groups.opened_at[0] == T0 + 3600  # 1 + 40 crosses 20 at the demo request
    assert groups.mql_at[0] == pytest.approx(T0 + 7200)  # + 30 (analytics webinar) crosses 60


def test_encode_gives_one_code_per_distinct_key() -> None:
    from leadloop.scoring.recompute import encode

    codes, keys = encode(np.array([3, 1, 3, 2, 1]), np.array(["b", "a", "b", "a", "c"]))
    assert [keys[c] for c in codes] == [(3, "b"), (1, "a"), (3, "b"), (2, "a"), (1, "c")]
    assert len(keys) == 4


def test_a_group_after_a_much_larger_one_keeps_its_crossings() -> None:
    """A short half-life over a long history rescales a busy group's sum to ~2^365: the groups
    after it must not see their running values drowned in its rounding."""
    model = MODEL.model_copy(
        update={"engagement": MODEL.engagement.model_copy(update={"half_life_days": 1.0})}
    )
    events = [("demo_request", 0, "", day * 86_400.0) for day in range(366)] + [("demo_request", 1, "", 0.0)]
    acts = _arrays(events)
    keys = [("busy",)] * 366 + [("quiet",)]
    groups = group_scores(model, keys, acts.t, weights(model, acts))
    quiet = groups.keys.index(("quiet",))
    assert groups.opened_at[quiet] == T0  # 40 >= 20 at its only event
    assert groups.s[quiet] == 40.0


def test_segment_cumsum_sums_within_each_segment_only() -> None:
    from leadloop.core.arrays import segment_cumsum

    x = np.array([1e300, 1.0, 2.0, 3.0, 1.0, 1.0, 5.0])
    starts, lengths = np.array([0, 1, 3, 6]), np.array([1, 2, 3, 1])
    assert segment_cumsum(x, starts, lengths).tolist() == [1e300, 1.0, 3.0, 3.0, 4.0, 5.0, 5.0]
