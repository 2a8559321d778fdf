"""Merging two people into one, and undoing it exactly.

A merge keeps both rows. The merged-away person points at the survivor (its e-mail and external id
keep finding the survivor), its timeline moves to the survivor, the survivor's fields follow the
survivorship rules (survivorship.py), and scores are rebuilt from the merged timeline. The merge
record holds a snapshot of both rows and of every row it moved, so unmerge puts all of it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.events import Event, PeopleMerged, PeopleUnmerged, TimelinesChanged
from leadloop.core.reactions import publish
from leadloop.enrich.repository import manual_fields
from leadloop.identity.merge_record import lock_merge, lock_pair, merged_into, put_back, record, repoint
from leadloop.identity.policy import policy_of
from leadloop.identity.queue import open_suspects, reopen, settle
from leadloop.identity.realtime import index_people, unindex_people
from leadloop.identity.sides import PEOPLE
from leadloop.identity.survivorship import survive
from leadloop.store.bulk import chunks, connection
from leadloop.store.snapshot import to_json
from leadloop.store.tables import Activity, Opportunity, Person

PERSON: sa.Table = Person.__table__  # type: ignore[assignment]


@dataclass
class Merged:
    merge_id: int
    survivor_id: int
    merged_id: int
    changed: dict[str, str] = field(default_factory=dict)  # field -> where the kept value came from
    events: list[Event] = field(default_factory=list)


def _latest_source(session: Session, person_id: int) -> str | None:
    return session.scalar(
        sa.select(Activity.source)
        .where(Activity.person_id == person_id, Activity.source != "system")
        .order_by(Activity.id.desc())
        .limit(1)
    )


def merge_people(
    session: Session,
    survivor_id: int,
    merged_id: int,
    *,
    now: datetime,
    method: str = "manual",
    by_user_id: int | None = None,
    probability: float | None = None,
    reasons: list[str] | None = None,
) -> Merged:
    """Merge `merged_id` into `survivor_id` in the caller's transaction."""
    survivor, merged = lock_pair(session, PEOPLE, survivor_id, merged_id)
    policy = policy_of(session)
    values, origin = survive(
        survivor._mapping,
        merged._mapping,
        sources=(_latest_source(session, survivor_id), _latest_source(session, merged_id)),
        priority=policy.source_priority,
        now=now,
        pinned=_pins(session, survivor_id, merged_id),
    )
    conn = connection(session)
    moved = [
        list(r)
        for r in conn.execute(
            sa.select(Activity.id, Activity.account_id)
            .where(Activity.person_id == merged_id)
            .order_by(Activity.id)
        )
    ]
    opps = list(conn.execute(sa.select(Opportunity.id).where(Opportunity.person_id == merged_id)).scalars())
    repointed = merged_into(conn, PEOPLE, merged_id)
    suspects = open_suspects(conn, PEOPLE, (survivor_id, merged_id))
    snapshot = {
        "survivor": to_json(PERSON, survivor),
        "merged": to_json(PERSON, merged),
        "activities": moved,
        "opportunities": opps,
        "repointed": repointed,
        "suspects": suspects,
        "changed": origin,
    }

    account_id = values.get("account_id", survivor.account_id)
    if "email" in values:  # the address moves: free it first (it is unique)
        conn.execute(sa.update(PERSON).where(PERSON.c.id == merged_id).values(email=None))
    conn.execute(
        sa.update(PERSON).where(PERSON.c.id == merged_id).values(merged_into_id=survivor_id, account_id=None)
    )
    conn.execute(sa.update(PERSON).where(PERSON.c.id == survivor_id).values(**values))
    conn.execute(
        sa.update(Activity)
        .where(Activity.person_id == merged_id, Activity.account_id.is_(None))
        .values(person_id=survivor_id, account_id=account_id)
    )
    conn.execute(sa.update(Activity).where(Activity.person_id == merged_id).values(person_id=survivor_id))
    if opps:
        conn.execute(sa.update(Opportunity).where(Opportunity.id.in_(opps)).values(person_id=survivor_id))
    repoint(conn, PEOPLE, repointed, survivor_id)
    settle(conn, PEOPLE, suspects, (survivor_id, merged_id), now=now, by_user_id=by_user_id)
    merge_id = record(
        conn,
        PEOPLE,
        survivor_id,
        merged_id,
        now=now,
        method=method,
        by_user_id=by_user_id,
        score=probability,
        reasons=reasons,
        snapshot=snapshot,
    )
    unindex_people(session, [merged_id])
    index_people(session, [conn.execute(sa.select(PERSON).where(PERSON.c.id == survivor_id)).one()], policy)
    accounts = {a for a in (survivor.account_id, merged.account_id, account_id) if a is not None}
    accounts |= {a for _, a in moved if a is not None}
    events = publish(
        session,
        [
            PeopleMerged(survivor_id, merged_id, now),
            TimelinesChanged(frozenset({survivor_id}), frozenset(accounts), now),
        ],
        now=now,
    )
    return Merged(merge_id, survivor_id, merged_id, origin, events)


def unmerge(session: Session, merge_id: int, *, now: datetime, by_user_id: int | None = None) -> Merged:
    """Put both people back exactly as they were before the merge; activities that arrived after
    the merge stay with the survivor."""
    m, survivor = lock_merge(session, PEOPLE, merge_id)
    snap = m.snapshot
    conn = connection(session)
    survivor_row, merged_row = put_back(conn, PEOPLE, m)
    moved = snap["activities"]
    for part in chunks(moved):
        conn.execute(
            sa.text("UPDATE activities SET person_id = :pid, account_id = :acct WHERE id = :aid"),
            [{"pid": m.merged_id, "acct": acct, "aid": aid} for aid, acct in part],
        )
    if snap["opportunities"]:
        conn.execute(
            sa.update(Opportunity)
            .where(Opportunity.id.in_(snap["opportunities"]))
            .values(person_id=m.merged_id)
        )
    repoint(conn, PEOPLE, snap["repointed"], m.merged_id)
    reopen(conn, PEOPLE, snap["suspects"])
    m.unmerged_at, m.unmerged_by_user_id = now, by_user_id
    index_people(
        session,
        conn.execute(sa.select(PERSON).where(PERSON.c.id.in_((m.survivor_id, m.merged_id)))).all(),
        policy_of(session),
    )
    # Scores are the snapshot's unless the survivor heard from anyone since the merge.
    since = conn.execute(
        sa.select(sa.func.count()).where(Activity.person_id == m.survivor_id, Activity.recorded_at > m.at)
    ).scalar_one()
    accounts = {
        a
        for a in (survivor_row["account_id"], merged_row["account_id"], survivor.account_id)
        if a is not None
    }
    accounts |= {a for _, a in moved if a is not None}
    changed = TimelinesChanged(frozenset({m.survivor_id} if since else ()), frozenset(accounts), now)
    events = publish(session, [PeopleUnmerged(m.survivor_id, m.merged_id, now), changed], now=now)
    return Merged(m.id, m.survivor_id, m.merged_id, {}, events)


# Edit and reassign (issue 13, item 4): a value set by hand survives a merge (ADR 0021).
def _pins(session: Session, survivor_id: int, merged_id: int) -> tuple[frozenset[str], frozenset[str]]:
    found = manual_fields(session, "person", {survivor_id, merged_id})
    return found.get(survivor_id, frozenset()), found.get(merged_id, frozenset())
