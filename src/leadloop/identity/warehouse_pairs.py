"""The stored people as the bulk matcher sees them: the live people, their candidate pairs and the
comparison levels of each pair. The warehouse pass acts on them; a refit learns from them and
scores them twice for its what-if."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.identity.fitted import default_model
from leadloop.identity.match import (
    MIN_PAIRS_TO_FIT,
    Columns,
    Model,
    Patterns,
    candidate_pairs,
    compare,
    learn,
)
from leadloop.identity.model import Ints
from leadloop.identity.policy import MatchPolicy
from leadloop.identity.realtime import PERSON_COLUMNS, person_rec
from leadloop.store.tables import Person


@dataclass(frozen=True)
class Candidates:
    rows: Sequence[Any]  # live people, PERSON_COLUMNS
    cols: Columns | None  # None when there is no pair
    i: Ints
    j: Ints
    levels: dict[str, Ints]
    pat: Patterns

    @property
    def people(self) -> int:
        return len(self.rows)

    @property
    def pairs(self) -> int:
        return len(self.i)

    @property
    def enough_to_fit(self) -> bool:
        return self.pairs >= MIN_PAIRS_TO_FIT

    def fit(self) -> Model:
        """The bulk matcher's learning (u from random pairs, m by EM sessions), from the careful
        default; the careful default itself when there are too few pairs to learn from."""
        if self.cols is None or not self.enough_to_fit:
            return default_model()
        return learn(self.cols, len(self.rows), self.pat, base=default_model())


def live_people(session: Session) -> Sequence[Any]:
    return session.execute(
        sa.select(*PERSON_COLUMNS).where(Person.merged_into_id.is_(None)).order_by(Person.id)
    ).all()


def candidates(rows: Sequence[Any], policy: MatchPolicy) -> Candidates:
    recs = [person_rec(r, policy) for r in rows]
    i, j = candidate_pairs(recs)
    if not len(i):
        return Candidates(rows, None, i, j, {}, Patterns.of({}))
    cols = Columns.of(recs)
    levels = compare(cols, i, j)
    return Candidates(rows, cols, i, j, levels, Patterns.of(levels))
