"""Blocking: which pairs are compared at all. Two records are compared when they share a key of
one of the rules below; a key that many records share (a common name in a big city) stops telling
them apart, so a block larger than its rule's cap is left out, and a million records never become
a trillion pairs. Every rule is measured by its pair completeness (the share of true pairs it
brings to comparison) in bench/dedupe.py."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from leadloop.identity.normal import phonetic
from leadloop.identity.records import Rec

Ints = npt.NDArray[np.int64]

RULES = {
    "e": "same e-mail",
    "p": "same phone",
    "i": "same identifier",
    "n": "initial, sounds-like last name, postcode area",
    "d": "a sounds-like name part and birth date",
    "f": "sounds-like first and last name",
    "c": "sounds-like last name and company",
    "t": "initial, sounds-like last name and city",
    "s": "first and last name swapped",
    "b": "birth date and postcode",
    "y": "birth date and city",
    "g": "first initial and birth date",
    "q": "a sounds-like name part and postcode",
    "r": "a sounds-like name part and city",
    "a": "postcode and street number",
    "l": "same e-mail handle",
    "h": "no last name: a sounds-like name part, postcode or city, and street address",
}


def _parts(r: Rec) -> set[str]:
    """The sounds-like codes of every name part a record has (first, last, middle, birth name):
    a part moved to another column (swapped names, a second first name used as the first, a
    married name) still meets its match."""
    out = set()
    for part in (r.first_canon or r.first, r.last, r.middle, r.birth):
        if code := phonetic(part):
            out.add(code)
    return out


def blocking_keys(r: Rec) -> list[str]:
    keys = []
    if r.email:
        keys.append("e:" + r.email)
    if r.phone:
        keys.append("p:" + r.phone)
    for k, v in enumerate(r.ids):
        if v:
            keys.append(f"i:{k}:{v}")
    first = r.first_canon or r.first
    lasts = {code for x in (r.last, r.birth) if (code := phonetic(x))}
    for last in lasts:
        if first and r.postcode:
            keys.append(f"n:{first[0]}:{last}:{r.postcode[:3]}")
        if first:
            keys.append(f"f:{phonetic(first)}:{last}")
        if r.company:
            keys.append(f"c:{last}:{r.company}")
        if first and r.city:
            keys.append(f"t:{first[0]}:{last}:{r.city}")
    if r.middle and lasts:
        keys.extend(f"f:{phonetic(r.middle)}:{last}" for last in lasts)
    parts = _parts(r)
    if r.dob:
        keys.extend(f"d:{code}:{r.dob}" for code in parts)
        if r.postcode:
            keys.append(f"b:{r.dob}:{r.postcode}")
        if r.city:
            keys.append(f"y:{r.dob}:{r.city}")
        if r.initial:
            keys.append(f"g:{r.initial}:{r.dob}")
    if r.postcode:
        keys.extend(f"q:{code}:{r.postcode}" for code in parts)
    if r.city:
        keys.extend(f"r:{code}:{r.city}" for code in parts)
    if r.postcode and r.street_number:
        keys.append(f"a:{r.postcode}:{r.street_number}")
    if r.first and r.last:  # swapped first and last names
        keys.append("s:" + ":".join(sorted((phonetic(r.first) or r.first, phonetic(r.last) or r.last))))
    if not lasts and r.address and (place := r.postcode or r.city):
        # No last name to block on (none given, or one too short to be a key: "Ó", an initial): the
        # rules above that need one are lost, so the person's name and street address stand in.
        keys.extend(f"h:{code}:{place}:{r.address}" for code in parts)
    if r.email_local and len(r.email_local) >= 5:  # the same handle at another domain (old job, free mail)
        keys.append("l:" + r.email_local)
    return keys


# Keys that name a person only loosely (a common first and last name, a city, an e-mail handle such
# as "jsmith" that many people share, a household's address) are trusted only in small blocks; an
# initial and last name in one postcode area in middling ones; identifiers (e-mail, phone) and
# name-plus-birth-date keys in larger ones.
LOOSE = ("f:", "s:", "t:", "l:", "a:", "r:", "h:")
MIDDLING = ("n:", "q:", "y:")


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


def pair_completeness(
    recs: Sequence[Rec], pairs: Sequence[tuple[int, int]], *, max_block: int = 60
) -> dict[str, float]:
    """Per rule, and for all rules together ("all"), the share of these (true) pairs that the rule
    brings to comparison: a shared key in a block within the rule's cap."""
    keys = [blocking_keys(r) for r in recs]
    size: dict[str, int] = defaultdict(int)
    for ks in keys:
        for k in set(ks):
            size[k] += 1
    reached: dict[str, int] = defaultdict(int)
    for a, b in pairs:
        rules = {
            k.split(":", 1)[0] for k in set(keys[a]) & set(keys[b]) if size[k] <= block_cap(k, max_block)
        }
        for rule in rules:
            reached[rule] += 1
        reached["all"] += bool(rules)
    total = max(len(pairs), 1)
    return {rule: reached[rule] / total for rule in (*RULES, "all")}
