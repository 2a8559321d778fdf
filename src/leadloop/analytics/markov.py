"""The data-driven model: a first-order Markov chain over campaign paths, and each campaign's
removal effect (the share of conversions lost if the campaign were taken out), pure.

States are campaigns, plus start, conversion (a won opportunity) and null (lost). With Q the
transitions between campaigns, r the step to conversion and s the first step from start, the chance
to convert from campaign i is x = (I - Q)⁻¹ r and overall P = s·x. Taking campaign c out (its visits
fall to null) leaves the conversions that never pass through c, P - h_c·x_c, where h_c, the chance to
ever reach c, is (s·N)_c / N_cc with N = (I - Q)⁻¹. So one inverse gives every removal effect,
h_c·x_c / P, instead of one solve per campaign; the tests check it against the solve-per-campaign.
(I - Q) is invertible: every path ends in conversion or null, so every campaign can leave the chain.

Every count the chain needs is additive over paths, so `solve` takes them from anywhere: from
paths here, or counted over a whole range at once (credits_markov.py).

Degenerate cases, explicitly: no paths, or no conversion at all, give no effects ({}); one campaign
that converts has effect 1. A self-loop (the same campaign twice in a row) changes no absorption
chance, so repeats need no special care.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise

import numpy as np

QUANTUM = 2**32  # effects are whole multiples of 1 / QUANTUM: exact in a float and in integers


def removal_effects(paths: Iterable[tuple[Sequence[str], bool]]) -> dict[str, float]:
    """`paths`: each opportunity's campaigns in touch order, and whether it was won. Paths without
    touches say nothing about campaigns and are skipped."""
    paths = [(list(p), won) for p, won in paths if p]
    if not any(won for _, won in paths):
        return {}
    names = sorted({c for p, _ in paths for c in p})
    index = {c: i for i, c in enumerate(names)}
    n = len(names)
    moves, conv, start = np.zeros((n, n)), np.zeros(n), np.zeros(n)
    leaving = np.zeros(n)
    for path, won in paths:
        start[index[path[0]]] += 1
        for a, b in pairwise(path):
            moves[index[a], index[b]] += 1
        end = index[path[-1]]
        if won:
            conv[end] += 1
        for c in path:
            leaving[index[c]] += 1
    return solve(names, moves, conv, start, leaving)


def solve(
    names: Sequence[str], moves: np.ndarray, conv: np.ndarray, start: np.ndarray, leaving: np.ndarray
) -> dict[str, float]:
    """The removal effects from the chain's counts (states in `names`' order, sorted): `moves[a, b]`
    steps from a to b, `conv[a]` conversions after a, `start[a]` paths starting at a, `leaving[a]`
    visits of a. Each effect is rounded to a multiple of 1 / QUANTUM (below 1e-9), so that the
    credits it shares out can be split in integers exactly as in fractions."""
    if not conv.any():
        return {}
    q = moves / leaving[:, None]
    r = conv / leaving
    s = start / start.sum()
    fundamental = np.linalg.inv(np.eye(len(names)) - q)
    x = fundamental @ r
    total = float(s @ x)
    reach = (s @ fundamental) / np.diag(fundamental)
    effects = np.clip(reach * x / total, 0.0, 1.0)
    return {c: round(float(effects[i]) * QUANTUM) / QUANTUM for i, c in enumerate(names)}
