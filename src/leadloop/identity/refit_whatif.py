"""What activating a newly fitted match model would change, pair by pair. Pure: the probabilities
of the same candidate pairs under the active model and under the new one, and the policy's two
thresholds, in; counts per band and per move, and which pairs to show as examples, out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leadloop.identity.model import Floats, Ints

MERGE, REVIEW, APART = "merge", "review", "apart"
BANDS = (APART, REVIEW, MERGE)  # by rank: 0 below review, 1 waits for review, 2 merges

# (name, band before, band after): the moves a person acts on. A pair that stays in its band is
# not a change, whatever its probability did.
MOVES: tuple[tuple[str, frozenset[int], frozenset[int]], ...] = (
    ("now merge automatically", frozenset({0, 1}), frozenset({2})),
    ("now wait for review", frozenset({0}), frozenset({1})),
    ("wait for review instead of merging", frozenset({2}), frozenset({1})),
    ("no longer match", frozenset({1, 2}), frozenset({0})),
)


def bands(p: Floats, *, review: float, auto_merge: float) -> Ints:
    """0, 1 or 2 per pair, as the real-time matcher and the warehouse pass act on it."""
    return (p >= review).astype(np.int64) + (p >= auto_merge).astype(np.int64)


@dataclass(frozen=True)
class Move:
    name: str
    count: int
    examples: tuple[int, ...]  # pair indices, the largest change of probability first


@dataclass(frozen=True)
class WhatIf:
    pairs: int
    before: dict[str, int]  # band -> pairs, under the active model
    after: dict[str, int]  # band -> pairs, under the new model
    moves: tuple[Move, ...]

    @property
    def changed(self) -> int:
        return sum(m.count for m in self.moves)


def what_if(before: Floats, after: Floats, *, review: float, auto_merge: float, examples: int = 3) -> WhatIf:
    if before.shape != after.shape:
        raise ValueError("both models must score the same pairs")
    old = bands(before, review=review, auto_merge=auto_merge)
    new = bands(after, review=review, auto_merge=auto_merge)
    change = np.abs(after - before)
    moves = []
    for name, src, dst in MOVES:
        hit = np.flatnonzero(np.isin(old, list(src)) & np.isin(new, list(dst)))
        best = hit[np.argsort(-change[hit], kind="stable")][:examples]
        moves.append(Move(name, len(hit), tuple(int(k) for k in best)))
    return WhatIf(
        pairs=len(before),
        before=_counts(old),
        after=_counts(new),
        moves=tuple(moves),
    )


def _counts(b: Ints) -> dict[str, int]:
    n = np.bincount(b, minlength=3)
    return {name: int(n[rank]) for rank, name in enumerate(BANDS)}
