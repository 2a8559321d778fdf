"""The vectorised path: engagement for every person and every account x product at once, from
arrays of activities. Used when a model is activated or previewed; it gives exactly what the
incremental path gives (decay is linear, see decay.py), which a property test checks.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from leadloop.scoring.decay import decay_rate
from leadloop.scoring.document import ScoringModel

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass
class Activities:
    """Column arrays of the activity log (one entry per activity)."""

    id: Ints
    person: Ints  # -1 when none
    account: Ints  # -1 when none
    product: npt.NDArray[np.object_]  # product name, "" when none
    type: npt.NDArray[np.object_]
    t: Floats  # seconds since the epoch


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
    w = np.array([e.weights.get(t, 0.0) for t in acts.type], dtype=np.float64) if len(acts.t) else np.zeros(0)
    for product, table in e.per_product.items():
        on = acts.product == product
        for kind, weight in table.items():
            w[on & (acts.type == kind)] = weight
    if e.caps_per_day and len(w):
        day = np.floor(acts.t / 86_400.0).astype(np.int64)
        order = np.lexsort((acts.id, acts.t, day, acts.type, acts.person))
        p, k, d = acts.person[order], acts.type[order], day[order]
        start = np.ones(len(order), dtype=bool)
        start[1:] = (p[1:] != p[:-1]) | (k[1:] != k[:-1]) | (d[1:] != d[:-1])
        idx = np.arange(len(order))
        first = np.maximum.accumulate(np.where(start, idx, 0))
        nth = idx - first + 1  # 1-based position within its (person, type, day)
        cap = np.array([e.caps_per_day.get(t, np.iinfo(np.int64).max) for t in k], dtype=np.float64)
        over = (nth > cap) & (p >= 0)
        w[order[over]] = 0.0
    return w


def group_scores(model: ScoringModel, keys: Sequence[tuple[Hashable, ...]], t: Floats, w: Floats) -> Groups:
    """S and t0 per group (t0 = the group's last weighted event), and when the running value first
    reached the lead-open and MQL thresholds."""
    rate = decay_rate(model.engagement.half_life_days)
    live = w != 0
    codes: dict[tuple[Hashable, ...], int] = {}
    g = (
        np.array([codes.setdefault(k, len(codes)) for k in keys], dtype=np.int64)
        if keys
        else np.zeros(0, np.int64)
    )
    g, t, w = g[live], t[live], w[live]
    n = len(codes)
    order = np.lexsort((t, g))
    g, t, w = g[order], t[order], w[order]
    s = np.zeros(n)
    t0 = np.zeros(n)
    opened = np.full(n, np.nan)
    mql = np.full(n, np.nan)
    if len(g):
        bounds = np.flatnonzero(np.r_[True, g[1:] != g[:-1], True])
        starts, ends = bounds[:-1], bounds[1:]
        ref = np.repeat(t[starts], ends - starts)  # per-group origin keeps exp() in range
        scaled = w * np.exp(rate * (t - ref))
        running = np.zeros(len(g))
        for a, b in zip(starts, ends, strict=True):  # cumulative sums per group; numpy does the inner loop
            running[a:b] = np.cumsum(scaled[a:b])
        value = running * np.exp(-rate * (t - ref))
        grp = g[starts]
        t0[grp] = t[ends - 1]
        s[grp] = value[ends - 1]
        e = model.engagement
        for target, threshold in ((opened, e.lead_open_threshold), (mql, e.mql_threshold)):
            hit = value >= threshold
            for a, b, code in zip(starts, ends, grp, strict=True):
                first = np.flatnonzero(hit[a:b])
                if len(first):
                    target[code] = t[a + first[0]]
    return Groups(list(codes), s, t0, opened, mql)
