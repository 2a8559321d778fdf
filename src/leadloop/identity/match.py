"""Finding the same person twice, in bulk: blocking, vectorised comparison, a Fellegi-Sunter
model learnt from the file at hand (u from random pairs, m and the prior by EM, like Splink) and
clusters.

1. Blocking (`blocking`): pairs are only compared when they share a key; blocks larger than their
   rule's cap are left out, so a million records never become a trillion pairs.
2. Comparison (`compare`): each pair gets a level per field from rapidfuzz similarities computed in
   C over whole arrays.
3. Scoring (`model`): match weight = prior + Σ log2(m/u) over the fields both records have;
   probability = 1 / (1 + 2^-weight). The threshold is the one with the best expected F1 by the
   fitted model, unless one is given.
4. Clusters: connected components of the pairs at or above the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from leadloop.identity.blocking import block_cap, blocking_keys, candidate_pairs
from leadloop.identity.compare import Columns, compare
from leadloop.identity.model import (
    FIELDS,
    Floats,
    Ints,
    Model,
    Patterns,
    choose_threshold,
    fit_sessions,
    random_pairs,
    tf_adjustment,
    u_from_levels,
)
from leadloop.identity.records import Rec

__all__ = [
    "FIELDS",
    "Columns",
    "Model",
    "Patterns",
    "Result",
    "block_cap",
    "blocking_keys",
    "candidate_pairs",
    "compare",
    "dedupe",
    "learn",
]
RANDOM_PAIRS = 200_000  # for u: enough to see a one-in-ten-thousand agreement twenty times
MIN_PAIRS_TO_FIT = 200


@dataclass
class Result:
    left: Ints
    right: Ints
    probability: Floats
    cluster: Ints  # per record
    confidence: Floats  # per record: the best link to its cluster (0 when alone)
    model: Model
    threshold: float = 0.9
    expected_precision: float = 1.0  # by the model, at the threshold
    expected_recall: float = 1.0  # by the model, of the true pairs among the candidates


def learn(cols: Columns, n: int, pat: Patterns, base: Model | None = None) -> Model:
    """u from random pairs of these records, then m by EM on the candidate pairs. The prior the
    fitted model scores with is that of two random records being one person (the matches EM
    expects among the candidates, over all pairs), as Splink's: a pair's probability then does
    not depend on which other pairs blocking happened to bring along."""
    start = (base or Model()).covering(pat.levels)
    model = start
    ri, rj = random_pairs(n, RANDOM_PAIRS)
    if len(ri):
        model = u_from_levels(model, compare(cols, ri, rj))
    candidates = int(pat.counts.sum())
    if candidates < MIN_PAIRS_TO_FIT:
        return model
    fitted = fit_sessions(model, pat)
    if fitted is None:
        return start
    all_pairs = n * (n - 1) / 2
    fitted.prior = float(min(max(fitted.prior * candidates / all_pairs, 1e-12), 0.5))
    return fitted


def dedupe(
    recs: Sequence[Rec],
    *,
    threshold: float | None = None,
    train: bool = True,
    max_block: int = 60,
    model: Model | None = None,
) -> Result:
    """Cluster these records. `model` is used as given (no fitting) when passed; otherwise one is
    learnt from the records (or, with train=False, the priors are used)."""
    i, j = candidate_pairs(recs, max_block=max_block)
    cols = Columns.of(recs)
    fitted = (model or Model()).covering([])
    if len(i):
        levels = compare(cols, i, j)
        pat = Patterns.of(levels)
        if model is not None:
            fitted = model.covering(pat.levels)
        elif train:
            fitted = learn(cols, len(recs), pat)
        else:
            fitted = Model().covering(pat.levels)
        w = fitted.weights(pat.levels)[pat.inverse] + tf_adjustment(fitted, levels, cols.codes, i, j)
        p = 1 / (1 + 2.0**-w)
    else:
        p = np.zeros(0)
    chosen, precision, recall = choose_threshold(p)
    if threshold is None:
        threshold = chosen
    else:
        above = p >= threshold
        tp, total = float(p[above].sum()), float(p.sum())
        precision = tp / max(int(above.sum()), 1) if above.any() else 1.0
        recall = tp / total if total else 1.0
    keep = p >= threshold
    n = len(recs)
    graph = coo_matrix((np.ones(int(keep.sum())), (i[keep], j[keep])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    confidence = np.zeros(n)
    if keep.any():
        np.maximum.at(confidence, i[keep], p[keep])
        np.maximum.at(confidence, j[keep], p[keep])
    return Result(i, j, p, labels.astype(np.int64), confidence, fitted, threshold, precision, recall)
