"""Matching people as they are captured: the bulk matcher's keys, comparisons and model, asked about
a few new people at a time against the whole warehouse through an index of blocking keys.

Every capture path (API, form, import, e-mail events) lands people through `ingest_people`, which
calls `index_and_match` for the people it created: their keys are stored first, so people captured
in the same batch or at the same moment are compared with each other too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from leadloop.core.logging import get_logger
from leadloop.identity.fitted import DEFAULT_MODEL
from leadloop.identity.match import Columns, Model, block_cap, blocking_keys, compare
from leadloop.identity.match_models import in_use
from leadloop.identity.normal import email_key
from leadloop.identity.policy import MatchPolicy
from leadloop.identity.records import Rec, record
from leadloop.store.bulk import replace_keys, select_in
from leadloop.store.memo import per_transaction
from leadloop.store.tables import Person, PersonKey, SuspectedDuplicate

# A person's columns under the names the matcher's records know.
COLUMNS = {f: f for f in ("first_name", "last_name", "email", "phone", "postcode", "company", "city")}
PERSON_COLUMNS = (
    Person.id,
    Person.first_name,
    Person.last_name,
    Person.email,
    Person.phone,
    Person.postcode,
    Person.company,
    Person.city,
)
log = get_logger(__name__)
# How many people may share a key before it stops telling them apart (see match.candidate_pairs).
MAX_BLOCK = 60


def active_match_model(session: Session) -> Model:
    """The active model fitted on this warehouse, else the careful default. A stored model that
    cannot be used (edited by hand, fitted on older levels) must not stop a capture: the careful
    default decides, and the log says why (`leadloop matcher list` shows it too)."""
    found = in_use(session)
    if found.problem:
        log.warning("match_model_unusable", reason=found.problem)
    return found.model


def person_rec(row: Any, policy: MatchPolicy, memo: dict[tuple[Any, ...], Rec] | None = None) -> Rec:
    """The matcher's record of a person row. With `memo` (a transaction's, `_records`), a row with
    the same values is built once: a new person's record is needed for its keys and again for its
    comparisons, and a batch's candidates share many people."""
    values = tuple(getattr(row, f) for f in COLUMNS)
    if memo is None:
        return _record(values, policy)
    key = (*values, policy.gmail_dots, policy.plus_tags)
    rec = memo.get(key)
    if rec is None:
        rec = memo[key] = _record(values, policy)
    return rec


def _record(values: tuple[Any, ...], policy: MatchPolicy) -> Rec:
    return record(
        dict(zip(COLUMNS, values, strict=True)),
        COLUMNS,
        gmail_dots=policy.gmail_dots,
        plus_tags=policy.plus_tags,
    )


def _records(session: Session) -> dict[tuple[Any, ...], Rec]:
    """This transaction's records (gone with it: no erased person's values outlive it)."""
    memo: dict[tuple[Any, ...], Rec] = per_transaction(session, "identity.records", dict)
    return memo


def email_match_key(email: str | None, policy: MatchPolicy) -> str | None:
    key = email_key(email, gmail_dots=policy.gmail_dots, plus_tags=policy.plus_tags)
    return f"e:{key}" if key else None


def index_people(session: Session, rows: Sequence[Any], policy: MatchPolicy) -> dict[int, list[str]]:
    """(Re)write the blocking keys of these people; returns them."""
    memo = _records(session)
    keys = {r.id: blocking_keys(person_rec(r, policy, memo)) for r in rows}
    replace_keys(session, PersonKey.__table__, "person_id", keys)
    return keys


def unindex_people(session: Session, person_ids: Iterable[int]) -> None:
    replace_keys(session, PersonKey.__table__, "person_id", {pid: [] for pid in person_ids})


@dataclass(frozen=True, slots=True)
class Match:
    person_id: int  # the newly captured person
    other_id: int
    probability: float
    reasons: tuple[str, ...]


_NAME_WORDS = {4: "same", 3: "alike (typo)", 2: "alike (sounds alike)", 1: "a little alike", 0: "different"}
_WORDS: dict[str, dict[int, str]] = {
    "first": {k: f"first name {v}" for k, v in _NAME_WORDS.items()},
    "last": {k: f"last name {v}" for k, v in _NAME_WORDS.items()},
    "email": {
        3: "same e-mail",
        2: "same e-mail handle at another domain",
        1: "e-mail alike",
        0: "different e-mails",
    },
    "phone": {2: "same phone", 1: "phone one digit off", 0: "different phones"},
    "company": {1: "same company", 0: "different companies"},
    "city": {2: "same city", 1: "city alike", 0: "different cities"},
    "postcode": {
        3: "same postcode",
        2: "postcode one typo off",
        1: "same postcode area",
        0: "different postcodes",
    },
}


def reasons_of(levels: dict[str, Any], k: int) -> tuple[str, ...]:
    out = []
    for f, words in _WORDS.items():
        if f not in levels:
            continue
        lv = int(levels[f][k])
        if lv in words:
            out.append(words[lv])
    return tuple(out)


def candidates(session: Session, keys: dict[int, list[str]]) -> dict[int, set[int]]:
    """Person id -> the other live people sharing one of its keys, small blocks only."""
    wanted = {k for ks in keys.values() for k in ks}
    holders: dict[str, list[int]] = defaultdict(list)
    for key, pid in select_in(
        session, (PersonKey.key, PersonKey.person_id), PersonKey.key, wanted, tuples=True
    ):
        holders[key].append(pid)
    out: dict[int, set[int]] = {}
    for pid, ks in keys.items():
        found: set[int] = set()
        for k in ks:
            members = holders.get(k, ())
            if len(members) <= block_cap(k, MAX_BLOCK):
                found.update(members)
        found.discard(pid)
        out[pid] = found
    return out


def score_pairs(
    recs: dict[int, Rec],
    pairs: list[tuple[int, int]],
    model: Model = DEFAULT_MODEL,
    *,
    reasons_from: float = 0.0,
) -> tuple[list[float], list[tuple[str, ...]]]:
    """Match probability and reasons of each pair, compared column-wise like the bulk matcher.
    Reasons are worded only for pairs at or above `reasons_from` (no reasons below it)."""
    if not pairs:
        return [], []
    ids = list(recs)
    pos = {pid: i for i, pid in enumerate(ids)}
    cols = Columns.of([recs[pid] for pid in ids])
    i = np.fromiter((pos[a] for a, _ in pairs), np.int64, len(pairs))
    j = np.fromiter((pos[b] for _, b in pairs), np.int64, len(pairs))
    levels = compare(cols, i, j)
    p = model.probabilities(levels)
    probs = [float(x) for x in p]
    return probs, [reasons_of(levels, k) if probs[k] >= reasons_from else () for k in range(len(pairs))]


def distinct_pairs(session: Session, person_ids: set[int]) -> set[tuple[int, int]]:
    """Pairs a person has already judged (not the same, or still waiting): never asked again."""
    rows = select_in(
        session,
        (SuspectedDuplicate.person_id, SuspectedDuplicate.other_id, SuspectedDuplicate.status),
        SuspectedDuplicate.person_id,
        person_ids,
    ) + select_in(
        session,
        (SuspectedDuplicate.person_id, SuspectedDuplicate.other_id, SuspectedDuplicate.status),
        SuspectedDuplicate.other_id,
        person_ids,
    )
    return {(r.person_id, r.other_id) for r in rows if r.status in ("distinct", "open")}


def find_matches(
    session: Session, people: Sequence[Any], policy: MatchPolicy, *, index: bool = True
) -> list[Match]:
    """Index these people's keys, then match each against everyone sharing a key. Returns the pairs
    at or above the review threshold, best first, each pair once."""
    if not people:
        return []
    keys = (
        index_people(session, people, policy)
        if index
        else {r.id: blocking_keys(person_rec(r, policy, _records(session))) for r in people}
    )
    found = candidates(session, keys)
    others = {o for os in found.values() for o in os} - set(keys)
    rows = {r.id: r for r in people}
    if others:
        for r in select_in(session, (*PERSON_COLUMNS, Person.merged_into_id), Person.id, others):
            if r.merged_into_id is None:
                rows[r.id] = r
    memo = _records(session)
    recs = {pid: person_rec(r, policy, memo) for pid, r in rows.items()}
    pairs = sorted({(min(p, o), max(p, o)) for p, os in found.items() for o in os if o in recs})
    judged = distinct_pairs(session, {p for pair in pairs for p in pair})
    pairs = [pair for pair in pairs if pair not in judged]
    probs, reasons = score_pairs(recs, pairs, active_match_model(session), reasons_from=policy.review)
    new = set(keys)
    out = [
        Match(b if b in new else a, a if b in new else b, p, why)
        for (a, b), p, why in zip(pairs, probs, reasons, strict=True)
        if p >= policy.review
    ]
    return sorted(out, key=lambda m: (-m.probability, m.person_id, m.other_id))
