"""Finding the same person twice, in bulk: blocking, vectorised comparison, a Fellegi-Sunter
model (its m and u probabilities refined by EM on the data at hand, like Splink) and clusters.

1. Blocking: pairs are only compared when they share a key (normalised e-mail, phone, phonetic
   last name with the first initial and postcode area, phonetic last name with birth date, company,
   or swapped names). Blocks larger than `max_block` are split by a second key or left out,
   so a million records never become a trillion pairs.
2. Comparison: each pair gets a level per field (exact, close, different, missing) from rapidfuzz
   similarities computed in C over whole arrays (`process.cpdist`).
3. Scoring: match weight = prior + Σ log2(m/u) over the fields both records have; probability =
   1 / (1 + 2^-weight). m and u start from priors and are re-estimated by EM on the candidate pairs.
4. Clusters: connected components of the pairs at or above the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from leadloop.core.arrays import distinct
from leadloop.identity.normal import phonetic
from leadloop.identity.records import Rec

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

# Levels per field: -1 missing on either side, then 0 (different) up to the best agreement.
FIELDS: dict[str, tuple[list[float], list[float]]] = {
    # field: (m by level, u by level), level 0 = different
    "name": ([0.03, 0.07, 0.10, 0.20, 0.60], [0.90, 0.06, 0.025, 0.01, 0.005]),
    "email": ([0.35, 0.10, 0.55], [0.9985, 0.001, 0.0005]),
    "phone": ([0.30, 0.70], [0.999, 0.001]),
    "dob": ([0.05, 0.05, 0.90], [0.97, 0.02, 0.01]),
    "postcode": ([0.15, 0.10, 0.75], [0.90, 0.07, 0.03]),
    "address": ([0.20, 0.15, 0.65], [0.97, 0.02, 0.01]),
    "company": ([0.35, 0.65], [0.95, 0.05]),
    "city": ([0.15, 0.85], [0.80, 0.20]),
}
PRIOR_MATCH = 0.01  # of candidate pairs; re-estimated by EM
MAX_DIFFERENT_NAMES = 0.2  # a fitted "match" class with more plainly different names is not one person


@dataclass
class Model:
    m: dict[str, Floats] = field(default_factory=lambda: {k: np.array(v[0]) for k, v in FIELDS.items()})
    u: dict[str, Floats] = field(default_factory=lambda: {k: np.array(v[1]) for k, v in FIELDS.items()})
    prior: float = PRIOR_MATCH

    def weights(self, levels: dict[str, Ints]) -> Floats:
        n = len(next(iter(levels.values())))
        w = np.full(n, np.log2(self.prior / (1 - self.prior)))
        for f, lv in levels.items():
            ok = lv >= 0
            w[ok] += np.log2(self.m[f][lv[ok]] / self.u[f][lv[ok]])
        return w

    def probabilities(self, levels: dict[str, Ints] | Patterns) -> Floats:
        """Match probability of every pair, computed once per distinct comparison pattern."""
        pat = levels if isinstance(levels, Patterns) else Patterns.of(levels)
        return (1 / (1 + 2.0 ** -self.weights(pat.levels)))[pat.inverse]

    def fit(self, levels: dict[str, Ints] | Patterns, *, iterations: int = 10) -> Model:
        """EM on the candidate pairs: the data decide how telling each level is. Clamped so that no
        level becomes certain, and ignored if it drifts to a degenerate answer. Pairs with the same
        levels in every field are one pattern, so each round costs the patterns, not the pairs.

        EM finds the strongest structure in the candidate pairs, which need not be "the same
        person": where blocking gathered one city's people or colleagues, it can settle on "same
        city and postcode" and call different names a match. A fit in which agreeing names are not
        evidence of a match, or in which more than one match in five has plainly different names,
        is therefore discarded whole, and the model stays as it was."""
        pat = levels if isinstance(levels, Patterns) else Patterns.of(levels)
        levels, counts = pat.levels, pat.counts.astype(np.float64)
        total = counts.sum()
        m = {f: v.copy() for f, v in self.m.items()}
        u = {f: v.copy() for f, v in self.u.items()}
        prior = self.prior
        for _ in range(iterations):
            p = 1 / (1 + 2.0 ** -Model(m, u, prior).weights(levels))
            new_prior = float((p * counts).sum() / total)
            for f, lv in levels.items():
                ok = lv >= 0
                k = len(m[f])
                pm = np.bincount(lv[ok], weights=(p * counts)[ok], minlength=k) + 1e-3
                pu = np.bincount(lv[ok], weights=((1 - p) * counts)[ok], minlength=k) + 1e-3
                m[f] = np.clip(pm / pm.sum(), 1e-4, 1 - 1e-4)
                u[f] = np.clip(pu / pu.sum(), 1e-4, 1 - 1e-4)
            prior = min(max(new_prior, 1e-5), 0.5)
        if not 1e-5 < prior < 0.5:
            return self
        if (levels["name"] >= 0).any() and m["name"][0] > MAX_DIFFERENT_NAMES:
            return self
        # A field whose best agreement came out weaker evidence than disagreement was fitted on
        # pairs its own blocking made alike (the same city, say): it keeps its prior instead.
        # If that field is the name, the fitted class is not "the same person" at all.
        for f in m:
            ratio = m[f] / u[f]
            if ratio[-1] <= ratio[0] or ratio[-1] < 1:
                if f == "name" and (levels[f] >= 0).any():
                    return self
                m[f], u[f] = self.m[f].copy(), self.u[f].copy()
        return Model(m, u, prior)


@dataclass(frozen=True)
class Patterns:
    """The distinct comparison patterns (one level per field) among the pairs, how many pairs have
    each, and each pair's pattern: millions of pairs share a few thousand patterns."""

    levels: dict[str, Ints]
    counts: Ints
    inverse: Ints

    @classmethod
    def of(cls, levels: dict[str, Ints]) -> Patterns:
        names = list(levels)
        radix = [int(levels[f].max(initial=-1)) + 2 for f in names]
        code = np.zeros(len(levels[names[0]]), np.int64)
        for f, r in zip(names, radix, strict=True):
            code = code * r + (levels[f] + 1)
        uniq, inverse, counts = distinct(code)
        out: dict[str, Ints] = {}
        for f, r in zip(reversed(names), reversed(radix), strict=True):
            out[f] = uniq % r - 1
            uniq = uniq // r
        return cls({f: out[f] for f in names}, counts, inverse)


def blocking_keys(r: Rec) -> list[str]:
    keys = []
    if r.email:
        keys.append("e:" + r.email)
    if r.phone:
        keys.append("p:" + r.phone)
    last = phonetic(r.last) if r.last else None
    first = r.first_canon or r.first
    if last:
        if first and r.postcode:
            keys.append(f"n:{first[0]}:{last}:{r.postcode[:3]}")
        if r.dob:
            keys.append(f"d:{last}:{r.dob}")
        if first:
            keys.append(f"f:{phonetic(first)}:{last}")
        if r.company:
            keys.append(f"c:{last}:{r.company}")
        if first and r.city:
            keys.append(f"t:{first[0]}:{last}:{r.city}")
    if r.first and r.last:  # swapped first and last names
        keys.append("s:" + ":".join(sorted((phonetic(r.first) or r.first, phonetic(r.last) or r.last))))
    if r.email_local and len(r.email_local) >= 5:  # the same handle at another domain (old job, free mail)
        keys.append("l:" + r.email_local)
    return keys


# Keys that name a person only loosely (a common first and last name, a city, an e-mail handle such
# as "jsmith" that many people share) are trusted only in small blocks; an initial and last name in
# one postcode area in middling ones; identifiers (e-mail, phone) and name-plus-something keys in
# larger ones.
LOOSE = ("f:", "s:", "t:", "l:")
MIDDLING = ("n:",)


def block_cap(key: str, max_block: int = 60) -> int:
    """The largest block of this key whose members are compared."""
    if key.startswith(LOOSE):
        return max(2, max_block // 4)
    return max(2, max_block // 2) if key.startswith(MIDDLING) else max_block


@lru_cache(maxsize=256)
def _pairs_of(k: int) -> tuple[Ints, Ints]:
    a, b = np.triu_indices(k, 1)
    return a.astype(np.int64), b.astype(np.int64)


def candidate_pairs(recs: Sequence[Rec], *, max_block: int = 60) -> tuple[Ints, Ints]:
    """Every pair sharing a key, from blocks of 2 up to their cap. Vectorised: (key, record) codes
    sorted by key, blocks of one size expanded together, so a million records cost a few numpy
    passes rather than a Python loop over every block."""
    codes: dict[str, int] = {}
    key_code: list[int] = []
    owner: list[int] = []
    for idx, r in enumerate(recs):
        for k in blocking_keys(r):
            key_code.append(codes.setdefault(k, len(codes)))
            owner.append(idx)
    empty = np.zeros(0, np.int64), np.zeros(0, np.int64)
    if not key_code:
        return empty
    cap_of = np.fromiter((block_cap(k, max_block) for k in codes), np.int64, len(codes))
    kc = np.asarray(key_code, dtype=np.int64)
    order = np.argsort(kc, kind="stable")
    kc, members = kc[order], np.asarray(owner, dtype=np.int64)[order]
    starts = np.flatnonzero(np.r_[True, kc[1:] != kc[:-1]])
    sizes = np.diff(np.r_[starts, len(kc)])
    caps = cap_of[kc[starts]]
    keep = (sizes > 1) & (sizes <= caps)
    lefts: list[Ints] = []
    rights: list[Ints] = []
    for size in np.unique(sizes[keep]).tolist():
        first = starts[keep & (sizes == size)]
        a, b = _pairs_of(int(size))
        lefts.append(members[(first[:, None] + a[None, :]).ravel()])
        rights.append(members[(first[:, None] + b[None, :]).ravel()])
    if not lefts:
        return empty
    left, right = np.concatenate(lefts), np.concatenate(rights)
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    code = np.sort(lo[lo != hi] * len(recs) + hi[lo != hi])
    code = code[np.r_[True, code[1:] != code[:-1]]] if len(code) else code
    return code // len(recs), code % len(recs)


def _sim(a: list[str], b: list[str], scorer: Any) -> Floats:
    return np.asarray(process.cpdist(a, b, scorer=scorer, workers=-1), dtype=np.float64)


def _sim_values(c: Columns, left: str, right: str, i: Ints, j: Ints, scorer: Any) -> Floats:
    """`scorer` of column `left` of records i against column `right` of records j, computed once
    per distinct pair of values (names and companies repeat: far fewer than the pairs)."""
    width = len(c.by_code[right])
    uniq, inverse, _ = distinct(c.codes[left][i] * width + c.codes[right][j])
    left_values, right_values = c.by_code[left][uniq // width], c.by_code[right][uniq % width]
    return _sim(list(left_values.tolist()), list(right_values.tolist()), scorer)[inverse]


ATTRS = (
    "first",
    "last",
    "first_canon",
    "email",
    "email_local",
    "phone",
    "postcode",
    "dob",
    "company",
    "address",
    "city",
)


@dataclass
class Columns:
    """The records column by column: the strings ("" when missing) and an integer code per distinct
    value (0 when missing), so equality over millions of pairs is an integer comparison."""

    values: dict[str, npt.NDArray[np.object_]]
    codes: dict[str, Ints]
    by_code: dict[str, npt.NDArray[np.object_]]  # the value of each code ("" for 0)

    @classmethod
    def of(cls, recs: Sequence[Rec]) -> Columns:
        values: dict[str, npt.NDArray[np.object_]] = {}
        codes: dict[str, Ints] = {}
        by_code: dict[str, npt.NDArray[np.object_]] = {}
        derived = {
            "first_initial": [(r.first_canon or "")[:1] for r in recs],
            "postcode_area": [(r.postcode or "")[:3] for r in recs],
            "handle": [r.email_local if r.email_local and len(r.email_local) >= 5 else "" for r in recs],
            "dob_near": [f"{r.dob[:4]}{''.join(sorted(r.dob[5:]))}" if r.dob else "" for r in recs],
        }
        columns = {a: [getattr(r, a) or "" for r in recs] for a in ATTRS} | derived
        for name, col in columns.items():
            lookup: dict[str, int] = {"": 0}
            codes[name] = np.fromiter((lookup.setdefault(v, len(lookup)) for v in col), np.int64, len(col))
            values[name] = np.array(col, dtype=object)
            by_code[name] = np.array(list(lookup), dtype=object)
        return cls(values, codes, by_code)


def compare(recs: Sequence[Rec] | Columns, i: Ints, j: Ints) -> dict[str, Ints]:
    """Comparison levels per field for each pair (-1: missing on either side)."""
    c = recs if isinstance(recs, Columns) else Columns.of(recs)
    n = len(i)
    out: dict[str, Ints] = {}

    def eq(attr: str) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        a, b = c.codes[attr][i], c.codes[attr][j]
        return (a > 0) & (b > 0), a == b

    jw = JaroWinkler.normalized_similarity
    fp, first_same = eq("first_canon")
    lp, last_same = eq("last")

    def similar(attr: str, known: npt.NDArray[np.bool_]) -> Floats:
        """Jaro-Winkler, computed in C only where the answer is not already known to be 1."""
        out = np.ones(n)
        todo = np.flatnonzero(~known)
        if len(todo):
            out[todo] = _sim_values(c, attr, attr, i[todo], j[todo], jw)
        return out

    jf = similar("first_canon", fp & first_same)
    jl = similar("last", lp & last_same)
    swapped = np.zeros(n)
    todo = np.flatnonzero(fp & lp & ~(first_same & last_same))
    if len(todo):
        ii, jj = i[todo], j[todo]
        swapped[todo] = np.minimum(
            _sim_values(c, "first", "last", ii, jj, jw), _sim_values(c, "last", "first", ii, jj, jw)
        )
    ip, initial = eq("first_initial")
    initial &= ip
    best_first = np.where(fp, jf, 0.0)
    name = np.zeros(n, np.int64)
    name[lp & (jl >= 0.8)] = 1
    name[lp & (jl >= 0.92) & (initial | ~fp)] = 2
    name[(lp & fp & (jl >= 0.92) & (best_first >= 0.92)) | (fp & lp & (swapped >= 0.95))] = 3
    name[lp & fp & last_same & first_same] = 4
    # Two first names that are plainly different (not a typo, nickname or swap) are two people
    # however alike the last names: a shared office phone must not make colleagues one.
    name[fp & lp & (jf < 0.7) & (swapped < 0.95)] = 0
    name[~lp] = -1
    out["name"] = name

    ep, same = eq("email")
    hp, same_handle = eq("handle")
    out["email"] = np.where(~ep, -1, np.where(same, 2, np.where(hp & same_handle, 1, 0)))
    for attr in ("phone", "city"):
        p, e = eq(attr)
        out[attr] = np.where(~p, -1, e.astype(np.int64))
    dp, deq = eq("dob")
    _, dnear = eq("dob_near")
    out["dob"] = np.where(~dp, -1, np.where(deq, 2, np.where(dnear, 1, 0)))
    pp, peq = eq("postcode")
    _, parea = eq("postcode_area")
    out["postcode"] = np.where(~pp, -1, np.where(peq, 2, np.where(parea, 1, 0)))
    ap, aeq = eq("address")
    asim = np.where(aeq, 1.0, 0.0)
    todo = np.flatnonzero(ap & ~aeq)
    if len(todo):
        asim[todo] = _sim_values(c, "address", "address", i[todo], j[todo], fuzz.token_set_ratio) / 100
    out["address"] = np.where(~ap, -1, np.where(asim >= 0.9, 2, np.where(asim >= 0.7, 1, 0)))
    cp, ceq = eq("company")
    csim = np.where(ceq, 1.0, 0.0)
    todo = np.flatnonzero(cp & ~ceq)
    if len(todo):
        csim[todo] = _sim_values(c, "company", "company", i[todo], j[todo], fuzz.token_set_ratio) / 100
    out["company"] = np.where(~cp, -1, (csim >= 0.9).astype(np.int64))
    return {k: v.astype(np.int64) for k, v in out.items()}


@dataclass
class Result:
    left: Ints
    right: Ints
    probability: Floats
    cluster: Ints  # per record
    confidence: Floats  # per record: the best link to its cluster (0 when alone)
    model: Model


def dedupe(recs: Sequence[Rec], *, threshold: float = 0.9, train: bool = True, max_block: int = 60) -> Result:
    i, j = candidate_pairs(recs, max_block=max_block)
    model = Model()
    if len(i):
        pat = Patterns.of(compare(Columns.of(recs), i, j))
        if train and len(i) >= 200:
            model = model.fit(pat)
        p = model.probabilities(pat)
    else:
        p = np.zeros(0)
    keep = p >= threshold
    n = len(recs)
    graph = coo_matrix((np.ones(int(keep.sum())), (i[keep], j[keep])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    confidence = np.zeros(n)
    if keep.any():
        np.maximum.at(confidence, i[keep], p[keep])
        np.maximum.at(confidence, j[keep], p[keep])
    return Result(i, j, p, labels.astype(np.int64), confidence, model)
