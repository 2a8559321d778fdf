"""What a routing decision is made from, loaded in a few queries: the active rule set, the lead's
facts, the account owner, every pool member's state, capacity and availability right now."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.lifecycle.model import OPEN
from leadloop.routing.calendar import Calendar, CalendarError, parse_hours
from leadloop.routing.document import RuleSet, parse_rules
from leadloop.routing.pools import Candidate
from leadloop.routing.rules import Facts, StickyOwner
from leadloop.store.bulk import chunks, connection, insert_ignore
from leadloop.store.memo import per_transaction
from leadloop.store.tables import (
    Account,
    Activity,
    Lead,
    OutOfOffice,
    Partner,
    Person,
    PoolMember,
    RoutingDecision,
    RoutingRuleSet,
    User,
)

OPEN_STAGES = tuple(sorted(OPEN))  # the lifecycle says which stages are with sales
# Decisions that hand a lead to someone ("handover": a BDR qualified it for a field rep).
ASSIGNING = ("mql", "sla_reassign", "rep_removed", "manual", "handover", "reassigned")
# Every decision that gives a lead a new owner and so starts its current SLA clock (routing's
# `_apply` writes one each time; a partner handing a lead back has it routed again). Not: accepted,
# rejected, sla_escalated, which keep the clock's holder.
CLOCK_STARTS = (*ASSIGNING, "partner_rejected", "partner_missed")


def default_rules_text() -> str:
    return resources.files("leadloop.routing").joinpath("default_rules.yaml").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=32)
def _parse_cached(document: str) -> RuleSet:
    return parse_rules(document)


def active_rules(session: Session) -> tuple[RuleSet, int | None]:
    """The active rule set and its id (None: the shipped default), read once per transaction."""
    return per_transaction(session, "routing.active_rules", lambda: _read_active(session))


def _read_active(session: Session) -> tuple[RuleSet, int | None]:
    row = session.execute(
        sa.select(RoutingRuleSet.id, RoutingRuleSet.document)
        .where(RoutingRuleSet.status == "active")
        .order_by(RoutingRuleSet.activated_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return _parse_cached(default_rules_text()), None
    return _parse_cached(row.document), row.id


def calendar_for(user: User, away: list[tuple[datetime, datetime]]) -> Calendar:
    try:
        hours = parse_hours(user.working_hours) if user.working_hours else None
        kwargs = {"hours": hours} if hours is not None else {}
        return Calendar(
            zone=user.timezone or "UTC",
            holiday_country=user.holiday_country,
            holiday_subdivision=user.holiday_subdivision,
            away=tuple(away),
            **kwargs,
        )
    except CalendarError:  # validated when saved; a calendar that went bad still leaves the rep routable
        return Calendar(away=tuple(away))


def away_spans(
    session: Session, user_ids: set[int], now: datetime
) -> dict[int, list[tuple[datetime, datetime]]]:
    out: dict[int, list[tuple[datetime, datetime]]] = {}
    if user_ids:
        for uid, a, b in session.execute(
            sa.select(OutOfOffice.user_id, OutOfOffice.starts_at, OutOfOffice.ends_at).where(
                OutOfOffice.user_id.in_(user_ids), OutOfOffice.ends_at > now - timedelta(days=30)
            )
        ):
            out.setdefault(uid, []).append((a, b))
    return out


Place = tuple[str | None, str | None, str | None]  # country, state, postcode


def place_of(session: Session, account: Account) -> Place | None:
    """Where a lead's people said they are, for an account that does not say where it is (one a
    form or an import made from a company name, before enrichment): the most recently updated
    person's country, state and postcode. None when the account has a country of its own."""
    return places_of(session, [account])[account.id]


_CREDIT = (
    sa.update(PoolMember)
    .where(PoolMember.pool == sa.bindparam("p"), PoolMember.user_id == sa.bindparam("u"))
    .values(credit=sa.bindparam("c"))
)
_CREDIT_ASSIGNED = _CREDIT.values(last_assigned_at=sa.bindparam("at"))


def save_credits(
    session: Session, pool: str, credits: dict[int, float], *, chosen: int | None, now: datetime
) -> None:
    """A pool's members' new credits after a turn; the member chosen was assigned `now`. Two
    prepared statements (Core: every reader of credits selects columns, never PoolMember rows)."""
    conn = connection(session)
    others = [{"p": pool, "u": uid, "c": c} for uid, c in credits.items() if uid != chosen]
    if others:
        conn.execute(_CREDIT, others)
    if chosen is not None and chosen in credits:
        conn.execute(_CREDIT_ASSIGNED, {"p": pool, "u": chosen, "c": credits[chosen], "at": now})


_DECISION = sa.insert(RoutingDecision).returning(RoutingDecision.id)


def record_decision(session: Session, **row: Any) -> int:
    """The routing decision's audit row (a prepared insert, not the ORM's unit of work); its id."""
    return int(connection(session).execute(_DECISION, row).scalar_one())


def places_of(session: Session, accounts: list[Account]) -> dict[int, Place | None]:
    """`place_of` for many accounts with one query a chunk (a batch being routed, a what-if)."""
    out: dict[int, Place | None] = {a.id: None for a in accounts}
    wanted = list(dict.fromkeys(a.id for a in accounts if not a.country))
    if not wanted:
        return out
    newest = (
        sa.func.row_number()
        .over(partition_by=Person.account_id, order_by=(Person.updated_at.desc(), Person.id.desc()))
        .label("n")
    )
    for part in chunks(wanted):
        ranked = (
            sa.select(Person.account_id, Person.country, Person.state, Person.postcode, newest)
            .where(Person.account_id.in_(part), Person.merged_into_id.is_(None), Person.country.is_not(None))
            .subquery()
        )
        for account_id, country, state, postcode in session.execute(
            sa.select(ranked.c.account_id, ranked.c.country, ranked.c.state, ranked.c.postcode).where(
                ranked.c.n == 1
            )
        ):
            out[account_id] = (country, state, postcode)
    return out


def facts_for(lead: Lead, account: Account, place: Place | None = None) -> Facts:
    """The facts the rules see: the account's firmographics; its location, or the `place` its
    people gave when it has none (territories still route a brand-new company)."""
    keys = {k.casefold() for k in (account.external_id, account.domain, account.name) if k}
    country, state, postcode = (
        place if place is not None else (account.country, account.state, account.postcode)
    )
    return Facts(
        country=country,
        state=state,
        postcode=postcode,
        industry=account.industry,
        employees=float(account.employees) if account.employees is not None else None,
        revenue=float(account.annual_revenue) if account.annual_revenue is not None else None,
        grade=lead.grade,
        product=lead.product,
        source=lead.source,
        account_keys=frozenset(keys),
    )


def users_by_email(session: Session, emails: set[str]) -> dict[str, User]:
    if not emails:
        return {}
    return {
        u.email.lower(): u
        for u in session.scalars(sa.select(User).where(sa.func.lower(User.email).in_(emails)))
    }


def user_by_email(session: Session, email: str) -> User:
    from leadloop.core.errors import NotFound

    user = users_by_email(session, {email.lower()}).get(email.lower())
    if user is None:
        raise NotFound(f"there is no user {email}")
    return user


def _local_day_start(cal: Calendar, now: datetime) -> tuple[datetime, datetime]:
    local = now.astimezone(cal.tz)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    week = day - timedelta(days=day.weekday())
    return day, week


def pool_candidates(
    session: Session,
    rs: RuleSet,
    users: dict[str, User],
    away: dict[int, list[tuple[datetime, datetime]]],
    now: datetime,
    *,
    for_update: bool = True,
) -> dict[str, list[Candidate]]:
    """Every pool's members with credit, today's and this week's assignments (in their own
    calendar), open leads and why they are unavailable now. On PostgreSQL the members' fairness rows
    are locked, so concurrent routings into one pool take turns and never pick the same turn."""
    rows = [
        {"pool": name, "user_id": users[m.user.lower()].id, "credit": 0.0}
        for name, pool in rs.pools.items()
        for m in pool.members
        if m.user.lower() in users
    ]
    if not rows:
        return {name: [] for name in rs.pools}
    insert_ignore(session, PoolMember.__table__, rows, ["pool", "user_id"])
    q = sa.select(PoolMember.pool, PoolMember.user_id, PoolMember.credit).where(
        PoolMember.pool.in_(list(rs.pools))
    )
    if session.get_bind().dialect.name == "postgresql":
        q = q.order_by(PoolMember.pool, PoolMember.user_id).with_for_update()
    credit = {(p, u): c for p, u, c in session.execute(q)}
    # Counts only where a rule needs them: assignments for members with caps, open leads for
    # load-balanced pools.
    capped = {
        users[m.user.lower()].id
        for p in rs.pools.values()
        for m in p.members
        if m.user.lower() in users and (m.daily_cap or m.weekly_cap)
    }
    balanced = {
        users[m.user.lower()].id
        for p in rs.pools.values()
        if p.mode == "load_balanced"
        for m in p.members
        if m.user.lower() in users
    }
    assigned: dict[int, list[datetime]] = {}
    if capped:
        for uid, at in session.execute(
            sa.select(RoutingDecision.owner_user_id, RoutingDecision.at).where(
                RoutingDecision.owner_user_id.in_(capped),
                RoutingDecision.at >= now - timedelta(days=8),
                RoutingDecision.reason.in_(ASSIGNING),
            )
        ):
            if uid is not None:
                assigned.setdefault(uid, []).append(at)
    open_leads: dict[int | None, int] = {}
    if balanced:
        open_leads = dict(
            session.execute(
                sa.select(Lead.owner_user_id, sa.func.count())
                .where(Lead.owner_user_id.in_(balanced), Lead.stage.in_(OPEN_STAGES))
                .group_by(Lead.owner_user_id)
            )
            .tuples()
            .all()
        )
    out: dict[str, list[Candidate]] = {}
    for name, pool in rs.pools.items():
        members = []
        for m in pool.members:
            user = users.get(m.user.lower())
            if user is None:
                continue
            cal = calendar_for(user, away.get(user.id, []))
            day, week = _local_day_start(cal, now)
            times = assigned.get(user.id, [])
            members.append(
                Candidate(
                    user.id,
                    user.email,
                    weight=m.weight,
                    credit=credit.get((name, user.id), 0.0),
                    today=sum(1 for t in times if t >= day),
                    week=sum(1 for t in times if t >= week),
                    open_leads=int(open_leads.get(user.id, 0)),
                    daily_cap=m.daily_cap,
                    weekly_cap=m.weekly_cap,
                    unavailable="inactive" if not user.active else cal.why_unavailable(now),
                )
            )
        out[name] = members
    return out


def sticky_owner(session: Session, account: Account) -> StickyOwner | None:
    """The account's owner; a subsidiary without one is owned through its parent (up the tree)."""
    seen = {account.id}
    while account.owner_user_id is None and account.parent_id is not None and account.parent_id not in seen:
        parent = session.get(Account, account.parent_id)
        if parent is None:
            break
        seen.add(parent.id)
        account = parent
    if account.owner_user_id is None:
        return None
    user = session.get(User, account.owner_user_id)
    if user is None:
        return None
    return StickyOwner(user.id, user.email, None if user.active else "inactive")


def partner_id(session: Session, name: str) -> int | None:
    return session.scalar(sa.select(Partner.id).where(Partner.name == name))


def earlier_owner(session: Session, lead_id: int) -> User | None:
    """The last person any routing decision gave the lead to (or who accepted it): who worked it
    before it went back to marketing."""
    return session.scalars(
        sa.select(User)
        .join(RoutingDecision, RoutingDecision.owner_user_id == User.id)
        .where(RoutingDecision.lead_id == lead_id)
        .order_by(RoutingDecision.at.desc(), RoutingDecision.id.desc())
        .limit(1)
    ).first()


def activity_person(session: Session, activity_id: int | None) -> str | None:
    """Who did this activity, by name (or address); None for an anonymous one."""
    if activity_id is None:
        return None
    row = session.execute(
        sa.select(Person.first_name, Person.last_name, Person.email)
        .join(Activity, Activity.person_id == Person.id)
        .where(Activity.id == activity_id)
    ).first()
    if row is None:
        return None
    name = " ".join(p for p in (row.first_name, row.last_name) if p)
    return name or row.email
