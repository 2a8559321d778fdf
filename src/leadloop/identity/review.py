"""What happens to a match: above the auto-merge threshold the newer person merges into the older
one; between the thresholds the pair waits in the suspected-duplicates queue for a person to say
"merge" or "not the same"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.events import Event
from leadloop.identity.merge import merge_people
from leadloop.identity.merge_record import MergeEntry, merge_trail
from leadloop.identity.policy import policy_of
from leadloop.identity.queue import QueuedPair, enqueue, open_decision, open_pairs_of
from leadloop.identity.realtime import PERSON_COLUMNS, Match, email_match_key, find_matches
from leadloop.identity.sides import PEOPLE
from leadloop.store.bulk import select_in
from leadloop.store.tables import Account, Person, PersonKey


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


def open_pairs(session: Session, *, limit: int = 100) -> tuple[list[Pair], int]:
    """The queue, most likely first, with both people side by side; and how many wait in all."""
    return open_pairs_of(session, PEOPLE, Pair, _shown, limit=limit)


def merge_history(session: Session, person_id: int | None = None, *, limit: int = 200) -> list[MergeEntry]:
    """The identity audit trail: every merge (and its undoing), newest first; one person's or all."""
    return merge_trail(
        session, PEOPLE, person_id, facts=lambda r: {"probability": r.probability}, limit=limit
    )
