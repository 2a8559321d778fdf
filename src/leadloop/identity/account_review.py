"""Accounts that may be one: the review queue beside the people's (merge, or not the same), and the
account merge trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.identity.account_merge import merge_accounts
from leadloop.identity.accounts import AccountPair
from leadloop.identity.review import open_decision
from leadloop.store.bulk import insert_ignore
from leadloop.store.tables import Account, AccountMerge, Person, SuspectedAccountDuplicate, User

SAD = SuspectedAccountDuplicate


def suspect_accounts(session: Session, pairs: list[AccountPair], *, now: datetime) -> int:
    """Queue pairs for review (a pair already queued or judged is left as it is)."""
    rows = [
        {
            "account_id": min(p.survivor_id, p.merged_id),
            "other_id": max(p.survivor_id, p.merged_id),
            "similarity": round(p.similarity, 2),
            "reasons": list(p.reasons),
            "status": "open",
            "found_at": now,
        }
        for p in pairs
    ]
    insert_ignore(session, SAD.__table__, rows, ["account_id", "other_id"])
    return len(rows)


def decide_accounts(
    session: Session, suspect_id: int, action: str, *, now: datetime, by_user_id: int | None
) -> int | None:
    """ "merge" (returns the merge id) or "distinct" (never asked again). The account with a domain
    survives, else the older one."""
    row = open_decision(
        session, SAD, suspect_id, action, now=now, by_user_id=by_user_id, what="suspected account duplicate"
    )
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


@dataclass(frozen=True)
class AccountPairView:
    id: int
    similarity: float
    reasons: list[str]
    found_at: datetime
    left: dict[str, Any]
    right: dict[str, Any]


SHOWN = ("id", "name", "domain", "industry", "country", "city", "created_at")


def open_account_pairs(session: Session, *, limit: int = 100) -> tuple[list[AccountPairView], int]:
    """The account queue, most alike first, both accounts side by side with their contact counts."""
    total = session.scalar(sa.select(sa.func.count()).where(SAD.status == "open")) or 0
    rows = session.scalars(
        sa.select(SAD).where(SAD.status == "open").order_by(SAD.similarity.desc(), SAD.id).limit(limit)
    ).all()
    ids = {r.account_id for r in rows} | {r.other_id for r in rows}
    accounts = {a.id: a for a in session.scalars(sa.select(Account).where(Account.id.in_(ids or {-1})))}
    contacts = dict(
        session.execute(
            sa.select(Person.account_id, sa.func.count())
            .where(Person.account_id.in_(ids or {-1}))
            .group_by(Person.account_id)
        ).all()
    )

    def view(a: Account) -> dict[str, Any]:
        return {**{f: getattr(a, f) for f in SHOWN}, "contacts": contacts.get(a.id, 0)}

    return [
        AccountPairView(
            r.id,
            r.similarity,
            list(r.reasons),
            r.found_at,
            view(accounts[r.account_id]),
            view(accounts[r.other_id]),
        )
        for r in rows
    ], int(total)


def account_merge_history(
    session: Session, account_id: int | None = None, *, limit: int = 200
) -> list[dict[str, Any]]:
    """Account merges (and their undoing), newest first; one account's or all. For the API, `as_json`."""
    stmt = sa.select(AccountMerge).order_by(AccountMerge.id.desc()).limit(limit)
    if account_id is not None:
        stmt = stmt.where(
            sa.or_(AccountMerge.survivor_id == account_id, AccountMerge.merged_id == account_id)
        )
    rows = session.scalars(stmt).all()
    users = {
        u.id: u.email
        for u in session.scalars(
            sa.select(User).where(
                User.id.in_(
                    {r.by_user_id for r in rows} | {r.unmerged_by_user_id for r in rows} - {None} or {-1}
                )
            )
        )
    }

    return [
        {
            "id": r.id,
            "survivor_id": r.survivor_id,
            "merged_id": r.merged_id,
            "at": r.at,
            "method": r.method,
            "by": users.get(r.by_user_id or 0),
            "similarity": r.similarity,
            "reasons": list(r.reasons),
            "leads": r.snapshot.get("leads_outcome", {}),
            "unmerged_at": r.unmerged_at,
            "unmerged_by": users.get(r.unmerged_by_user_id or 0),
        }
        for r in rows
    ]


def as_json(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in entry.items()}
