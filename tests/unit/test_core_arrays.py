"""core/arrays: `weighted_medians` is `median_of_counts` for many segments at once; `group_sums`
is exact, also where int64 would wrap; `factorize` keeps None apart."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from leadloop.analytics.slices import median_of_counts
from leadloop.core.arrays import factorize, group_sums, weighted_medians


@given(st.lists(st.dictionaries(st.integers(0, 500), st.integers(1, 9), max_size=12), max_size=8))
def test_each_segment_gets_the_median_of_its_counts(segments: list[dict[int, int]]) -> None:
    rows = [(i, v, c) for i, counts in enumerate(segments) for v, c in sorted(counts.items())]
    seg, values, counts = (np.array([r[k] for r in rows], np.int64) for k in range(3))
    got = weighted_medians(seg, values, counts, len(segments))
    for i, counts_of in enumerate(segments):
        want = median_of_counts(counts_of)
        assert (math.isnan(got[i]) and want is None) or got[i] == want


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(-(2**62), 2**62)), max_size=30))
def test_group_sums_are_exact_even_past_int64(rows: list[tuple[int, int]]) -> None:
    keys = np.array([k for k, _ in rows], np.int64)
    values = np.array([v for _, v in rows], np.int64)
    want: dict[int, int] = {}
    for k, v in rows:
        want[k] = want.get(k, 0) + v
    assert group_sums(keys, values) == want


def test_factorize_sorts_the_names_and_marks_none() -> None:
    names, codes = factorize(["b", None, "a", "b"])
    assert names == ["a", "b"] and codes.tolist() == [1, -1, 0, 1]
