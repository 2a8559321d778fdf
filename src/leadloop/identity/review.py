"""What happens to a match: above the auto-merge threshold the newer person merges into the older
one; between the thresholds the pair waits in the suspected-duplicates queue for a person to say
"merge" or "not the same"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.errors import Conflict, NotFound
from leadloop.core.events import Event
from leadloop.identity.merge import merge_people
from leadloop.identity.policy import policy_of
from leadloop.identity.realtime import PERSON_COLUMNS, Match, email_match_key, find_matches
from leadloop.store.bulk import insert_ignore, select_in
from leadloop.store.tables import Account, Person, PersonKey, SuspectedDuplicate


class Survivors(dict[int, int]):
    """Merged-away id -> survivor, through a run of merges: a survivor merged later is followed."""

    def of(self, person_id: int) -> int:
        return self.get(person_id, person_id)

    def merged(self, gone: int, survivor: int) -> None:
        self[gone] = survivor
        for k, v in self.items():
            if v == gone:
                self[k] = survivor


@dataclass
class Resolution:
    survivor_of: Survivors = field(default_factory=Survivors)
    queued: int = 0
    events: list[Event] = field(default_factory=list)


def people_by_email_key(session: Session, emails: set[str]) -> dict[str, int]:
    """The live person each address names once normalised (dots and plus tags, per the policy)."""
    policy = policy_of(session)
    keys = {e: k for e in emails if (k := email_match_key(e, policy))}
    rows = select_in(session, (PersonKey.key, PersonKey.person_id), PersonKey.key, set(keys.values()))
    holder: dict[str, int] = {}
    for key, pid in sorted(rows, key=lambda r: r[1]):
        holder.setdefault(key, pid)  # the oldest holder of the key
    return {e: holder[k] for e, k in keys.items() if k in holder}


def resolve(
    session: Session, person_ids: list[int], *, now: datetime, auto_merge: bool = True, method: str = "auto"
) -> Resolution:
    """Match these (new or changed) people against the warehouse and act on what is found."""
    out = Resolution()
    if not person_ids:
        return out
    policy = policy_of(session)
    rows = [
        r
        for r in select_in(session, (*PERSON_COLUMNS, Person.merged_into_id), Person.id, person_ids)
        if r.merged_into_id is None
    ]
    matches = find_matches(session, rows, policy)
    for m in matches:
        a, b = out.survivor_of.of(m.person_id), out.survivor_of.of(m.other_id)
        if a == b:
            continue
        if auto_merge and m.probability >= policy.auto_merge:
            survivor, merged = min(a, b), max(a, b)  # the older record survives
            done = merge_people(
                session,
                survivor,
                merged,
                now=now,
                method=method,
                probability=m.probability,
                reasons=list(m.reasons),
            )
            out.events.extend(done.events)
            out.survivor_of.merged(merged, survivor)
        else:
            out.queued += suspect(session, [Match(a, b, m.probability, m.reasons)], now=now)
    return out


def suspect(session: Session, matches: list[Match], *, now: datetime) -> int:
    """Queue pairs for review (a pair already queued or judged is left as it is)."""
    rows = [
        {
            "person_id": min(m.person_id, m.other_id),
            "other_id": max(m.person_id, m.other_id),
            "probability": round(m.probability, 4),
            "reasons": list(m.reasons),
            "status": "open",
            "found_at": now,
        }
        for m in matches
    ]
    insert_ignore(session, SuspectedDuplicate.__table__, rows, ["person_id", "other_id"])
    return len(rows)


def open_decision(
    session: Session,
    table: Any,
    suspect_id: int,
    action: str,
    *,
    now: datetime,
    by_user_id: int | None,
    what: str,
) -> Any:
    """The queued pair a decision is about, locked; a "distinct" decision is recorded here (None
    returned), a "merge" is left to the caller. Unknown, decided and unknown-action errors."""
    row = session.execute(
        sa.select(table).where(table.id == suspect_id).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"there is no {what} #{suspect_id}")
    if row.status != "open":
        raise Conflict(f"{what} #{suspect_id} was already decided ({row.status})")
    if action == "distinct":
        row.status, row.decided_at, row.decided_by_user_id = "distinct", now, by_user_id
        return None
    if action != "merge":
        raise Conflict(f"unknown decision {action!r}; use merge or distinct")
    return row


def decide(
    session: Session, suspect_id: int, action: str, *, now: datetime, by_user_id: int | None
) -> int | None:
    """ "merge" (the older record survives; returns the merge id) or "distinct" (never asked again)."""
    row = open_decision(
        session,
        SuspectedDuplicate,
        suspect_id,
        action,
        now=now,
        by_user_id=by_user_id,
        what="suspected duplicate",
    )
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


@dataclass(frozen=True)
class Pair:
    id: int
    probability: float
    reasons: list[str]
    found_at: datetime
    left: dict[str, Any]
    right: dict[str, Any]


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


def open_pairs(session: Session, *, limit: int = 100) -> tuple[list[Pair], int]:
    """The queue, most likely first, with both people side by side; and how many wait in all."""
    total = session.scalar(sa.select(sa.func.count()).where(SuspectedDuplicate.status == "open")) or 0
    rows = session.scalars(
        sa.select(SuspectedDuplicate)
        .where(SuspectedDuplicate.status == "open")
        .order_by(SuspectedDuplicate.probability.desc(), SuspectedDuplicate.id)
        .limit(limit)
    ).all()
    ids = {r.person_id for r in rows} | {r.other_id for r in rows}
    people = {p.id: p for p in session.scalars(sa.select(Person).where(Person.id.in_(ids or {-1})))}
    accounts = {
        a.id: a.name
        for a in session.scalars(
            sa.select(Account).where(
                Account.id.in_({p.account_id for p in people.values() if p.account_id} or {-1})
            )
        )
    }

    def view(p: Person) -> dict[str, Any]:
        return {
            **{f: getattr(p, f) for f in SHOWN},
            "account": accounts.get(p.account_id) if p.account_id else None,
        }

    return [
        Pair(
            r.id,
            r.probability,
            list(r.reasons),
            r.found_at,
            view(people[r.person_id]),
            view(people[r.other_id]),
        )
        for r in rows
    ], int(total)


@dataclass(frozen=True)
class MergeEntry:
    id: int
    survivor_id: int
    merged_id: int
    at: datetime
    method: str
    by: str | None
    probability: float | None
    reasons: list[str]
    unmerged_at: datetime | None
    unmerged_by: str | None

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()}


def merge_history(session: Session, person_id: int | None = None, *, limit: int = 200) -> list[MergeEntry]:
    """The identity audit trail: every merge (and its undoing), newest first; one person's or all."""
    from leadloop.store.tables import Merge, User

    stmt = sa.select(Merge).order_by(Merge.id.desc()).limit(limit)
    if person_id is not None:
        stmt = stmt.where(sa.or_(Merge.survivor_id == person_id, Merge.merged_id == person_id))
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
        MergeEntry(
            r.id,
            r.survivor_id,
            r.merged_id,
            r.at,
            r.method,
            users.get(r.by_user_id) if r.by_user_id else None,
            r.probability,
            list(r.reasons),
            r.unmerged_at,
            users.get(r.unmerged_by_user_id) if r.unmerged_by_user_id else None,
        )
        for r in rows
    ]
