"""`leadloop dedupe --warehouse`: the bulk matcher over the stored people, its pairs sent to the same
merge or review flow as real-time matches, decided by the active fitted model (ADR 0039; the
first pass on a warehouse without one learns it), and rebuilds the people and account key
indexes (a backfill for data stored before them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.events import Event
from leadloop.identity.account_merge import merge_accounts
from leadloop.identity.account_review import suspect_accounts
from leadloop.identity.accounts import duplicate_accounts, index_accounts
from leadloop.identity.fitted import CorruptMatchModel
from leadloop.identity.match_models import in_use, store
from leadloop.identity.merge import merge_people
from leadloop.identity.policy import policy_of
from leadloop.identity.realtime import Match, distinct_pairs, index_people, reasons_of
from leadloop.identity.resolve import Survivors
from leadloop.identity.review import suspect
from leadloop.identity.warehouse_pairs import candidates, live_people
from leadloop.store.tables import Account


@dataclass
class WarehouseResult:
    people: int
    pairs: int  # candidate pairs compared
    merged: int
    queued: int
    model_id: int | None
    events: list[Event]
    accounts: int = 0  # live accounts looked at
    accounts_merged: int = 0
    accounts_queued: int = 0
    model: str = ""  # which model decided, as people read it
    learnt: bool = False  # no fitted model was active: this pass learnt one (model_id when stored)


def dedupe_warehouse(session: Session, *, now: datetime, dry_run: bool = False) -> WarehouseResult:
    """People first (their merges may leave accounts without contacts, but never make accounts
    alike), then accounts."""
    result = _dedupe_people(session, now=now, dry_run=dry_run)
    accounts = dedupe_accounts(session, now=now, dry_run=dry_run)
    result.accounts, result.accounts_merged, result.accounts_queued = (
        accounts.accounts,
        accounts.merged,
        accounts.queued,
    )
    result.events.extend(accounts.events)
    return result


@dataclass
class AccountPass:
    accounts: int  # live accounts looked at
    merged: int = 0
    queued: int = 0
    events: list[Event] = field(default_factory=list)


def dedupe_accounts(session: Session, *, now: datetime, dry_run: bool = False) -> AccountPass:
    """The accounts part of the pass: same names merge, alike ones wait for review."""
    policy = policy_of(session)
    out = AccountPass(session.scalar(sa.select(sa.func.count()).where(Account.merged_into_id.is_(None))) or 0)
    survivor_of = Survivors()
    for pair, auto in duplicate_accounts(session, threshold=policy.account_name_match):
        keep, gone = survivor_of.of(pair.survivor_id), survivor_of.of(pair.merged_id)
        if (keep, gone) != (pair.survivor_id, pair.merged_id):
            continue  # a side merged away in this pass: the survivors are judged as their own pair
        if auto:
            out.merged += 1
            survivor_of.merged(gone, keep)
            if not dry_run:
                done = merge_accounts(
                    session,
                    keep,
                    gone,
                    now=now,
                    method="warehouse",
                    similarity=pair.similarity,
                    reasons=list(pair.reasons),
                )
                out.events.extend(done.events)
        else:
            out.queued += 1
            if not dry_run:
                suspect_accounts(session, [pair], now=now)
    return out


def _dedupe_people(session: Session, *, now: datetime, dry_run: bool) -> WarehouseResult:
    policy = policy_of(session)
    rows = live_people(session)
    if not dry_run:
        index_people(session, rows, policy)
        index_accounts(
            session,
            session.execute(
                sa.select(Account.id, sa.case((Account.merged_into_id.is_(None), Account.name_key)))
            ).all(),
        )
    current = in_use(session)
    if current.problem and not current.stale:
        # Merging with the careful default instead would quietly undo what was activated. (A model
        # of older comparison levels is only out of date: the pass learns one, as after an upgrade.)
        raise CorruptMatchModel(
            f"{current.problem}; activate another one (`leadloop matcher list`, `leadloop matcher "
            "activate ID`) or fit a new one (`leadloop matcher refit --apply`)"
        )
    c = candidates(rows, policy)
    if not c.pairs:
        return WarehouseResult(len(rows), 0, 0, 0, None, [], model=current.describe())
    i, j, levels = c.i, c.j, c.levels
    model_id, learnt = current.id, False
    if current.id is not None:
        model = current.model
    else:
        # No usable fitted model yet: as before models were versions, this pass learns one and
        # (unless dry) it becomes the active one; later fits are `leadloop matcher refit`.
        model = c.fit()
        learnt = c.enough_to_fit
        if not dry_run and learnt:
            model_id = store(session, model, now=now, pairs=c.pairs, people=c.people, active=True)
    p = model.probabilities(c.pat)
    ids = np.array([r.id for r in rows], dtype=np.int64)
    keep = np.flatnonzero(p >= policy.review)
    judged = distinct_pairs(session, {int(x) for k in keep for x in (ids[i[k]], ids[j[k]])})
    order = sorted(keep.tolist(), key=lambda k: -p[k])
    survivor_of = Survivors()
    merged = queued = 0
    events: list[Event] = []
    for k in order:
        a, b = int(ids[i[k]]), int(ids[j[k]])
        if (min(a, b), max(a, b)) in judged:
            continue
        a, b = survivor_of.of(a), survivor_of.of(b)
        if a == b:
            continue
        if p[k] >= policy.auto_merge:
            merged += 1
            if not dry_run:
                survivor, gone = min(a, b), max(a, b)
                done = merge_people(
                    session,
                    survivor,
                    gone,
                    now=now,
                    method="warehouse",
                    probability=float(p[k]),
                    reasons=list(reasons_of(levels, k)),
                )
                events.extend(done.events)
                survivor_of.merged(gone, survivor)
        else:
            queued += 1
            if not dry_run:
                suspect(session, [Match(b, a, float(p[k]), reasons_of(levels, k))], now=now)
    return WarehouseResult(
        len(rows), len(i), merged, queued, model_id, events, model=current.describe(), learnt=learnt
    )
