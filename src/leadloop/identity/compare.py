"""Comparison: a level per field for each candidate pair (-1 missing on either side, 0 different,
up to the field's best agreement), computed over whole arrays: equality as integer codes, string
similarities by rapidfuzz in C once per distinct pair of values.

Levels per field (highest first):
- first / last name: same (nickname-aware) · Jaro-Winkler ≥ 0.9 · ≥ 0.85 or sounds alike ·
  ≥ 0.7 or only an initial that agrees · different. Swapped first and last names are compared the
  other way round; a middle name stands in for the first, a birth name for the last.
- birth date: same · day and month transposed · one digit off · same year · different.
- numbers (identifiers, street numbers, phones): same · one typo · different.
- postcode: same · one typo · same area · different. E-mail: same · same handle · two edits apart · different.
- city, free text: same · Jaro-Winkler ≥ 0.88 · different. Addresses: token-set ≥ 0.9 · ≥ 0.7.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from leadloop.core.arrays import distinct
from leadloop.identity.normal import phonetic
from leadloop.identity.records import Rec

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

# Columns that are compared with each other share one code space (a first name with a last name,
# a birth date with its day and month swapped), so a cross comparison is an integer comparison.
FAMILIES = {
    "name": ("first", "last", "first_canon", "middle", "birth"),
    "phon": ("first_ph", "last_ph", "middle_ph", "birth_ph"),
    "dob": ("dob", "dob_swap"),
}
PLAIN = ("email", "phone", "postcode", "company", "address", "address2", "street_number", "city", "state")


@dataclass
class Columns:
    """The records column by column: the strings ("" when missing) and an integer code per distinct
    value (0 when missing), so equality over millions of pairs is an integer comparison."""

    codes: dict[str, Ints]
    by_code: dict[str, npt.NDArray[np.object_]]  # the value of each code ("" for 0), per column
    n_ids: int = 0
    n_texts: int = 0

    @classmethod
    def of(cls, recs: Sequence[Rec]) -> Columns:
        def col(f: Any) -> list[str]:
            return [f(r) or "" for r in recs]

        raw: dict[str, list[str]] = {
            a: col(lambda r, a=a: getattr(r, a)) for a in (*FAMILIES["name"], *PLAIN)
        }
        # E-mails compared with their handle transliterated as names are ("josé.garcía@x.com" is
        # "jose.garcia@x.com"); the stored e-mail key and its blocking key stay as written.
        raw["email"] = col(
            lambda r: f"{r.email_local}@{r.email.rpartition('@')[2]}" if r.email_local else r.email
        )
        # The house numbers an address holds: a street alike with another number is a neighbour.
        raw["address_number"] = col(lambda r: house_numbers(r.address))
        raw["first_ph"] = col(lambda r: phonetic(r.first_canon or r.first))
        for a in ("last", "middle", "birth"):
            raw[f"{a}_ph"] = col(lambda r, a=a: phonetic(getattr(r, a)))
        raw["dob"] = col(lambda r: r.dob)
        raw["dob_swap"] = col(lambda r: f"{r.dob[:4]}-{r.dob[8:10]}-{r.dob[5:7]}" if r.dob else None)
        raw["dob_year"] = col(lambda r: r.dob[:4] if r.dob else None)
        raw["first_initial"] = col(lambda r: r.initial)
        raw["postcode_area"] = col(lambda r: (r.postcode or "")[:3])
        raw["handle"] = col(lambda r: r.email_local if r.email_local and len(r.email_local) >= 5 else None)
        n_ids = max((len(r.ids) for r in recs), default=0)
        n_texts = max((len(r.texts) for r in recs), default=0)
        for k in range(n_ids):
            raw[f"id{k}"] = col(lambda r, k=k: r.ids[k] if k < len(r.ids) else None)
        for k in range(n_texts):
            raw[f"text{k}"] = col(lambda r, k=k: r.texts[k] if k < len(r.texts) else None)
        codes: dict[str, Ints] = {}
        by_code: dict[str, npt.NDArray[np.object_]] = {}
        shared = {a: fam for fam, attrs in FAMILIES.items() for a in attrs}
        lookups: dict[str, dict[str, int]] = {}
        for name, values in raw.items():
            lookup = lookups.setdefault(shared.get(name, name), {"": 0})
            codes[name] = np.fromiter(
                (lookup.setdefault(v, len(lookup)) for v in values), np.int64, len(values)
            )
        for name in raw:
            by_code[name] = np.array(list(lookups[shared.get(name, name)]), dtype=object)
        # A handle made of the person's own name (jsmith, john.smith) agrees for namesakes as often
        # as for one person: it repeats the names' evidence and is not counted again.
        codes["handle_named"] = np.fromiter((_named(r) for r in recs), np.int64, len(recs))
        return cls(codes, by_code, n_ids, n_texts)

    def has(self, attr: str) -> bool:
        return attr in self.codes and bool(self.codes[attr].any())


@lru_cache(maxsize=200_000)
def house_numbers(address: str | None) -> str | None:
    """The numbers in a normalised address ("12 high st" -> "12", "flat 3 12 high st" -> "3 12"),
    sorted; None when it has none."""
    nums = sorted({t for t in (address or "").split() if any(ch.isdigit() for ch in t)})
    return " ".join(nums) or None


def _numbers_conflict(a: str, b: str) -> bool:
    """Two addresses' house numbers (as `house_numbers` gives them) say different places: one
    has numbers the other lacks entirely, or neither's numbers include the other's (12 and 14;
    flat 3 and flat 5 of number 12). "12" against "flat 3, 12" is no conflict."""
    if a == b:
        return False
    if not a or not b:
        return True
    x, y = set(a.split()), set(b.split())
    return not (x <= y or y <= x)


def _named(r: Rec) -> bool:
    handle = r.email_local or ""
    return any(part and len(part) >= 3 and part.replace(" ", "") in handle for part in (r.last, r.first))


def _sim_values(c: Columns, left: str, right: str, i: Ints, j: Ints, scorer: Any) -> Floats:
    """`scorer` of column `left` of records i against column `right` of records j, computed once
    per distinct pair of values (names and cities repeat: far fewer than the pairs)."""
    if not len(i):
        return np.zeros(0)
    width = len(c.by_code[right])
    uniq, inverse, _ = distinct(c.codes[left][i] * width + c.codes[right][j])
    lv, rv = c.by_code[left][uniq // width], c.by_code[right][uniq % width]
    sims = process.cpdist(list(lv.tolist()), list(rv.tolist()), scorer=scorer, workers=-1)
    return np.asarray(sims, dtype=np.float64)[inverse]


def _pairwise(p: _Pairs, attr: str, fn: Any, where: Bools) -> Bools:
    """fn(value of i, value of j) of column `attr` ("" when missing) where asked, else False;
    computed once per distinct pair of values."""
    out = np.zeros(p.n, bool)
    todo = np.flatnonzero(where)
    if not len(todo):
        return out
    c = p.c
    width = len(c.by_code[attr])
    uniq, inverse, _ = distinct(c.codes[attr][p.i[todo]] * width + c.codes[attr][p.j[todo]])
    values = c.by_code[attr]
    got = np.fromiter((fn(values[u // width], values[u % width]) for u in uniq.tolist()), bool, len(uniq))
    out[todo] = got[inverse]
    return out


class _Pairs:
    def __init__(self, c: Columns, i: Ints, j: Ints) -> None:
        self.c, self.i, self.j, self.n = c, i, j, len(i)

    def known(self, a: str, b: str | None = None) -> tuple[Bools, Bools]:
        """Both present, and equal."""
        x, y = self.c.codes[a][self.i], self.c.codes[b or a][self.j]
        return (x > 0) & (y > 0), x == y

    def sim(self, a: str, b: str, scorer: Any, where: Bools) -> Floats:
        """scorer(a of i, b of j) where asked, else 0."""
        out = np.zeros(self.n)
        todo = np.flatnonzero(where)
        if len(todo):
            out[todo] = _sim_values(self.c, a, b, self.i[todo], self.j[todo], scorer)
        return out

    def typo(self, a: str) -> tuple[Bools, Bools, Bools]:
        """Present on both sides, the same, at most one edit (or a transposition) apart."""
        ok, same = self.known(a)
        near = same | (self.sim(a, a, DamerauLevenshtein.distance, ok & ~same) <= 1)
        return ok, same, near & ok


def _name_side(p: _Pairs, a: str, b: str, alts: Sequence[tuple[str, str]]) -> tuple[Bools, Floats, Bools]:
    """Presence, best Jaro-Winkler and sounds-alike of name column a (of i) against b (of j), also
    trying the alternates (a middle name for the first, a birth name for the last)."""
    jw = JaroWinkler.normalized_similarity
    ok, same = p.known(a, b)
    sim = np.where(same & ok, 1.0, p.sim(a, b, jw, ok & ~same))
    _, ph = p.known(a + "_ph", b + "_ph")
    sounds = ph & ok
    for x, y in alts:
        okx, samex = p.known(x, y)
        if okx.any():
            sim = np.maximum(sim, np.where(samex & okx, 1.0, p.sim(x, y, jw, okx & ~samex)))
            ok = ok | okx
    return ok, sim, sounds


def _name_levels(ok: Bools, sim: Floats, sounds: Bools, exact: Bools) -> Ints:
    lv = np.zeros(len(ok), np.int64)
    lv[sim >= 0.7] = 1
    lv[(sim >= 0.85) | sounds] = 2
    lv[sim >= 0.9] = 3
    lv[exact | (sim >= 0.999)] = 4
    return np.where(ok, lv, -1)


def compare(recs: Sequence[Rec] | Columns, i: Ints, j: Ints) -> dict[str, Ints]:
    """Comparison levels per field for each pair (-1: missing on either side). Fields no record
    has are left out."""
    c = recs if isinstance(recs, Columns) else Columns.of(recs)
    p = _Pairs(c, i, j)
    out: dict[str, Ints] = {}
    if c.has("first") or c.has("last"):
        out.update(_names(p))
    if c.has("email"):
        ep, same = p.known("email")
        hp, same_handle = p.known("handle")
        # A typo is two edits at most: a shared long domain must not make colleagues alike.
        typo = p.sim("email", "email", DamerauLevenshtein.distance, ep & ~same) <= 2
        named = (c.codes["handle_named"][i] > 0) | (c.codes["handle_named"][j] > 0)
        lv = np.where(same, 3, np.where(hp & same_handle, np.where(named, -1, 2), np.where(typo, 1, 0)))
        out["email"] = np.where(ep, lv, -1)
    for attr in ("phone", "street_number", *(f"id{k}" for k in range(c.n_ids))):
        if c.has(attr):
            ok, same, near = p.typo(attr)
            out[attr] = np.where(~ok, -1, np.where(same, 2, near.astype(np.int64)))
    if c.has("dob"):
        ok, same, near = p.typo("dob")
        _, swapped = p.known("dob", "dob_swap")
        _, year = p.known("dob_year")
        lv = np.select([same, swapped, near, year], [4, 3, 2, 1], 0)
        out["dob"] = np.where(ok, lv, -1)
    if c.has("postcode"):
        ok, same, near = p.typo("postcode")
        _, area = p.known("postcode_area")
        out["postcode"] = np.where(ok, np.select([same, near, area], [3, 2, 1], 0), -1)
    for attr in ("address", "address2", "company"):
        if c.has(attr):
            ok, same = p.known(attr)
            s = np.where(same, 1.0, p.sim(attr, attr, fuzz.token_set_ratio, ok & ~same) / 100)
            lv = (
                (s >= 0.9).astype(np.int64)
                if attr == "company"
                else np.select([s >= 0.9, s >= 0.7], [2, 1], 0)
            )
            if attr == "address":
                # The same street with another house number (or none) is a neighbour's or a
                # household's address as often as one person's: at most "alike".
                lv = np.where(_pairwise(p, "address_number", _numbers_conflict, ok & (lv == 2)), 1, lv)
            out[attr] = np.where(ok, lv, -1)
    for attr in ("city", "state", *(f"text{k}" for k in range(c.n_texts))):
        if c.has(attr):
            ok, same = p.known(attr)
            near = p.sim(attr, attr, JaroWinkler.normalized_similarity, ok & ~same) >= 0.88
            out[attr] = np.where(ok, np.select([same, near], [2, 1], 0), -1)
    return {k: v.astype(np.int64) for k, v in out.items()}


def _names(p: _Pairs) -> dict[str, Ints]:
    """First and last name levels, each pair read straight or with first and last swapped,
    whichever agrees better."""
    c = p.c
    alts_first = [("first", "middle"), ("middle", "first")] if c.has("middle") else []
    alts_last = [("last", "birth"), ("birth", "last"), ("birth", "birth")] if c.has("birth") else []
    f_ok, f_sim, f_ph = _name_side(p, "first", "first", alts_first)
    l_ok, l_sim, l_ph = _name_side(p, "last", "last", alts_last)
    fc_ok, fc_same = p.known("first_canon")
    x_ok, x_sim, x_ph = _name_side(p, "first", "last", [])
    y_ok, y_sim, y_ph = _name_side(p, "last", "first", [])
    straight = np.where(f_ok, f_sim, 0) + np.where(l_ok, l_sim, 0)
    cross = np.where(x_ok, x_sim, 0) + np.where(y_ok, y_sim, 0)
    swap = cross > straight + 0.1
    first = _name_levels(f_ok, f_sim, f_ph, fc_ok & fc_same)
    last = _name_levels(l_ok, l_sim, l_ph, np.zeros(p.n, bool))
    first = np.where(swap, _name_levels(x_ok, x_sim, x_ph, np.zeros(p.n, bool)), first)
    last = np.where(swap, _name_levels(y_ok, y_sim, y_ph, np.zeros(p.n, bool)), last)
    # "J." and "John": the initial agrees, a weak agreement rather than a missing name.
    i_ok, i_same = p.known("first_initial")
    first = np.where((first == -1) & i_ok & i_same & ~swap, 1, first)
    return {"first": first, "last": last}
