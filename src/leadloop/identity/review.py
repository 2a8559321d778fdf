"""What happens to a match: above the auto-merge threshold the newer person merges into the older
one; between the thresholds the pair waits in the suspected-duplicates queue for a person to say
"merge" or "not the same"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.identity.merge import merge_people
from leadloop.identity.queue import QueuedPair, enqueue, open_decision, open_pairs_of
from leadloop.identity.realtime import Match
from leadloop.identity.sides import PEOPLE
from leadloop.store.tables import Account, Person


def suspect(session: Session, matches: list[Match], *, now: datetime) -> int:
    """Queue pairs for review (a pair already queued or judged is left as it is)."""
    return enqueue(
        session,
        PEOPLE,
        [(m.person_id, m.other_id, round(m.probability, 4), m.reasons) for m in matches],
        now=now,
    )


def decide(
    session: Session, suspect_id: int, action: str, *, now: datetime, by_user_id: int | None
) -> int | None:
    """ "merge" (the older record survives; returns the merge id) or "distinct" (never asked again)."""
    row = open_decision(session, PEOPLE, suspect_id, action, now=now, by_user_id=by_user_id)
    if row is None:
        return None
    done = merge_people(
        session,
        row.person_id,
        row.other_id,
        now=now,
        method="review",
        by_user_id=by_user_id,
        probability=row.probability,
        reasons=list(row.reasons),
    )
    return done.merge_id


class Pair(QueuedPair):
    """Two people who may be one; their score is the matcher's probability (0 to 1)."""

    @property
    def probability(self) -> float:
        return self.score


SHOWN = (
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "title",
    "city",
    "country",
    "created_at",
)


def _shown(session: Session, ids: set[int]) -> dict[int, dict[str, Any]]:
    """People as the queue shows them, with their account's name."""
    people = list(session.scalars(sa.select(Person).where(Person.id.in_(ids or {-1}))))
    accounts = {
        a.id: a.name
        for a in session.scalars(
            sa.select(Account).where(Account.id.in_({p.account_id for p in people if p.account_id} or {-1}))
        )
    }
    return {
        p.id: {
            **{f: getattr(p, f) for f in SHOWN},
            "account": accounts.get(p.account_id) if p.account_id else None,
        }
        for p in people
    }


def open_pairs(session: Session, *, limit: int = 100, within: Any = None) -> tuple[list[Pair], int]:
    """The queue, most likely first, with both people side by side; and how many wait in all."""
    return open_pairs_of(session, PEOPLE, Pair, _shown, limit=limit, within=within)
