"""The Fellegi-Sunter model: a pair's match weight is the prior's log-odds plus, for each field
both records have, log2(m/u) of the pair's level there (m: how often a true match is at that level,
u: how often two different people are). Learnt from the file at hand, as Splink does:

- u from random pairs, which are almost all different people (`estimate_u`): no guessing, and it
  cannot drift, whatever the blocking gathered;
- m and the prior by EM on the candidate pairs, u held fixed (`Model.fit`);
- a field whose fitted agreement came out no evidence of a match keeps its prior m, and a fit whose
  "match" class has plainly different names is not one person: its m are the priors, but still
  over every field, with the u learnt from the file.

Pairs with the same levels in every field are one pattern, so each EM round costs the patterns
(thousands), not the pairs (millions).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from leadloop.core.arrays import distinct

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

# field: (m by level, u by level), level 0 = different; the priors before a file teaches better.
FIELDS: dict[str, tuple[list[float], list[float]]] = {
    # First and last names are not independent evidence (families, namesakes): each alone is
    # weighed as a little more common than it is, so that the two together weigh as one full name.
    "first": ([0.03, 0.02, 0.05, 0.10, 0.80], [0.80, 0.08, 0.04, 0.02, 0.06]),
    "last": ([0.03, 0.02, 0.05, 0.10, 0.80], [0.85, 0.06, 0.03, 0.02, 0.04]),
    "email": ([0.35, 0.03, 0.07, 0.55], [0.9980, 0.001, 0.0005, 0.0005]),
    "phone": ([0.30, 0.03, 0.67], [0.998, 0.001, 0.001]),
    "dob": ([0.04, 0.02, 0.03, 0.03, 0.88], [0.95, 0.03, 0.0005, 0.0005, 0.0002]),
    "postcode": ([0.12, 0.05, 0.08, 0.75], [0.90, 0.07, 0.02, 0.01]),
    "address": ([0.20, 0.15, 0.65], [0.97, 0.02, 0.01]),
    "address2": ([0.30, 0.10, 0.60], [0.90, 0.05, 0.05]),
    "street_number": ([0.15, 0.05, 0.80], [0.95, 0.03, 0.02]),
    "company": ([0.35, 0.65], [0.95, 0.05]),
    "city": ([0.12, 0.08, 0.80], [0.80, 0.05, 0.15]),
    "state": ([0.10, 0.05, 0.85], [0.70, 0.05, 0.25]),
}
GENERIC: dict[str, tuple[list[float], list[float]]] = {
    "id": ([0.10, 0.05, 0.85], [0.998, 0.0015, 0.0005]),
    "text": ([0.20, 0.10, 0.70], [0.80, 0.05, 0.15]),
}
PRIOR_MATCH = 0.01  # of candidate pairs; re-estimated by EM
MAX_DIFFERENT_NAMES = 0.2  # a fitted "match" class with more plainly different names is not one person
NAME_FIELDS = ("first", "last")


def prior_of(f: str) -> tuple[list[float], list[float]]:
    if f in FIELDS:
        return FIELDS[f]
    return GENERIC[f.rstrip("0123456789")]


@dataclass
class Model:
    m: dict[str, Floats] = field(default_factory=lambda: {k: np.array(v[0]) for k, v in FIELDS.items()})
    u: dict[str, Floats] = field(default_factory=lambda: {k: np.array(v[1]) for k, v in FIELDS.items()})
    prior: float = PRIOR_MATCH

    def covering(self, fields: list[str] | dict[str, Ints]) -> Model:
        """This model with priors for the fields it has not met (a file's identifiers and text)."""
        m, u = dict(self.m), dict(self.u)
        for f in fields:
            if f not in m:
                m[f], u[f] = (np.array(x) for x in prior_of(f))
        return Model(m, u, self.prior)

    def weights(self, levels: dict[str, Ints]) -> Floats:
        n = len(next(iter(levels.values()))) if levels else 0
        w = np.full(n, np.log2(self.prior / (1 - self.prior)))
        for f, lv in levels.items():
            ok = lv >= 0
            w[ok] += np.log2(self.m[f][lv[ok]] / self.u[f][lv[ok]])
        return w

    def probabilities(self, levels: dict[str, Ints] | Patterns) -> Floats:
        """Match probability of every pair, computed once per distinct comparison pattern."""
        pat = levels if isinstance(levels, Patterns) else Patterns.of(levels)
        if not len(pat.counts):
            return np.zeros(0)
        return (1 / (1 + 2.0 ** -self.weights(pat.levels)))[pat.inverse]

    def fit(self, levels: dict[str, Ints] | Patterns, *, iterations: int = 20, fix_u: bool = True) -> Model:
        """EM on the candidate pairs for m and the prior (u too when fix_u is False), clamped so
        that no level becomes certain. EM finds the strongest structure among the candidates,
        which need not be "the same person": where blocking gathered one city's people it can
        settle on "same city and postcode" with different names. Such a fit is made again with
        the names' m held at their priors (a person is first of all a name), so that the other
        fields are learnt against the right class; see `guarded` for what remains."""
        pat = levels if isinstance(levels, Patterns) else Patterns.of(levels)
        fitted = self._em(pat, iterations=iterations, fix_u=fix_u, hold=())
        if fitted.names_differ(pat.levels):
            fitted = self._em(pat, iterations=iterations, fix_u=fix_u, hold=NAME_FIELDS)
        return fitted.guarded(self.covering(pat.levels), pat.levels)

    def names_differ(self, levels: dict[str, Ints]) -> bool:
        """More than one pair in five of the match class has plainly different first or last names."""
        return any(
            f in levels and (levels[f] >= 0).any() and self.m[f][0] > MAX_DIFFERENT_NAMES for f in NAME_FIELDS
        )

    def _em(self, pat: Patterns, *, iterations: int, fix_u: bool, hold: tuple[str, ...]) -> Model:
        levels, counts = pat.levels, pat.counts.astype(np.float64)
        base = self.covering(levels)
        total = counts.sum()
        m = {f: v.copy() for f, v in base.m.items()}
        u = {f: v.copy() for f, v in base.u.items()}
        prior = base.prior
        for _ in range(iterations):
            p = 1 / (1 + 2.0 ** -Model(m, u, prior).weights(levels))
            prior = min(max(float((p * counts).sum() / total), 1e-6), 0.95)
            for f, lv in levels.items():
                if f in hold:
                    continue
                ok = lv >= 0
                k = len(m[f])
                pm = np.bincount(lv[ok], weights=(p * counts)[ok], minlength=k) + 1e-3
                m[f] = np.clip(pm / pm.sum(), 1e-4, 1 - 1e-4)
                if not fix_u:
                    pu = np.bincount(lv[ok], weights=((1 - p) * counts)[ok], minlength=k) + 1e-3
                    u[f] = np.clip(pu / pu.sum(), 1e-4, 1 - 1e-4)
        return Model(m, u, prior)

    def guarded(self, base: Model, levels: dict[str, Ints]) -> Model:
        """A field whose best agreement came out weaker evidence than disagreement was fitted on
        pairs its own blocking made alike (the same city, say): it keeps its prior m. A "match"
        class in which more than one pair in five has plainly different first or last names is
        not the same person (EM settled on "same city and postcode", or on "same household"): every
        field then keeps its prior m, with the u learnt from the file, so no column is dropped."""
        m = dict(self.m)
        for f in levels:
            ratio = m[f] / self.u[f]
            if ratio[-1] <= ratio[0] or ratio[-1] < 1:
                m[f] = base.m[f].copy()
        if Model(m, self.u, self.prior).names_differ(levels):
            m = {f: v.copy() for f, v in base.m.items()}
        return Model(m, dict(self.u), self.prior)


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
        if not names or not len(levels[names[0]]):
            z = np.zeros(0, np.int64)
            return cls({f: z for f in names}, z, z)
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


def u_from_levels(model: Model, levels: dict[str, Ints]) -> Model:
    """u of every field from the levels of random pairs (almost all different people); a level
    no random pair reached keeps a small share rather than none."""
    u = dict(model.u)
    for f, lv in levels.items():
        k = len(prior_of(f)[1])
        ok = lv >= 0
        if ok.sum() < 100:
            continue
        counts = np.bincount(lv[ok], minlength=k).astype(np.float64) + 0.5
        u[f] = np.clip(counts / counts.sum(), 1e-6, 1 - 1e-6)
    return Model(dict(model.m), u, model.prior)


def random_pairs(n: int, size: int, *, seed: int = 1) -> tuple[Ints, Ints]:
    """Up to `size` distinct random pairs of n records (every pair when there are fewer)."""
    total = n * (n - 1) // 2
    if total <= size:
        a, b = np.triu_indices(n, 1)
        return a.astype(np.int64), b.astype(np.int64)
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n, size)
    b = rng.integers(0, n, size)
    keep = a != b
    return np.minimum(a, b)[keep].astype(np.int64), np.maximum(a, b)[keep].astype(np.int64)


def choose_threshold(p: Floats, *, floor: float = 0.95) -> tuple[float, float, float]:
    """The threshold with the best expected F1 by the model's own probabilities, and the expected
    precision and recall there: a pair at probability q is a match q of the time, so above t the
    expected true pairs are the sum of q, the false ones the sum of 1 - q, and all true pairs
    among the candidates the sum of every q. Never below `floor`: the model's probabilities are
    sharper than the truth (its fields are not independent), and a merge wrong one time in
    twenty is too many for a person's record."""
    if not len(p):
        return 0.9, 1.0, 1.0
    expected = float(p.sum())
    best = (-1.0, floor, 1.0, 0.0)
    for t in np.r_[np.arange(floor, 0.99, 0.01), [0.99, 0.995, 0.999]] if floor < 0.99 else [floor]:
        above = p >= t
        tp = float(p[above].sum())
        fp = float((1 - p[above]).sum())
        prec = tp / (tp + fp) if tp + fp else 1.0
        rec = tp / expected if expected else 1.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        if f1 > best[0] + 1e-9:
            best = (f1, float(t), prec, rec)
    return best[1], best[2], best[3]


# Fields whose exact agreement is weighed by how common the value is (term frequency): two
# records agreeing on "Zbigniew" say more than two agreeing on "John", and a birth date of
# 1 January (often a placeholder for "year only") says less than 17 March.
TF_FIELDS = {"first": "first_canon", "last": "last", "dob": "dob", "city": "city", "postcode": "postcode"}
TF_BITS = (-6.0, 4.0)  # the most a value's frequency moves a weight, down and up
TF_MIN_RECORDS = 1000


def tf_adjustment(model: Model, levels: dict[str, Ints], codes: dict[str, Ints], i: Ints, j: Ints) -> Floats:
    """Per pair, log2(u of the exact level / frequency of the agreed value), summed over the fields
    where the pair agrees exactly, each term within TF_BITS. `codes` holds each record's value code
    per column; frequencies are shares of the records that have a value."""
    out = np.zeros(len(i))
    for f, lv in levels.items():
        attr = TF_FIELDS.get(f) or (f if f.startswith("text") else None)
        if attr is None or attr not in codes:
            continue
        code = codes[attr]
        counts = np.bincount(code)
        present = counts[1:].sum()
        if present < TF_MIN_RECORDS:
            continue  # in a small file every value looks common: its frequencies say nothing
        top = len(model.u[f]) - 1
        exact = np.flatnonzero((lv == top) & (code[i] == code[j]) & (code[i] > 0))
        if not len(exact):
            continue
        freq = counts[code[i[exact]]] / present
        bits = np.log2(model.u[f][top] / np.maximum(freq, 1e-9))
        out[exact] += np.clip(bits, *TF_BITS)
    out += _swapped_tf(model, levels, codes, i, j)
    return out


def _swapped_tf(model: Model, levels: dict[str, Ints], codes: dict[str, Ints], i: Ints, j: Ints) -> Floats:
    """The term-frequency adjustment of first and last names that agree the other way round (one
    record's first name is the other's last name, and its last name the other's first). The value
    is weighed by the larger of its shares among first and among last names: "James Thomas" and
    "Thomas James" agree on two names common in either place, which says little, while a rare
    pair of names swapped says as much as it would straight."""
    out = np.zeros(len(i))
    if not all(f in levels for f in NAME_FIELDS) or not all(
        a in codes for a in ("first", "last", "first_canon")
    ):
        return out
    first, last, canon = codes["first"], codes["last"], codes["first_canon"]
    size = int(max(first.max(initial=0), last.max(initial=0), canon.max(initial=0))) + 1
    shares = []
    for code in (canon, last):
        counts = np.bincount(code, minlength=size).astype(np.float64)
        present = counts[1:].sum()
        if present < TF_MIN_RECORDS:
            return out  # as above: a small file's frequencies say nothing
        counts[0] = 0
        shares.append(counts / present)
    share = np.maximum(*shares)
    crossed = (first[i] > 0) & (first[i] == last[j]) & (last[i] > 0) & (last[i] == first[j])
    crossed &= canon[i] != canon[j]  # not also the same straight (then the straight adjustment holds)
    for f, value in (("first", first[i]), ("last", last[i])):
        top = len(model.u[f]) - 1
        hit = np.flatnonzero(crossed & (levels[f] == top))
        if len(hit):
            bits = np.log2(model.u[f][top] / np.maximum(share[value[hit]], 1e-9))
            out[hit] += np.clip(bits, *TF_BITS)
    return out


# EM sessions, as Splink trains: within the candidates that agree exactly on the session's
# fields (chosen so that most of them are one person even in a big file: a name alone is shared
# by namesakes in the same town, a name and birth date rarely), EM learns the m of every other field (the session's own would only be learnt as "always
# agree"). Different sessions see different fields free; each field's m is the mean of the
# sessions that learnt it. A session is skipped when too few pairs agree on its fields.
SESSIONS: tuple[tuple[str, ...], ...] = (
    ("first", "last", "dob"),
    ("last", "dob"),
    ("first", "dob"),
    ("first", "last", "postcode"),
    ("email",),
    ("phone",),
)
MIN_SESSION_PAIRS = 50


def fit_sessions(model: Model, pat: Patterns, *, iterations: int = 20) -> Model | None:
    """m by EM per session (u held at the model's), then the prior by EM with every m and u held.
    None when no session is anchored on something personal."""
    levels, counts = pat.levels, pat.counts
    base = model.covering(levels)
    learnt: dict[str, list[Floats]] = {}
    anchored = False  # a session on something personal (birth date, e-mail, phone, identifier)
    sessions = list(SESSIONS) + [(f,) for f in levels if f.startswith("id")]
    for fields in sessions:
        if not all(f in levels for f in fields):
            continue
        inside = np.ones(len(counts), bool)
        for f in fields:
            inside &= levels[f] == len(base.m[f]) - 1
        if int(counts[inside].sum()) < MIN_SESSION_PAIRS:
            continue
        # The session's own fields agree in every one of its pairs, matches and non-matches alike:
        # they tell its two classes nothing and are left out of its EM, as Splink does. Weighed
        # with u from random pairs they added the same bits (a full name and postcode: +17) to
        # every pair, and in a big town's namesakes EM then found "one person" everywhere.
        sub = Patterns(
            {f: lv[inside] for f, lv in levels.items() if f not in fields},
            counts[inside],
            np.zeros(0, np.int64),
        )
        if not sub.levels:
            continue
        fitted = base._em(sub, iterations=iterations, fix_u=True, hold=())
        if fitted.names_differ(sub.levels):
            # This session's class is not one person (one household, one office; in a big file
            # the same last name and birth date gathers namesakes): judged by the names it was
            # free to learn, also when it holds the other one.
            continue
        anchored |= bool(set(fields) - {"first", "last", "postcode", "city"})
        for f in sub.levels:
            if (sub.levels[f] >= 0).sum() > 0:
                learnt.setdefault(f, []).append(fitted.m[f])
    if not anchored:
        # Names and a place alone cannot tell namesakes (or colleagues) from one person: EM on them
        # learns "same town", and random pairs understate how often colleagues share a company:
        # None, so that the careful priors stay as they were.
        return None
    m = dict(base.m)
    for f, estimates in learnt.items():
        m[f] = np.mean(estimates, axis=0)
    everything = tuple(levels)
    fitted = Model(m, base.u, base.prior)._em(pat, iterations=iterations, fix_u=True, hold=everything)
    fitted = fitted.guarded(base, levels)
    if different_names_share(fitted, pat) > MAX_DIFFERENT_NAMES:
        # The class the sessions found is not one person (a world of colleagues without a single
        # duplicate): the careful priors, over every field, rather than that.
        return model.covering(levels)
    return fitted


def different_names_share(model: Model, pat: Patterns) -> float:
    """Of the pairs the model calls matches (weighted by probability), the share whose first or
    last names are plainly different."""
    names = [pat.levels[f] == 0 for f in NAME_FIELDS if f in pat.levels]
    if not names or not len(pat.counts):
        return 0.0
    p = 1 / (1 + 2.0 ** -model.weights(pat.levels)) * pat.counts
    differ = np.logical_or.reduce(names)
    return float(p[differ].sum() / max(p.sum(), 1e-12))
