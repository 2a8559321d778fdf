"""Numpy helpers shared by the columnar code (dedupe, score recompute)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]


def distinct(x: Ints) -> tuple[Ints, Ints, Ints]:
    """The sorted distinct values of x, each element's index among them, and their counts. By one
    sort: numpy 2.4's np.unique hashes and is many times slower on millions of int64 here."""
    order = np.argsort(x)
    s = x[order]
    new = np.empty(len(s), bool)
    new[:1] = True
    np.not_equal(s[1:], s[:-1], out=new[1:])
    inverse = np.empty(len(x), np.int64)
    inverse[order] = np.cumsum(new) - 1
    return s[new], inverse, np.diff(np.r_[np.flatnonzero(new), len(s)])
