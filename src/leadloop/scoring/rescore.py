"""Scores rebuilt from the log for a few people and accounts, after their timelines changed shape
(a merge or an unmerge moved activities). Never a sum of the old scores: the same signals counted
once, with the per-day caps applied to the merged timeline."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.events import Event, TimelinesChanged
from leadloop.lifecycle.summary import DEFAULT_PRODUCT, REFRESH_CONTACTS
from leadloop.scoring.decay import decay_rate, epoch
from leadloop.scoring.engagement import Signal, score_signals
from leadloop.scoring.fit import evaluate_fit
from leadloop.scoring.handlers import (
    _UPDATE_PERSON,
    ACCOUNT_FIT_FIELDS,
    PERSON_FIT_FIELDS,
    _Group,
    _leads,
    _save_groups,
)
from leadloop.scoring.repository import active_model
from leadloop.store.bulk import connection, select_in
from leadloop.store.tables import Account, AccountEngagement, Activity, Lead, Person

_SIGNAL_COLUMNS = (
    Activity.id,
    Activity.type,
    Activity.occurred_at,
    Activity.person_id,
    Activity.product,
    Activity.account_id,
)


def on_timelines_changed(session: Session, events: list[TimelinesChanged], now: datetime) -> list[Event]:
    """Reaction: a merge or an unmerge moved activities; rebuild the scores of whom it touched."""
    people = set().union(*(e.person_ids for e in events))
    accounts = set().union(*(e.account_ids for e in events))
    return rescore(session, people, accounts, now=now)


def rescore(session: Session, person_ids: set[int], account_ids: set[int], *, now: datetime) -> list[Event]:
    """Fit and engagement of these people, and the account x product engagement and leads of these
    accounts, from their activities. A lead whose rebuilt engagement is over a threshold now opens
    or becomes an MQL now (events returned)."""
    model, _ = active_model(session)
    rate = decay_rate(model.engagement.half_life_days)
    t_now = epoch(now)
    conn = connection(session)
    people = [
        p for p in select_in(session, (Person.__table__,), Person.id, person_ids) if p.merged_into_id is None
    ]
    accounts = {
        a.id: a
        for a in select_in(
            session,
            (Account.__table__,),
            Account.id,
            {p.account_id for p in people if p.account_id} | account_ids,
        )
    }
    by_person: dict[int, list[Signal]] = defaultdict(list)
    for r in select_in(session, _SIGNAL_COLUMNS, Activity.person_id, {p.id for p in people}):
        by_person[r.person_id].append(Signal(r.id, r.type, epoch(r.occurred_at), r.person_id, r.product))
    rows = []
    for p in people:
        acct = accounts.get(p.account_id) if p.account_id else None
        fit = evaluate_fit(
            model,
            {f: getattr(p, f) for f in PERSON_FIT_FIELDS},
            {f: getattr(acct, f) for f in ACCOUNT_FIT_FIELDS} if acct else {},
        )
        score = score_signals(model, [s for s in by_person[p.id] if s.at <= t_now])
        rows.append(
            {
                "id": p.id,
                "fit": fit.score,
                "grade": fit.grade,
                "excluded": fit.excluded_by,
                "s": score.s,
                "t0": score.t0,
                "key": score.rank_key(rate),
            }
        )
    if rows:
        conn.execute(_UPDATE_PERSON, rows)
    if not account_ids:
        return []
    by_group: dict[tuple[int, str], list[Signal]] = defaultdict(list)
    for r in select_in(session, _SIGNAL_COLUMNS, Activity.account_id, account_ids):
        product = r.product or DEFAULT_PRODUCT
        by_group[(r.account_id, product)].append(
            Signal(r.id, r.type, epoch(r.occurred_at), r.person_id, product)
        )
    stored = {
        (r.account_id, r.product)
        for r in select_in(
            session,
            (AccountEngagement.account_id, AccountEngagement.product),
            AccountEngagement.account_id,
            account_ids,
        )
    }
    groups: dict[tuple[int, str], _Group] = {}
    for key in set(by_group) | stored:
        score = score_signals(model, [s for s in by_group.get(key, []) if s.at <= t_now], key[1])
        g = _Group(score, stored=key in stored)
        value = score.value_at(t_now, rate)
        if value >= model.engagement.lead_open_threshold:
            g.opened_at = t_now
        if value >= model.engagement.mql_threshold:
            g.mql_at = t_now
        groups[key] = g
    _save_groups(session, groups, rate)
    _refresh_summaries(session, account_ids)
    return _leads(session, model, rate, groups, now=now)


_COUNT_LEAD = sa.text(
    "UPDATE leads SET activity_count = (SELECT count(*) FROM activities a WHERE a.account_id = leads.account_id"
    " AND coalesce(a.product, :default) = leads.product) WHERE id = :id"
)


def _refresh_summaries(session: Session, account_ids: set[int]) -> None:
    """Activity and contact counts of these accounts' leads, counted again."""
    ids = [r.id for r in select_in(session, (Lead.id, Lead.account_id), Lead.account_id, account_ids)]
    if ids:
        conn = connection(session)
        conn.execute(_COUNT_LEAD, [{"default": DEFAULT_PRODUCT, "id": i} for i in ids])
        conn.execute(REFRESH_CONTACTS, [{"default": DEFAULT_PRODUCT, "id": i} for i in ids])
