"""Re-fitting the matcher on the warehouse, and activating a fitted model: the use cases behind
`leadloop matcher`. A refit learns a model from the live people (as `leadloop dedupe FILE` learns
a file), stores it as a draft, and says what activating it would change: how many candidate pairs
would merge automatically, wait for review, or no longer match, against the model in use now, with
examples. Activation (`--apply`, or `activate ID` later) makes it the one the real-time matcher
and the warehouse pass use. Nothing is merged here: the next pass and the next captures act."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from leadloop.core.errors import InvalidInput
from leadloop.identity.fitted import CorruptMatchModel, StaleMatchModel
from leadloop.identity.match import MIN_PAIRS_TO_FIT
from leadloop.identity.match_models import every, in_use, load, make_active, parse_row, store
from leadloop.identity.policy import policy_of
from leadloop.identity.realtime import distinct_pairs, reasons_of
from leadloop.identity.refit_whatif import WhatIf, what_if
from leadloop.identity.warehouse_pairs import Candidates, candidates, live_people


class NotEnoughToFit(InvalidInput):
    """The warehouse has too few people (or too few alike pairs) to learn a matcher from."""


@dataclass(frozen=True)
class Example:
    left: str
    right: str
    before: float
    after: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Refit:
    model_id: int
    people: int
    pairs: int
    compared_with: str  # the model in use before, as people read it
    whatif: WhatIf  # over the pairs no person has judged
    examples: dict[str, list[Example]]  # move name -> pairs that make it
    applied: bool
    judged: int = 0  # pairs a person judged "not the same", or that wait for review: left as they are


def refit(session: Session, *, now: datetime, apply: bool = False) -> Refit:
    """Fit on the live people, store the fit (active with `apply`, else a draft), and say what it
    changes against the model in use. Raises NotEnoughToFit on an empty or small warehouse."""
    policy = policy_of(session)
    current = in_use(session)  # an unusable active model: the default decides now, compare with that
    c = candidates(live_people(session), policy)
    _check_enough(c, current.describe())
    fitted = c.fit()
    before, after = current.model.probabilities(c.pat), fitted.probabilities(c.pat)
    # A pair a person judged "not the same", or that waits for them, is never decided again by
    # either matcher: it is left out of the what-if, as the next pass would leave it.
    free = _not_judged(session, c, np.maximum(before, after) >= policy.review)
    wi = what_if(before[free], after[free], review=policy.review, auto_merge=policy.auto_merge)
    model_id = store(session, fitted, now=now, pairs=c.pairs, people=c.people, active=apply)
    index = np.flatnonzero(free)
    examples = {
        move.name: [_example(c, int(index[k]), before, after) for k in move.examples]
        for move in wi.moves
        if move.count
    }
    judged = c.pairs - len(index)
    return Refit(model_id, c.people, c.pairs, current.describe(), wi, examples, apply, judged)


def _not_judged(session: Session, c: Candidates, asked: np.ndarray) -> np.ndarray:
    """Per candidate pair, whether no person has judged it (or is judging it)."""
    free = np.ones(c.pairs, bool)
    ids = np.array([r.id for r in c.rows], dtype=np.int64)
    ks = np.flatnonzero(asked)
    judged = distinct_pairs(session, {int(x) for k in ks for x in (ids[c.i[k]], ids[c.j[k]])})
    for k in ks:
        a, b = int(ids[c.i[k]]), int(ids[c.j[k]])
        free[k] = (min(a, b), max(a, b)) not in judged
    return free


def _check_enough(c: Candidates, keeping: str) -> None:
    if not c.people:
        raise NotEnoughToFit("the warehouse has no people yet: import people first, then refit")
    if not c.enough_to_fit:
        raise NotEnoughToFit(
            f"the warehouse has {c.people:,} live people and {c.pairs:,} candidate pairs; a fit needs "
            f"at least {MIN_PAIRS_TO_FIT:,} candidate pairs (people alike enough to compare), so "
            f"the matchers keep {keeping}"
        )


def _example(c: Candidates, k: int, before: np.ndarray, after: np.ndarray) -> Example:
    a, b = c.rows[int(c.i[k])], c.rows[int(c.j[k])]
    return Example(_label(a), _label(b), float(before[k]), float(after[k]), reasons_of(c.levels, k))


def _label(row: Any) -> str:
    name = " ".join(x for x in (row.first_name, row.last_name) if x) or "(no name)"
    return f"#{row.id} {name}" + (f" <{row.email}>" if row.email else "")


@dataclass(frozen=True)
class Activated:
    model_id: int
    was_active: bool


def activate(session: Session, model_id: int, *, now: datetime) -> Activated:
    """Make a stored model the active one (a draft, or a retired one to go back to). A model that
    cannot be used is refused, and the active one stays."""
    row = load(session, model_id)
    parse_row(row)  # CorruptMatchModel or StaleMatchModel: refused, with the reason
    if row.status == "active":
        return Activated(model_id, was_active=True)
    make_active(session, model_id, now=now)
    return Activated(model_id, was_active=False)


@dataclass(frozen=True)
class Listed:
    id: int
    status: str
    created_at: datetime
    people: int | None
    pairs: int
    problem: str | None  # why it cannot be used, when it cannot


def stored_models(session: Session) -> list[Listed]:
    """Every stored model, newest first, each with whether it can be used."""
    out = []
    for row in every(session):
        try:
            parse_row(row)
            problem = None
        except (CorruptMatchModel, StaleMatchModel) as exc:
            problem = str(exc)
        out.append(Listed(row.id, row.status, row.created_at, row.people, row.pairs, problem))
    return out
