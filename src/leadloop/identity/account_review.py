"""Accounts that may be one: the review queue beside the people's (merge, or not the same), and the
account merge trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.identity.account_merge import merge_accounts
from leadloop.identity.accounts import AccountPair
from leadloop.identity.queue import QueuedPair, enqueue, open_decision, open_pairs_of
from leadloop.identity.sides import ACCOUNTS
from leadloop.store.tables import Account, Person


def suspect_accounts(session: Session, pairs: list[AccountPair], *, now: datetime) -> int:
    """Queue pairs for review (a pair already queued or judged is left as it is)."""
    return enqueue(
        session,
        ACCOUNTS,
        [(p.survivor_id, p.merged_id, round(p.similarity, 2), p.reasons) for p in pairs],
        now=now,
    )


def decide_accounts(
    session: Session, suspect_id: int, action: str, *, now: datetime, by_user_id: int | None
) -> int | None:
    """ "merge" (returns the merge id) or "distinct" (never asked again). The account with a domain
    survives, else the older one."""
    row = open_decision(session, ACCOUNTS, suspect_id, action, now=now, by_user_id=by_user_id)
    if row is None:
        return None
    a, b = session.get_one(Account, row.account_id), session.get_one(Account, row.other_id)
    keep, gone = (b, a) if b.domain and not a.domain else (a, b)
    done = merge_accounts(
        session,
        keep.id,
        gone.id,
        now=now,
        method="review",
        by_user_id=by_user_id,
        similarity=row.similarity,
        reasons=list(row.reasons),
    )
    return done.merge_id


class AccountPairView(QueuedPair):
    """Two accounts that may be one; their score is the names' similarity (0 to 100)."""

    @property
    def similarity(self) -> float:
        return self.score


SHOWN = ("id", "name", "domain", "industry", "country", "city", "created_at")


def _shown(session: Session, ids: set[int]) -> dict[int, dict[str, Any]]:
    """Accounts as the queue shows them, with how many contacts each has."""
    contacts = dict(
        session.execute(
            sa.select(Person.account_id, sa.func.count())
            .where(Person.account_id.in_(ids or {-1}))
            .group_by(Person.account_id)
        ).all()
    )
    return {
        a.id: {**{f: getattr(a, f) for f in SHOWN}, "contacts": contacts.get(a.id, 0)}
        for a in session.scalars(sa.select(Account).where(Account.id.in_(ids or {-1})))
    }


def open_account_pairs(
    session: Session, *, limit: int = 100, within: Any = None
) -> tuple[list[AccountPairView], int]:
    """The account queue, most alike first, both accounts side by side with their contact counts."""
    return open_pairs_of(session, ACCOUNTS, AccountPairView, _shown, limit=limit, within=within)
