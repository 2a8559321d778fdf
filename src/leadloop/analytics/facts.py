"""Keeping the report facts (ADR 0036): load what `facts_model.derive` needs for a chunk of leads,
derive, and replace their rows; the opportunities' facts likewise; then the counts rollup of the days
they touched (`cube.rebuild`, ADR 0047), in the same transaction. The one writer of `lead_facts`,
`opportunity_facts` and `facts_refresh` (its rows "facts" and "cube"); attribution's credits
(`credits.refresh`, ADR 0048) are kept in the same transaction.

Incremental by default: the leads whose stage history was recorded since the watermark, leads with
no facts yet, and the leads of opportunities whose row differs from its facts (an opportunity has no
`updated_at`, so the comparison is the change detection). A full rebuild runs when there is no
watermark, when asked, and once a day on the timer, for what no watermark sees (a rescore's new
grade, an account merge's moved history)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.analytics import credits, cube
from leadloop.analytics.facts_model import LeadIn, Move, OppIn, derive, opp_fact
from leadloop.jobs.timers import Due, schedule
from leadloop.store.bulk import chunks, connection
from leadloop.store.tables import (
    Account,
    Activity,
    FactsRefresh,
    Lead,
    LeadFactRow,
    LeadStageChange,
    OppFactRow,
    Opportunity,
    RoutingDecision,
    User,
)

FACTS_REFRESH = "facts_refresh"  # the timer's kind
SALES_TOUCHES = ("call", "meeting", "email_sent")
FULL_EVERY = timedelta(days=1)
LF: sa.Table = LeadFactRow.__table__  # type: ignore[assignment]
OF: sa.Table = OppFactRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Refreshed:
    leads: int
    opportunities: int
    full: bool
    credited: int = 0  # opportunities whose attribution credits were written again


def _flat(fact: Any) -> dict[str, Any]:
    """A fact as a row: a shallow copy of its fields (dataclasses.asdict deep-copies every value, and
    was half the time of a full rebuild)."""
    return {f.name: getattr(fact, f.name) for f in fields(fact)}


def _root(accounts: dict[int, int | None], account_id: int | None) -> int | None:
    seen = set()
    while account_id in accounts and account_id not in seen:
        seen.add(account_id)
        account_id = accounts[account_id]
    return account_id


def _opportunities(session: Session, default_currency: str, default_product: str) -> list[OppIn]:
    """Every opportunity, its lead resolved: its own lead, or the survivor of a merged lead, or the
    lead of its account (followed through account merges) and product."""
    conn = connection(session)
    merged_into: dict[int, int | None] = dict(
        conn.execute(
            sa.select(Account.id, Account.merged_into_id).where(Account.merged_into_id.is_not(None))
        ).all()
    )
    rows = conn.execute(
        sa.select(
            Opportunity.id,
            Opportunity.lead_id,
            Opportunity.account_id,
            Opportunity.product,
            Opportunity.outcome,
            Opportunity.amount,
            Opportunity.currency,
            Opportunity.created_at,
            Opportunity.closed_at,
            Opportunity.stage,
        )
    ).all()
    own = {r.lead_id for r in rows if r.lead_id is not None}
    lead_of: dict[int, tuple[int, str, str]] = {}
    for part in chunks(sorted(own)):
        for row in conn.execute(
            sa.select(Lead.id, Lead.account_id, Lead.product, Lead.stage).where(Lead.id.in_(part))
        ):
            lead_of[row[0]] = (row[1], row[2], row[3])
    wanted: set[tuple[int, str]] = set()
    keys: dict[int, tuple[int, str] | int] = {}
    for r in rows:
        acc: int | None = None
        product: str | None = None
        stage: str | None = None
        if r.lead_id is not None and r.lead_id in lead_of:
            acc, product, stage = lead_of[r.lead_id]
        if r.lead_id is not None and stage is not None and stage != "merged":
            keys[r.id] = r.lead_id
            continue
        root = _root(merged_into, acc if acc is not None else r.account_id)
        if root is not None:
            key = (root, product or r.product or default_product)
            keys[r.id] = key
            wanted.add(key)
    found: dict[tuple[int, str], int] = {}
    for part in chunks(sorted({a for a, _ in wanted})):
        for lid, acc, product in conn.execute(
            sa.select(Lead.id, Lead.account_id, Lead.product).where(
                Lead.account_id.in_(part), Lead.stage != "merged"
            )
        ):
            found[(acc, product)] = lid
    out = []
    for r in rows:
        k = keys.get(r.id)
        lead_id = k if isinstance(k, int) else found.get(k) if k is not None else None
        out.append(
            OppIn(
                r.id,
                lead_id,
                _root(merged_into, r.account_id),
                r.product,
                r.outcome,
                r.amount or Decimal(0),
                r.currency or default_currency,
                r.created_at,
                r.closed_at,
                r.stage,
            )
        )
    return out


def _moves(conn: sa.Connection, ids: list[int]) -> dict[int, list[Move]]:
    out: dict[int, list[Move]] = defaultdict(list)
    h = LeadStageChange
    for lid, at, a, b, trigger in conn.execute(
        sa.select(h.lead_id, h.at, h.from_stage, h.to_stage, h.trigger)
        .where(h.lead_id.in_(ids))
        .order_by(h.id)
    ):
        out[lid].append(Move(at, a, b, trigger))
    return out


def _rules(conn: sa.Connection, ids: list[int]) -> dict[int, str]:
    """The rule that matched in each lead's first routing decision (None: a pool, a person, a queue)."""
    out: dict[int, str] = {}
    for lid, path in conn.execute(
        sa.select(RoutingDecision.lead_id, RoutingDecision.path)
        .where(RoutingDecision.lead_id.in_(ids), RoutingDecision.reason == "mql")
        .order_by(RoutingDecision.id)
    ):
        if lid in out:
            continue
        matched = [
            s["step"][5:]
            for s in path or []
            if s.get("result") == "matched" and str(s.get("step", "")).startswith("rule ")
        ]
        out[lid] = matched[0] if matched else "(no rule)"
    return out


def _lead_rows(
    session: Session, ids: list[int], opps_of: dict[int, list[OppIn]], teams: dict[int, int | None]
) -> list[dict[str, Any]]:
    conn = connection(session)
    L = Lead
    leads = [
        LeadIn(*r)  # type: ignore[call-arg]
        for r in conn.execute(
            sa.select(
                L.id,
                L.account_id,
                L.product,
                L.stage,
                L.source,
                L.campaign_id,
                L.grade,
                L.owner_user_id,
                L.owner_team_id,
                L.opened_at,
                L.mql_at,
                L.assigned_at,
                L.sla_due_at,
                L.first_touch_at,
                L.accepted_at,
                L.rejected_at,
                L.rejected_reason,
            ).where(L.id.in_(ids), L.stage != "merged")
        )
    ]
    accounts = sorted({x.account_id for x in leads})
    merged_away: dict[int, int] = {
        a: b
        for a, b in conn.execute(
            sa.select(Account.id, Account.merged_into_id).where(Account.merged_into_id.in_(accounts))
        )
        if b is not None
    }
    created = dict(
        conn.execute(sa.select(Account.id, Account.created_at).where(Account.id.in_(accounts))).all()
    )
    first: dict[int, datetime] = {}
    touches: dict[int, list[datetime]] = defaultdict(list)
    campaigns: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    own = set(accounts)
    every = sorted(set(accounts) | set(merged_away))
    # One read of the accounts' activities serves all three (each row is looked up once).
    for part in chunks(every):
        for where, at, kind, campaign in conn.execute(
            sa.select(Activity.account_id, Activity.occurred_at, Activity.type, Activity.campaign_id).where(
                Activity.account_id.in_(part)
            )
        ):
            acc = int(where or 0)  # never None: it matched the IN list
            root = merged_away.get(acc, acc)
            if root not in first or at < first[root]:
                first[root] = at
            if acc in own and kind in SALES_TOUCHES:
                touches[acc].append(at)
            if campaign is not None:
                campaigns[root].append((at, campaign))
    moves, rules = _moves(conn, ids), _rules(conn, ids)
    return [
        _flat(
            derive(
                x,
                moves.get(x.id, []),
                opps_of.get(x.id, []),
                first_activity=first.get(x.account_id),
                account_created=created.get(x.account_id),
                team_of_owner=teams.get(x.owner_user_id) if x.owner_user_id is not None else None,
                rule=rules.get(x.id),
                sales_touches=sum(1 for at in touches.get(x.account_id, []) if at >= x.opened_at),
                campaign_touches=sorted(campaigns.get(x.account_id, [])),
            )
        )
        for x in leads
    ]


def _changed_leads(
    session: Session, since: datetime, now: datetime, opps: list[OppIn], stored: dict[int, dict[str, Any]]
) -> set[int]:
    """The leads whose facts may have changed: a stage change recorded in [since, now] (one
    recorded later, a clock ahead, is taken when its time comes), no facts yet, or an opportunity
    whose row differs from its facts."""
    conn = connection(session)
    ids = set(
        conn.execute(
            sa.select(LeadStageChange.lead_id).where(
                LeadStageChange.recorded_at >= since, LeadStageChange.recorded_at <= now
            )
        ).scalars()
    )
    # A lead with no facts yet. On SQLite a new one is above the newest lead with facts (no lead is
    # ever deleted, and one writer hands ids out in commit order): no scan of every lead. On
    # PostgreSQL a long import's ids can commit after a higher one's: every lead is looked at (a
    # hash anti-join there).
    missing = [Lead.stage != "merged", ~sa.exists().where(LF.c.lead_id == Lead.id)]
    if conn.dialect.name == "sqlite":
        missing.append(Lead.id > int(conn.scalar(sa.select(sa.func.max(LF.c.lead_id))) or 0))
    ids |= set(conn.execute(sa.select(Lead.id).where(*missing)).scalars())
    for o in opps:
        s = stored.get(o.id)
        if _row_changed(o, s):
            ids |= {i for i in (o.lead_id, s["lead_id"] if s else None) if i is not None}
    return ids


def _row_changed(o: OppIn, s: dict[str, Any] | None) -> bool:
    """Does the opportunity's row (as resolved) differ from what its facts were derived from?"""
    if s is None:
        return True
    closed = o.closed_at or (o.created_at if o.outcome in ("won", "lost") else None)
    mine = (
        o.lead_id,
        o.account_id,
        o.product,
        o.outcome,
        o.amount,
        o.currency,
        o.stage,
        o.created_at,
        closed,
    )
    theirs = (
        "lead_id",
        "account_id",
        "product",
        "outcome",
        "amount",
        "currency",
        "stage",
        "created_at",
        "closed_at",
    )
    return mine != tuple(s[k] for k in theirs)


def _write(
    session: Session, table: sa.Table, key: str, ids: Iterable[int], rows: list[dict[str, Any]]
) -> None:
    conn = connection(session)
    for part in chunks(sorted(set(ids))):
        conn.execute(table.delete().where(table.c[key].in_(part)))
    if rows:
        conn.execute(table.insert(), rows)


def refresh(
    session: Session,
    *,
    now: datetime,
    full: bool = False,
    default_currency: str = "USD",
    default_product: str = "general",
) -> Refreshed:
    """Bring the facts up to date in the caller's transaction; returns how many rows it rewrote."""
    conn = connection(session)
    state = session.get(FactsRefresh, "facts")
    full = full or state is None or state.full_at is None or now - state.full_at >= FULL_EVERY
    full = full or not cube.built(session) or not credits.built(session)
    kept = session.get(FactsRefresh, credits.STATE)
    newest = credits.mark(session)  # before anything is read: what lands meanwhile is seen next time
    channels = credits.campaigns_key(session)
    opps = _opportunities(session, default_currency, default_product)
    stored = {r["opp_id"]: r for r in (dict(m) for m in conn.execute(sa.select(OF)).mappings())}
    if full:
        conn.execute(LF.delete())
        ids = set(conn.execute(sa.select(Lead.id).where(Lead.stage != "merged")).scalars())
    else:
        assert state is not None
        ids = _changed_leads(session, state.watermark, now, opps, stored)
    opps_of: dict[int, list[OppIn]] = defaultdict(list)
    for o in opps:
        if o.lead_id is not None:
            opps_of[o.lead_id].append(o)
    teams = dict(conn.execute(sa.select(User.id, User.team_id)).all())
    written = 0
    days: set[str] = set()  # the rollup's days whose facts change (ADR 0047)
    for part in chunks(sorted(ids)):
        rows = _lead_rows(session, part, opps_of, teams)
        if not full:
            days |= cube.days_of(conn, part)
            days |= {r["opened_day"] for r in rows}
        _write(session, LF, "lead_id", part, rows)
        written += len(rows)
    # Opportunities: rewrite those whose facts changed. An opportunity's facts follow from its row
    # and its lead's facts and history, so (but in a full rebuild) only those whose lead was
    # rewritten above or whose row differs from its facts are derived again.
    todo = [o for o in opps if full or o.lead_id in ids or _row_changed(o, stored.get(o.id))]
    linked = sorted({o.lead_id for o in todo if o.lead_id is not None})
    first_seen: dict[int, datetime] = {}
    moves: dict[int, list[Move]] = {}
    for part in chunks(linked):
        first_seen |= dict(
            conn.execute(sa.select(LF.c.lead_id, LF.c.first_seen_at).where(LF.c.lead_id.in_(part))).all()
        )
        moves |= _moves(conn, part)
    fresh = [
        _flat(
            opp_fact(
                o,
                first_seen=first_seen.get(o.lead_id) if o.lead_id else None,
                moves=moves.get(o.lead_id or -1, []),
            )
        )
        for o in todo
    ]
    changed = [f for f in fresh if stored.get(f["opp_id"]) != f]
    gone = set(stored) - {o.id for o in opps}
    if not full:
        linked_to = {f["lead_id"] for f in changed} | {stored[o]["lead_id"] for o in gone}
        linked_to |= {stored[f["opp_id"]]["lead_id"] for f in changed if f["opp_id"] in stored}
        days |= cube.days_of(conn, {i for i in linked_to if i is not None})
    _write(session, OF, "opp_id", [f["opp_id"] for f in changed] + sorted(gone), changed)
    cube.rebuild(session, None if full else days)
    credited = credits.refresh(
        session,
        now=now,
        # A campaign's channel changed: the credits grouped by channel are rebuilt (not the facts).
        full=full or kept is None or kept.campaigns_key != channels,
        after=None if kept is None else kept.activity_mark,
        since=None if kept is None else kept.watermark,
        changed={o.id for o in todo} | gone,
        default_currency=default_currency,
    )
    for name in ("facts", cube.STATE, credits.STATE):
        row = session.get(FactsRefresh, name)
        if row is None:
            row = FactsRefresh(name=name, watermark=now, full_at=now)
            session.add(row)
        else:
            row.watermark = now
            if full:
                row.full_at = now
        if name == credits.STATE:
            row.activity_mark, row.campaigns_key = newest, channels
    session.flush()
    return Refreshed(written, len(changed), full, credited)


def refresh_job(every: timedelta, *, default_currency: str, default_product: str) -> Any:
    """The timer: refresh, then arm the next run."""

    def handle(session: Session, due: Due, now: datetime) -> list[Any]:
        refresh(session, now=now, default_currency=default_currency, default_product=default_product)
        schedule(session, FACTS_REFRESH, "facts", now + every)
        return []

    return handle
