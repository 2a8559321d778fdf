"""The data-driven model over a range of kept paths at once (ADR 0048), in numpy: the chain's counts
summed over every path, the removal effects solved once (markov.solve, the maths `removal_effects`
uses), and every won and open opportunity's amount shared out in integers, each opportunity's parts
exactly `credit(MARKOV, ...)`'s (largest remainder, ties to the earlier touch; the tests hold them
equal to the log's report and to `markov_units`).

A touch of campaign c in an opportunity weighs r_c / n_c (r_c: the effect in units of 1/QUANTUM,
n_c: c's touches there); with W the sum of r_c over its campaigns and m the lcm of its n_c, a touch's
exact part is units * r_c * (m / n_c) / (m * W). An opportunity whose numbers would not fit in 64
bits (a deal of tens of millions with many repeated campaigns) is split by `markov_units` instead."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from leadloop.analytics.attribution import NO_TOUCHES, markov_units
from leadloop.analytics.markov import QUANTUM, solve
from leadloop.store.tables import PATH_SEP

_OUTCOME = {"lost": 0, "won": 1, "open": 2}
_NAMES = ("lost", "won", "open")
_LIMIT = float(2**62)


def shares(
    columns: Sequence[Sequence[Any]], names: Mapping[int, str], *, by: str, keep: int | None
) -> dict[tuple[str, str, str], int]:
    """`columns`: per opportunity, its outcome, currency, cents, number of touches, campaign ids
    (blob) and groups (text), one list each; `names`: campaign id -> name; `keep`: one campaign's
    touches alone (its id). Per (group, currency, outcome), the cents the model credits."""
    out: dict[tuple[str, str, str], int] = {}
    outcomes, currency_of, amounts, counts, blobs, texts = columns
    if not outcomes:
        return out
    outcome = np.array([_OUTCOME[o] for o in outcomes], dtype=np.int8)
    units = np.array(amounts, dtype=np.int64)
    n = np.array(counts, dtype=np.int64)
    currencies = sorted(set(currency_of))
    code = {c: i for i, c in enumerate(currencies)}
    currency = np.array([code[c] for c in currency_of], dtype=np.int64)
    ids = np.frombuffer(b"".join(blobs), dtype="<u4").astype(np.int64)
    path = np.repeat(np.arange(len(outcomes)), n)
    # States are campaigns by name (a touch without one, or of a deleted campaign: "(no campaign)").
    seen = np.unique(ids)
    labels = sorted({names[int(i)] for i in seen})
    state_of_id = np.array([labels.index(names[int(i)]) for i in seen], dtype=np.int64)
    state = state_of_id[np.searchsorted(seen, ids)]
    effects = _learn(state, path, n, outcome, labels)
    r = np.array([round(effects.get(c, 0.0) * QUANTUM) for c in labels], dtype=np.int64)

    def add(label: str, cur: int, out_code: int, cents: int) -> None:
        key = (label, currencies[cur], _NAMES[out_code])
        out[key] = out.get(key, 0) + cents

    money = outcome != 0
    if keep is None:
        bare = money & (n == 0)
        for cur in range(len(currencies)):
            for kind in (1, 2):
                picked = bare & (currency == cur) & (outcome == kind)
                if picked.any():
                    add(NO_TOUCHES, cur, kind, int(units[picked].sum()))
    sel = money & (n > 0)
    t_sel = sel[path]
    if not t_sel.any():
        return out
    parts = _split(state[t_sel], path[t_sel], units, n, r, labels)
    t_path = path[t_sel]
    group_names: list[str]
    if by == "campaign":
        group, group_names = state[t_sel], list(labels)
    else:
        flat = [g for i in np.flatnonzero(sel).tolist() for g in texts[i].split(PATH_SEP)]
        found_names, inverse = np.unique(np.array(flat, dtype=object), return_inverse=True)
        group_names = [str(g) for g in found_names]
        group = inverse.astype(np.int64)
    mask = np.ones(len(parts), bool) if keep is None else ids[t_sel] == keep
    g, c, o, p = group[mask], currency[t_path][mask], outcome[t_path][mask].astype(np.int64), parts[mask]
    key = (g * len(currencies) + c) * 3 + o
    found, inverse = np.unique(key, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    totals = np.add.reduceat(p[order], np.searchsorted(inverse[order], np.arange(len(found))))
    for k, total in zip(found.tolist(), totals.tolist(), strict=True):
        gi, rest = divmod(k, 3 * len(currencies))
        ci, oi = divmod(rest, 3)
        add(group_names[gi], ci, oi, total)
    return out


def _learn(
    state: np.ndarray, path: np.ndarray, n: np.ndarray, outcome: np.ndarray, labels: Sequence[str]
) -> dict[str, float]:
    """The removal effects from the won and lost paths with touches: `removal_effects`'s counts,
    summed over every path at once (its states: the names on those paths, sorted)."""
    closed = (outcome != 2) & (n > 0)
    t_closed = closed[path]
    if not t_closed.any():
        return {}
    used = np.unique(state[t_closed])
    local = np.full(len(labels), -1, dtype=np.int64)
    local[used] = np.arange(len(used))
    s = local[state]
    size = len(used)
    ends = np.cumsum(n)
    starts = ends - n
    start = np.bincount(s[starts[closed]], minlength=size).astype(float)
    conv = np.bincount(s[ends[closed & (outcome == 1)] - 1], minlength=size).astype(float)
    leaving = np.bincount(s[t_closed], minlength=size).astype(float)
    step = t_closed[:-1] & (path[:-1] == path[1:])
    moves = np.bincount(s[:-1][step] * size + s[1:][step], minlength=size * size).astype(float)
    return solve([labels[i] for i in used], moves.reshape(size, size), conv, start, leaving)


def _split(
    state: np.ndarray,
    path: np.ndarray,
    units: np.ndarray,
    n: np.ndarray,
    r: np.ndarray,
    labels: Sequence[str],
) -> np.ndarray:
    """Each touch's part in cents (touches grouped by path, in path order)."""
    size = len(labels)
    pair, pair_at, pair_count = np.unique(path * size + state, return_inverse=True, return_counts=True)[0:3]
    pair_path, pair_state = pair // size, pair % size
    count = pair_count[pair_at]  # n_c of each touch's campaign in its path
    paths, first = np.unique(pair_path, return_index=True)
    w = np.zeros(len(units), dtype=np.int64)
    w[paths] = np.add.reduceat(r[pair_state], first)  # pairs are sorted by path
    # The lcm is at most the product of the counts: a path whose product passes 2^31 could wrap
    # np.lcm silently, so it goes to markov_units (m = 1 here keeps the arithmetic harmless).
    wide = np.zeros(len(units), dtype=bool)
    wide[paths] = np.multiply.reduceat(pair_count.astype(float), first) >= 2.0**31
    m = np.ones(len(units), dtype=np.int64)
    m[paths] = np.lcm.reduceat(np.where(wide[pair_path], 1, pair_count), first)
    t_units, t_w, t_m = units[path], w[path], m[path]
    linear = t_w == 0
    num = np.where(linear, t_units, t_units * r[state] * (t_m // count))
    den = np.where(linear, n[path], t_m * t_w)
    big = (
        wide[path]
        | (t_units.astype(float) * np.maximum(r[state], 1) * (t_m / count) >= _LIMIT)
        | (t_m.astype(float) * np.maximum(t_w, 1) >= _LIMIT)
    )
    den = np.where(den == 0, 1, den)
    floor, rem = np.divmod(num, den)
    ends = np.cumsum(np.bincount(path, minlength=len(units)))
    starts = ends - np.bincount(path, minlength=len(units))
    pos = np.arange(len(path)) - starts[path]
    left = units.copy()
    left[paths] -= np.add.reduceat(floor, starts[paths])  # touches are grouped by path
    order = np.lexsort((pos, -rem, path))
    rank = np.empty(len(path), dtype=np.int64)
    rank[order] = np.arange(len(path)) - starts[path[order]]
    parts = floor + (rank < left[path])
    for p in np.unique(path[big]):  # too big for 64 bits: the integers of Python
        at = np.flatnonzero(path == p)
        exact = markov_units(
            int(units[p]),
            [labels[i] for i in state[at]],
            {c: int(r[i]) for i, c in enumerate(labels)},
        )
        parts[at] = exact
    result: np.ndarray = parts
    return result
