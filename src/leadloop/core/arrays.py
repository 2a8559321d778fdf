"""Numpy helpers shared by the columnar code (dedupe, score recompute)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def moments(values: Sequence[Any]) -> np.ndarray:
    """Stored times as datetime64[us]: SQLite's text ("YYYY-MM-DD HH:MM:SS.ffffff"), a date's text,
    or a driver's naive UTC datetimes; None is NaT."""
    return np.array(values, dtype="datetime64[us]")


def instant(at: datetime) -> np.datetime64:
    """An aware datetime as datetime64[us] (naive UTC), comparable with `moments`."""
    return np.datetime64(at.astimezone(UTC).replace(tzinfo=None), "us")


def factorize(values: Sequence[Any]) -> tuple[list[Any], Ints]:
    """The sorted distinct non-None values, and each value's index among them (-1 for None)."""
    names = sorted(set(values) - {None})
    index: dict[Any, int] = {v: i for i, v in enumerate(names)} | {None: -1}
    return names, np.fromiter(map(index.__getitem__, values), np.int64, len(values))


def group_sums(keys: Ints, values: Ints) -> dict[int, int]:
    """Exact sums of `values` per distinct key (no float on the way): int64 when no sum can pass
    2**62, else Python integers (numpy's int64 would wrap silently)."""
    if not len(keys):
        return {}
    found, inverse, _ = distinct(keys)
    if int(np.abs(values).max()) * len(values) < 2**62:
        sums = np.zeros(len(found), np.int64)
        np.add.at(sums, inverse, values)
        return dict(zip(found.tolist(), sums.tolist(), strict=True))
    out = dict.fromkeys(found.tolist(), 0)
    for k, v in zip(found[inverse].tolist(), values.tolist(), strict=True):
        out[k] += v
    return out


def weighted_medians(segment: Ints, values: Ints, counts: Ints, segments: int) -> Floats:
    """The median of each segment's values, each value counted `counts` times (`median_of_counts`
    per segment: the middle two averaged when even), NaN for an empty segment. Rows are grouped by
    `segment` (non-decreasing) and sorted by value within it; every count is positive."""
    total = np.zeros(segments, np.int64)
    np.add.at(total, segment, counts)
    cum = np.cumsum(counts)
    base = np.cumsum(total) - total  # how many values come before each segment
    out = np.full(segments, np.nan)
    has = total > 0
    lo = np.searchsorted(cum, (base + (total - 1) // 2)[has], side="right")
    hi = np.searchsorted(cum, (base + total // 2)[has], side="right")
    out[has] = (values[lo] + values[hi]) / 2
    return out


def distinct(x: Ints) -> tuple[Ints, Ints, Ints]:
    """The sorted distinct values of x, each element's index among them, and their counts.

    Ids and codes are mostly dense (a million people have ids up to about a million): then a
    table over the range does it in O(n), no sort at all. Otherwise by one sort: numpy 2.4's
    np.unique hashes and is many times slower on millions of int64 here."""
    if len(x) and int(x.max()) - int(x.min()) <= 2 * len(x) + 1024:
        return _distinct_dense(x)
    order = np.argsort(x)
    s = x[order]
    new = np.empty(len(s), bool)
    new[:1] = True
    np.not_equal(s[1:], s[:-1], out=new[1:])
    inverse = np.empty(len(x), np.int64)
    inverse[order] = np.cumsum(new) - 1
    return s[new], inverse, np.diff(np.r_[np.flatnonzero(new), len(s)])


def _distinct_dense(x: Ints) -> tuple[Ints, Ints, Ints]:
    low = int(x.min())
    shifted = x - low
    counts = np.bincount(shifted)
    present = counts > 0
    index = np.cumsum(present) - 1  # each value's place among the distinct ones
    return np.flatnonzero(present).astype(np.int64) + low, index[shifted].astype(np.int64), counts[present]


def segment_cumsum(x: Floats, starts: Ints, lengths: Ints) -> Floats:
    """The running sum within each segment (x[starts[i] : starts[i] + lengths[i]], segments back to
    back), summed in order within the segment as a loop would.

    Not `cumsum(x) - cumsum at the segment's start`: that carries every earlier segment's total,
    and when those totals dwarf this segment's values (scores rescaled by a short half-life over a
    long history) the difference keeps only rounding noise. One cumsum per distinct segment length
    instead, over a (segments x length) block: as many numpy calls as there are distinct lengths.
    """
    out = np.empty_like(x)
    if not len(x):
        return out
    sizes, _, counts = distinct(lengths)
    by_size = starts[np.argsort(lengths, kind="stable")]
    first = 0
    for n, k in zip(sizes.tolist(), counts.tolist(), strict=True):
        rows = by_size[first : first + k, None] + np.arange(n)
        out[rows] = np.cumsum(x[rows], axis=1)
        first += k
    return out
