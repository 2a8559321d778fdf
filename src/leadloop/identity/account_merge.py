"""Merging two accounts into one, and undoing it exactly.

Both rows stay: the merged-away account points at the survivor (its domain, external id and name
keep finding the survivor). Its contacts, timeline, opportunities and subsidiaries move to the
survivor; the survivor fills its empty firmographics from it (survivorship.py). Leads are one per
account and product: a product only the merged account had moves with its lead; where both had a
lead for the same product, the lead further along the funnel carries on under the survivor and the
other is closed as `merged` (with a routing-audit line saying where it went). The survivor's
engagement is rebuilt from the merged timeline, never summed. The merge record keeps a snapshot of
everything it changed, so unmerge puts all of it back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.errors import Conflict
from leadloop.core.events import Event, TimelinesChanged
from leadloop.core.reactions import publish
from leadloop.identity.accounts import index_accounts
from leadloop.identity.merge_record import lock_merge, lock_pair, merged_into, put_back, record, repoint
from leadloop.identity.queue import open_suspects, reopen, settle
from leadloop.identity.sides import ACCOUNTS
from leadloop.identity.survivorship import survive_account
from leadloop.lifecycle.handlers import Move, move_many, restore_rows
from leadloop.lifecycle.model import Trigger, further
from leadloop.store.bulk import chunks, connection
from leadloop.store.snapshot import from_json, to_json
from leadloop.store.tables import (
    Account,
    AccountEngagement,
    Activity,
    Lead,
    Opportunity,
    Person,
    Provenance,
    RoutingDecision,
)

ACCOUNT: sa.Table = Account.__table__  # type: ignore[assignment]
LEAD: sa.Table = Lead.__table__  # type: ignore[assignment]
ENGAGEMENT: sa.Table = AccountEngagement.__table__  # type: ignore[assignment]
PROVENANCE: sa.Table = Provenance.__table__  # type: ignore[assignment]


@dataclass
class AccountMerged:
    merge_id: int
    survivor_id: int
    merged_id: int
    changed: dict[str, str] = field(default_factory=dict)  # field -> where the kept value came from
    leads: dict[str, str] = field(default_factory=dict)  # product -> what happened to its leads
    events: list[Event] = field(default_factory=list)


def _provisional(conn: sa.Connection, lead_ids: list[int]) -> None:
    """Give these leads a product no other lead has, for the moment two of them swap accounts (one
    lead per account and product is checked row by row); the transaction never commits it."""
    for lead_id in lead_ids:
        conn.execute(sa.update(LEAD).where(LEAD.c.id == lead_id).values(product=f"~{lead_id}"))


def _note(conn: sa.Connection, lead_id: int, summary: str, reason: str, now: datetime) -> None:
    conn.execute(
        sa.insert(RoutingDecision).values(
            lead_id=lead_id, at=now, reason=reason, summary=summary[:500], path=[]
        )
    )


def merge_accounts(
    session: Session,
    survivor_id: int,
    merged_id: int,
    *,
    now: datetime,
    method: str = "manual",
    by_user_id: int | None = None,
    similarity: float | None = None,
    reasons: list[str] | None = None,
) -> AccountMerged:
    """Merge account `merged_id` into `survivor_id` in the caller's transaction."""
    survivor, merged = lock_pair(session, ACCOUNTS, survivor_id, merged_id)
    if merged_id in (survivor.parent_id,) or survivor_id in (merged.parent_id,):
        raise Conflict(
            f"accounts #{survivor_id} and #{merged_id} are parent and subsidiary: they are linked, not merged"
        )
    conn = connection(session)
    values, origin = survive_account(survivor._mapping, merged._mapping, now=now)
    ids = (survivor_id, merged_id)
    people = list(conn.execute(sa.select(Person.id).where(Person.account_id == merged_id)).scalars())
    activities = list(conn.execute(sa.select(Activity.id).where(Activity.account_id == merged_id)).scalars())
    opps = [
        list(r)
        for r in conn.execute(
            sa.select(Opportunity.id, Opportunity.lead_id).where(Opportunity.account_id == merged_id)
        )
    ]
    children = list(conn.execute(sa.select(Account.id).where(Account.parent_id == merged_id)).scalars())
    repointed = merged_into(conn, ACCOUNTS, merged_id)
    leads = conn.execute(sa.select(LEAD).where(LEAD.c.account_id.in_(ids)).order_by(LEAD.c.id)).all()
    engagement = conn.execute(sa.select(ENGAGEMENT).where(ENGAGEMENT.c.account_id.in_(ids))).all()
    provenance = conn.execute(
        sa.select(PROVENANCE).where(PROVENANCE.c.entity == "account", PROVENANCE.c.entity_id == survivor_id)
    ).all()
    suspects = open_suspects(conn, ACCOUNTS, ids)
    snapshot = {
        "survivor": to_json(ACCOUNT, survivor),
        "merged": to_json(ACCOUNT, merged),
        "people": people,
        "activities": activities,
        "opportunities": opps,
        "children": children,
        "repointed": repointed,
        "leads": [to_json(LEAD, r) for r in leads],
        "engagement": [to_json(ENGAGEMENT, r) for r in engagement],
        "provenance": [to_json(PROVENANCE, r) for r in provenance],
        "suspects": suspects,
        "changed": origin,
    }

    if "domain" in values:  # the domain moves: free it first (it is unique)
        conn.execute(sa.update(ACCOUNT).where(ACCOUNT.c.id == merged_id).values(domain=None))
    conn.execute(sa.update(ACCOUNT).where(ACCOUNT.c.id == merged_id).values(merged_into_id=survivor_id))
    conn.execute(sa.update(ACCOUNT).where(ACCOUNT.c.id == survivor_id).values(**values))
    for f in origin:  # a value taken over keeps its provenance
        for p in conn.execute(
            sa.select(PROVENANCE).where(
                PROVENANCE.c.entity == "account", PROVENANCE.c.entity_id == merged_id, PROVENANCE.c.field == f
            )
        ).all():
            conn.execute(
                sa.delete(PROVENANCE).where(
                    PROVENANCE.c.entity == "account",
                    PROVENANCE.c.entity_id == survivor_id,
                    PROVENANCE.c.field == f,
                )
            )
            conn.execute(sa.insert(PROVENANCE).values({**p._mapping, "entity_id": survivor_id}))
    if people:
        conn.execute(sa.update(Person).where(Person.account_id == merged_id).values(account_id=survivor_id))
    for part in chunks(activities):
        conn.execute(sa.update(Activity).where(Activity.id.in_(part)).values(account_id=survivor_id))
    if children:
        conn.execute(sa.update(Account).where(Account.id.in_(children)).values(parent_id=survivor_id))
    repoint(conn, ACCOUNTS, repointed, survivor_id)

    outcome, lead_of, closing = _merge_leads(conn, survivor_id, merged_id, leads, now=now)
    events = move_many(session, closing, now=now)
    snapshot["leads_outcome"] = outcome
    for opp_id, lead_id in opps:
        conn.execute(
            sa.update(Opportunity)
            .where(Opportunity.id == opp_id)
            .values(account_id=survivor_id, lead_id=lead_of.get(lead_id, lead_id) if lead_id else None)
        )
    conn.execute(sa.delete(ENGAGEMENT).where(ENGAGEMENT.c.account_id == merged_id))
    settle(conn, ACCOUNTS, suspects, ids, now=now, by_user_id=by_user_id)
    merge_id = record(
        conn,
        ACCOUNTS,
        survivor_id,
        merged_id,
        now=now,
        method=method,
        by_user_id=by_user_id,
        score=similarity,
        reasons=reasons,
        snapshot=snapshot,
    )
    index_accounts(session, [(merged_id, None)])  # the merged name finds the survivor through merged_into_id
    contacts = set(conn.execute(sa.select(Person.id).where(Person.account_id == survivor_id)).scalars())
    events.append(TimelinesChanged(frozenset(contacts), frozenset({survivor_id}), now))
    return AccountMerged(merge_id, survivor_id, merged_id, origin, outcome, publish(session, events, now=now))


def _merge_leads(
    conn: sa.Connection, survivor_id: int, merged_id: int, leads: Sequence[Any], *, now: datetime
) -> tuple[dict[str, str], dict[int, int], list[Move]]:
    """One lead per product on the survivor; returns what happened per product, for each lead
    closed as merged the lead that carries on, and the lifecycle moves that close them."""
    theirs = {r.product: r for r in leads if r.account_id == merged_id}
    ours = {r.product: r for r in leads if r.account_id == survivor_id}
    outcome: dict[str, str] = {}
    lead_of: dict[int, int] = {}
    closing: list[Move] = []
    for product, lead in theirs.items():
        mine = ours.get(product)
        if mine is None:
            conn.execute(sa.update(LEAD).where(LEAD.c.id == lead.id).values(account_id=survivor_id))
            outcome[product] = f"lead #{lead.id} moved"
            continue
        keep, close = (lead, mine) if further(lead.stage, mine.stage) else (mine, lead)
        if keep is lead:  # the two swap accounts: the survivor's lead is closed on the merged account
            _provisional(conn, [keep.id])
            conn.execute(sa.update(LEAD).where(LEAD.c.id == close.id).values(account_id=merged_id))
            conn.execute(
                sa.update(LEAD).where(LEAD.c.id == keep.id).values(account_id=survivor_id, product=product)
            )
        why = f"account #{merged_id} merged into #{survivor_id}; lead #{keep.id} carries on"
        closing.append(Move(close.id, close.stage, Trigger.MERGED, now, reason=why))
        _note(
            conn,
            close.id,
            f"account #{merged_id} merged into #{survivor_id}; this lead carries on as lead #{keep.id}",
            "merged",
            now,
        )
        lead_of[close.id] = keep.id
        outcome[product] = f"lead #{keep.id} carries on ({keep.stage}); lead #{close.id} closed as merged"
    return outcome, lead_of, closing


def unmerge_accounts(
    session: Session, merge_id: int, *, now: datetime, by_user_id: int | None = None
) -> AccountMerged:
    """Put both accounts back exactly as they were before the merge; what arrived at the survivor
    after the merge stays with it."""
    m, _ = lock_merge(session, ACCOUNTS, merge_id)
    snap = m.snapshot
    conn = connection(session)
    ids = (m.survivor_id, m.merged_id)
    put_back(conn, ACCOUNTS, m)
    conn.execute(
        sa.delete(PROVENANCE).where(PROVENANCE.c.entity == "account", PROVENANCE.c.entity_id == m.survivor_id)
    )
    for p in snap["provenance"]:
        conn.execute(sa.insert(PROVENANCE).values(**from_json(PROVENANCE, p)))
    for part in chunks(snap["people"]):  # those still with the survivor (not merged away since)
        conn.execute(
            sa.update(Person)
            .where(Person.id.in_(part), Person.account_id == m.survivor_id)
            .values(account_id=m.merged_id)
        )
    for part in chunks(snap["activities"]):
        conn.execute(
            sa.update(Activity)
            .where(Activity.id.in_(part), Activity.account_id == m.survivor_id)
            .values(account_id=m.merged_id)
        )
    for opp_id, lead_id in snap["opportunities"]:
        conn.execute(
            sa.update(Opportunity)
            .where(Opportunity.id == opp_id)
            .values(account_id=m.merged_id, lead_id=lead_id)
        )
    if snap["children"]:
        conn.execute(sa.update(Account).where(Account.id.in_(snap["children"])).values(parent_id=m.merged_id))
    repoint(conn, ACCOUNTS, snap["repointed"], m.merged_id)
    leads = [from_json(LEAD, r) for r in snap["leads"]]
    closed = set(
        conn.execute(
            sa.select(LEAD.c.id).where(
                LEAD.c.id.in_([r["id"] for r in leads] or [-1]), LEAD.c.stage == "merged"
            )
        ).scalars()
    )
    _provisional(conn, [r["id"] for r in leads])
    events = restore_rows(session, leads, now=now, reason=f"account merge #{m.id} undone")
    for r in leads:
        if r["id"] in closed and r["stage"] != "merged":
            _note(
                conn,
                r["id"],
                f"account merge #{m.id} undone: this lead is back on account #{r['account_id']}",
                "unmerged",
                now,
            )
    conn.execute(sa.delete(ENGAGEMENT).where(ENGAGEMENT.c.account_id.in_(ids)))
    if snap["engagement"]:
        conn.execute(sa.insert(ENGAGEMENT), [from_json(ENGAGEMENT, r) for r in snap["engagement"]])
    reopen(conn, ACCOUNTS, snap["suspects"])
    m.unmerged_at, m.unmerged_by_user_id = now, by_user_id
    index_accounts(session, [(m.merged_id, snap["merged"]["name_key"])])
    # Scores are the snapshot's unless the survivor heard from anyone since the merge.
    since = conn.execute(
        sa.select(sa.func.count()).where(Activity.account_id == m.survivor_id, Activity.recorded_at > m.at)
    ).scalar_one()
    contacts = set(conn.execute(sa.select(Person.id).where(Person.account_id.in_(ids))).scalars())
    events.append(TimelinesChanged(frozenset(contacts), frozenset({m.survivor_id} if since else ()), now))
    return AccountMerged(m.id, m.survivor_id, m.merged_id, {}, {}, publish(session, events, now=now))
