"""Who is this person? Asked by capture for the people it just created or changed (ADR 0009):
match them against the warehouse, merge the sure pairs at once (the older record survives), queue
the likely ones for review, and say which id each merged-away person now lives on as."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from leadloop.core.events import Event
from leadloop.identity.merge import merge_people
from leadloop.identity.policy import policy_of
from leadloop.identity.realtime import PERSON_COLUMNS, Match, email_match_key, find_matches
from leadloop.identity.review import suspect
from leadloop.store.bulk import select_in
from leadloop.store.tables import Person, PersonKey


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
