"""The vectorised path: engagement for every person and every account x product at once, from
arrays of activities. Used when a model is activated or previewed; it gives exactly what the
incremental path gives (decay is linear, see decay.py), which a property test checks.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from leadloop.core.arrays import distinct, segment_cumsum
from leadloop.scoring.decay import decay_rate
from leadloop.scoring.document import ScoringModel

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass
class Activities:
    """Column arrays of the activity log (one entry per activity). Types and products are integer
    codes into `types` / `products`, so that weighting and grouping never touch Python objects."""

    id: Ints
    person: Ints  # -1 when none
    account: Ints  # -1 when none
    product: Ints  # code into `products`; products[0] == "" (none)
    type: Ints  # code into `types`
    t: Floats  # seconds since the epoch
    products: list[str]
    types: list[str]

    @classmethod
    def from_columns(
        cls,
        ids: Sequence[int],
        person: Sequence[int],
        account: Sequence[int],
        product: Sequence[str],
        kind: Sequence[str],
        t: Sequence[float],
    ) -> Activities:
        # Codes in order of first appearance, each distinct value looked up once (a dict per column).
        products: dict[str | None, int] = {"": 0}
        for p in dict.fromkeys(product):
            products.setdefault(p or "", len(products))
        products[None] = 0
        types = {k: i for i, k in enumerate(dict.fromkeys(kind))}
        n = len(ids)
        return cls(
            np.fromiter(ids, np.int64, n),
            np.fromiter(person, np.int64, n),
            np.fromiter(account, np.int64, n),
            np.fromiter(map(products.__getitem__, product), np.int64, n),
            np.fromiter(map(types.__getitem__, kind), np.int64, n),
            np.fromiter(t, np.float64, n),
            [k for k in products if k is not None],
            list(types),
        )


@dataclass
class Groups:
    keys: list[tuple[Hashable, ...]]
    s: Floats
    t0: Floats
    opened_at: Floats  # first moment the running value reached the open threshold (nan: never)
    mql_at: Floats  # first moment it reached the MQL threshold (nan: never)


def weights(model: ScoringModel, acts: Activities) -> Floats:
    """Each activity's weight under the model, with per-product overrides and daily caps applied."""
    e = model.engagement
    table = np.array([e.weights.get(t, 0.0) for t in acts.types] + [0.0])
    w = table[acts.type] if len(acts.t) else np.zeros(0)
    for product, overrides in e.per_product.items():
        if product not in acts.products:
            continue
        on = acts.product == acts.products.index(product)
        for kind, weight in overrides.items():
            if kind in acts.types:
                w[on & (acts.type == acts.types.index(kind))] = weight
    if e.caps_per_day and len(w):
        caps = np.array([e.caps_per_day.get(t, np.iinfo(np.int64).max) for t in acts.types], dtype=np.int64)
        capped = caps[acts.type] < np.iinfo(np.int64).max
        rows = np.flatnonzero(capped & (acts.person >= 0))
        day = np.floor(acts.t[rows] / 86_400.0).astype(np.int64)
        order = rows[np.lexsort((acts.id[rows], acts.t[rows], day, acts.type[rows], acts.person[rows]))]
        day_o = np.floor(acts.t[order] / 86_400.0).astype(np.int64)
        p, k = acts.person[order], acts.type[order]
        start = np.ones(len(order), dtype=bool)
        start[1:] = (p[1:] != p[:-1]) | (k[1:] != k[:-1]) | (day_o[1:] != day_o[:-1])
        idx = np.arange(len(order))
        first = np.maximum.accumulate(np.where(start, idx, 0))
        nth = idx - first + 1  # 1-based position within its (person, type, day)
        w[order[nth > caps[k]]] = 0.0
    return w


def encode(*columns: npt.NDArray[np.generic]) -> tuple[Ints, list[tuple[Hashable, ...]]]:
    """Rows -> an integer group code each, and the distinct keys (one tuple per group)."""
    if not len(columns[0]):
        return np.zeros(0, np.int64), []
    parts = []
    uniques = []
    for col in columns:
        if col.dtype.kind in "iu":  # one sort: numpy 2.4's np.unique hashes integers, far slower here
            u, inv, _ = distinct(col.astype(np.int64))
        else:
            u, inv = np.unique(col, return_inverse=True)
        uniques.append(u)
        parts.append(inv.astype(np.int64).reshape(-1))
    combined = parts[0]
    for inv, u in zip(parts[1:], uniques[1:], strict=True):
        combined = combined * len(u) + inv
    codes, g, _ = distinct(combined)
    # Each group's code back to one index per column (vectorised), then to the columns' values.
    idx: list[Ints] = []
    rest = codes
    for u in reversed(uniques[1:]):
        idx.append(rest % len(u))
        rest = rest // len(u)
    idx.append(rest)
    idx.reverse()
    columns_of_keys = [u[i].tolist() for u, i in zip(uniques, idx, strict=True)]
    keys: list[tuple[Hashable, ...]] = list(zip(*columns_of_keys, strict=True))
    return g.astype(np.int64), keys


def time_order(t: Floats) -> Ints:
    """The rows in time order (ties in row order): sorted once, shared by every grouping."""
    return np.argsort(t, kind="stable")


def group_scores(
    model: ScoringModel,
    keys: Sequence[tuple[Hashable, ...]],
    t: Floats,
    w: Floats,
    codes: Ints | None = None,
    by_time: Ints | None = None,
) -> Groups:
    """S and t0 per group (t0 = the group's last weighted event), and when the running value first
    reached the lead-open and MQL thresholds. Pass `codes` (from `encode`) to skip building them
    from `keys`, which then lists the distinct groups; rows of weight 0 are in no group. Pass
    `by_time` (`time_order(t)`) when several groupings share the rows: the rows are then sorted
    by time once, and each grouping only stably by its codes."""
    rate = decay_rate(model.engagement.half_life_days)
    if codes is None:
        lookup: dict[tuple[Hashable, ...], int] = {}
        codes = (
            np.array([lookup.setdefault(k, len(lookup)) for k in keys], dtype=np.int64)
            if keys
            else np.zeros(0, np.int64)
        )
        keys = list(lookup)
    n = len(keys)
    live = w != 0
    by_time = time_order(t) if by_time is None else by_time
    rows = by_time[live[by_time]]
    order = rows[np.argsort(codes[rows], kind="stable")]  # by group, then time, then row
    g, t, w = codes[order], t[order], w[order]
    s = np.zeros(n)
    t0 = np.zeros(n)
    opened = np.full(n, np.nan)
    mql = np.full(n, np.nan)
    if len(g):
        starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
        lengths = np.diff(np.r_[starts, len(g)])
        ref = np.repeat(t[starts], lengths)  # per-group origin keeps exp() in range
        scaled = w * np.exp(rate * (t - ref))
        grp = g[starts]
        last = starts + lengths - 1
        t0[grp] = t[last]
        # Exact per-group sums for the stored score...
        s[grp] = np.add.reduceat(scaled, starts) * np.exp(-rate * (t[last] - t[starts]))
        # ...and running values (a cumulative sum within each group) for the crossings.
        value = segment_cumsum(scaled, starts, lengths) * np.exp(-rate * (t - ref))
        e = model.engagement
        idx = np.arange(len(g), dtype=np.float64)
        for target, threshold in ((opened, e.lead_open_threshold), (mql, e.mql_threshold)):
            first = np.minimum.reduceat(np.where(value >= threshold, idx, np.inf), starts)
            found = np.isfinite(first)
            target[grp[found]] = t[first[found].astype(np.int64)]
    return Groups(list(keys), s, t0, opened, mql)
