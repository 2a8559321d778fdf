"""Merging two people into one, and undoing it exactly.

A merge keeps both rows. The merged-away person points at the survivor (its e-mail and external id
keep finding the survivor), its timeline moves to the survivor, the survivor's fields follow the
survivorship rules (survivorship.py), and scores are rebuilt from the merged timeline. The merge
record holds a snapshot of both rows and of every row it moved, so unmerge puts all of it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.errors import Conflict, InvalidInput, NotFound
from leadloop.core.events import Event, TimelinesChanged
from leadloop.core.reactions import publish
from leadloop.identity.policy import policy_of
from leadloop.identity.realtime import index_people, unindex_people
from leadloop.identity.survivorship import survive
from leadloop.store.bulk import chunks, connection
from leadloop.store.snapshot import from_json, to_json
from leadloop.store.tables import Activity, Merge, Opportunity, Person, SuspectedDuplicate

PERSON: sa.Table = Person.__table__  # type: ignore[assignment]


@dataclass
class Merged:
    merge_id: int
    survivor_id: int
    merged_id: int
    changed: dict[str, str] = field(default_factory=dict)  # field -> where the kept value came from
    events: list[Event] = field(default_factory=list)


def _load(session: Session, person_id: int) -> Any:
    row = session.execute(sa.select(PERSON).where(PERSON.c.id == person_id).with_for_update()).first()
    if row is None:
        raise NotFound(f"there is no person #{person_id}")
    return row


def refuse_merge(what: str, survivor: Any, merged: Any) -> None:
    """The errors every merge checks first (`what`: "person", "account")."""
    if survivor.id == merged.id:
        raise InvalidInput(
            f"{what} #{merged.id} cannot be merged into {'themselves' if what == 'person' else 'itself'}"
        )
    if merged.merged_into_id is not None:
        raise Conflict(f"{what} #{merged.id} was already merged into #{merged.merged_into_id}")
    if survivor.merged_into_id is not None:
        raise Conflict(
            f"{what} #{survivor.id} was merged into #{survivor.merged_into_id}; merge into #{survivor.merged_into_id}"
        )


def refuse_unmerge(session: Session, table: Any, m: Any, survivor: Any, what: str, record: str) -> None:
    """The errors every unmerge checks first: undone already, or built upon since (`what`: "person",
    "account"; `record`: what the merge is called, "merge", "account merge")."""
    if m.unmerged_at is not None:
        raise Conflict(f"{record} #{m.id} was already undone on {m.unmerged_at:%Y-%m-%d %H:%M}")
    if survivor.merged_into_id is not None:
        raise Conflict(
            f"{what} #{m.survivor_id} was merged into #{survivor.merged_into_id} since; undo that merge first"
        )
    later = session.scalars(
        sa.select(table.id).where(
            table.survivor_id == m.survivor_id, table.id > m.id, table.unmerged_at.is_(None)
        )
    ).all()
    if later:
        raise Conflict(
            f"{what} #{m.survivor_id} took part in later merges ({', '.join(f'#{i}' for i in later)}); undo those first"
        )


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
    # Lock in id order, so two merges of the same pair cannot deadlock.
    rows = {pid: _load(session, pid) for pid in sorted((survivor_id, merged_id))}
    survivor, merged = rows[survivor_id], rows[merged_id]
    refuse_merge("person", survivor, merged)
    policy = policy_of(session)
    values, origin = survive(
        survivor._mapping,
        merged._mapping,
        sources=(_latest_source(session, survivor_id), _latest_source(session, merged_id)),
        priority=policy.source_priority,
        now=now,
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
    repointed = list(conn.execute(sa.select(Person.id).where(Person.merged_into_id == merged_id)).scalars())
    suspects = [
        list(r)
        for r in conn.execute(
            sa.select(SuspectedDuplicate.id, SuspectedDuplicate.status).where(
                sa.or_(
                    SuspectedDuplicate.person_id.in_((survivor_id, merged_id)),
                    SuspectedDuplicate.other_id.in_((survivor_id, merged_id)),
                ),
                SuspectedDuplicate.status == "open",
            )
        )
    ]
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
    if repointed:
        conn.execute(sa.update(PERSON).where(PERSON.c.id.in_(repointed)).values(merged_into_id=survivor_id))
    if suspects:
        pair = (min(survivor_id, merged_id), max(survivor_id, merged_id))
        conn.execute(
            sa.update(SuspectedDuplicate)
            .where(SuspectedDuplicate.id.in_([s[0] for s in suspects]))
            .values(
                status=sa.case(
                    (
                        sa.and_(
                            SuspectedDuplicate.person_id == pair[0], SuspectedDuplicate.other_id == pair[1]
                        ),
                        "merged",
                    ),
                    else_="gone",
                ),
                decided_at=now,
                decided_by_user_id=by_user_id,
            )
        )
    merge_id = conn.execute(
        sa.insert(Merge)
        .returning(Merge.id)
        .values(
            survivor_id=survivor_id,
            merged_id=merged_id,
            at=now,
            by_user_id=by_user_id,
            method=method,
            probability=probability,
            reasons=list(reasons or []),
            snapshot=snapshot,
        )
    ).scalar_one()
    unindex_people(session, [merged_id])
    index_people(session, [conn.execute(sa.select(PERSON).where(PERSON.c.id == survivor_id)).one()], policy)
    accounts = {a for a in (survivor.account_id, merged.account_id, account_id) if a is not None}
    accounts |= {a for _, a in moved if a is not None}
    events = publish(session, [TimelinesChanged(frozenset({survivor_id}), frozenset(accounts), now)], now=now)
    return Merged(merge_id, survivor_id, merged_id, origin, events)


def unmerge(session: Session, merge_id: int, *, now: datetime, by_user_id: int | None = None) -> Merged:
    """Put both people back exactly as they were before the merge; activities that arrived after
    the merge stay with the survivor."""
    m = session.execute(sa.select(Merge).where(Merge.id == merge_id).with_for_update()).scalar_one_or_none()
    if m is None:
        raise NotFound(f"there is no merge #{merge_id}")
    survivor = _load(session, m.survivor_id)
    refuse_unmerge(session, Merge, m, survivor, "person", "merge")
    snap = m.snapshot
    conn = connection(session)
    survivor_row, merged_row = from_json(PERSON, snap["survivor"]), from_json(PERSON, snap["merged"])
    conn.execute(sa.update(PERSON).where(PERSON.c.id == m.survivor_id).values(**survivor_row))
    conn.execute(sa.update(PERSON).where(PERSON.c.id == m.merged_id).values(**merged_row))
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
    if snap["repointed"]:
        conn.execute(
            sa.update(PERSON).where(PERSON.c.id.in_(snap["repointed"])).values(merged_into_id=m.merged_id)
        )
    for sid, status in snap["suspects"]:
        conn.execute(
            sa.update(SuspectedDuplicate)
            .where(SuspectedDuplicate.id == sid)
            .values(status=status, decided_at=None, decided_by_user_id=None)
        )
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
    events = publish(session, [changed], now=now)
    return Merged(m.id, m.survivor_id, m.merged_id, {}, events)
