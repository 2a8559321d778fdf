"""`weighted_medians` is `median_of_counts` for many segments at once."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from leadloop.analytics.slices import median_of_counts
from leadloop.core.arrays import weighted_medians


@given(st.lists(st.dictionaries(st.integers(0, 500), st.integers(1, 9), max_size=12), max_size=8))
def test_each_segment_gets_the_median_of_its_counts(segments: list[dict[int, int]]) -> None:
    rows = [(i, v, c) for i, counts in enumerate(segments) for v, c in sorted(counts.items())]
    seg, values, counts = (np.array([r[k] for r in rows], np.int64) for k in range(3))
    got = weighted_medians(seg, values, counts, len(segments))
    for i, counts_of in enumerate(segments):
        want = median_of_counts(counts_of)
        assert (math.isnan(got[i]) and want is None) or got[i] == want
