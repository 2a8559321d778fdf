"""SLA compliance and aging (issue 15, item 7).

Compliance is the existing SLA report (routing/report.py `sla_report`, one clock per lead counted by
routing/clock.py's `Tally`, so each number equals the leads list it links to) under the shared
filters: the range picks the assignments made in it (the last 30 days when no start is given); a
clock assigned in the range is counted as it stands now (it may have run past the range's end), and a
team keeps its members' clocks.

Aging: the leads open with sales now (MQL, handed over, SAL, SQL) per owner, by the age of their
hand-over (assignment, else MQL, else opening): under 1 day, 1-7 days, 7-30 days, 30-90 days, over
90 days. A rep's aging is read from `leads` itself: it is a picture of now, not of a period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.analytics.filters import ReportFilters, Scope, resolve
from leadloop.analytics.slices import NONE, _segment_accounts
from leadloop.core.errors import InvalidInput
from leadloop.lifecycle.model import OPEN
from leadloop.routing.clock import SLA_FILTERS, matches
from leadloop.routing.report import GROUPS, SlaRow, sla_report
from leadloop.routing.sla_clocks import lead_clocks
from leadloop.store.tables import Lead, Person, Team, User

AGES = ("< 1 d", "1-7 d", "7-30 d", "30-90 d", "> 90 d")
_LIMITS = (timedelta(days=1), timedelta(days=7), timedelta(days=30), timedelta(days=90))
DEFAULT_DAYS = 30


def age_bucket(age: timedelta) -> str:
    for limit, name in zip(_LIMITS, AGES, strict=False):
        if age < limit:
            return name
    return AGES[-1]


def _members(session: Session, scope: Scope) -> frozenset[int] | None:
    if scope.team_id is None:
        return None
    return frozenset(session.scalars(sa.select(User.id).where(User.team_id == scope.team_id)))


def sla_compliance(
    session: Session, *, now: datetime, filters: ReportFilters, by: str = "rep"
) -> list[SlaRow]:
    if by not in GROUPS:
        raise InvalidInput(f"group by one of {', '.join(GROUPS)}, not {by!r}")
    scope = resolve(session, filters)
    since = scope.since or now - timedelta(days=DEFAULT_DAYS)
    return sla_report(session, since=since, until=scope.until, now=now, by=by, users=_members(session, scope))


def sla_leads(
    session: Session, *, now: datetime, filters: ReportFilters, rep_id: int, state: str = "breached"
) -> list[int]:
    """The leads behind a rep's SLA number: their clocks in `state` (a leads-list SLA filter)."""
    if state not in SLA_FILTERS:
        raise InvalidInput(f"state one of {', '.join(SLA_FILTERS)}, not {state!r}")
    scope = resolve(session, filters)
    since = scope.since or now - timedelta(days=DEFAULT_DAYS)
    clocks = lead_clocks(
        session, now=now, reps=frozenset({rep_id}), assigned_since=since, assigned_before=scope.until
    )
    return sorted(c.lead_id for c in clocks if matches(c.clock, state, now=now))


@dataclass(frozen=True, slots=True)
class AgingRow:
    owner: str
    key: str  # "user:<id>" or "team:<id>"
    ages: tuple[int, ...]  # per AGES
    oldest_days: float

    @property
    def open(self) -> int:
        return sum(self.ages)


def _aging_query(scope: Scope) -> Any:
    started = sa.func.coalesce(Lead.assigned_at, Lead.mql_at, Lead.opened_at)
    q = sa.select(Lead.id, Lead.owner_user_id, Lead.owner_team_id, started, Lead.stage).where(
        Lead.stage.in_(sorted(s.value for s in OPEN))
    )
    if scope.product is not None:
        q = q.where(Lead.product == scope.product)
    if scope.campaign_id is not None:
        q = q.where(Lead.campaign_id == scope.campaign_id)
    if scope.team_id is not None:
        members = sa.select(User.id).where(User.team_id == scope.team_id)
        q = q.where(sa.or_(Lead.owner_team_id == scope.team_id, Lead.owner_user_id.in_(members)))
    if scope.segment_id is not None:
        q = q.where(
            Lead.account_id.in_(_segment_accounts(scope.segment_id).with_only_columns(Person.account_id))
        )
    return q


def aging_counts(scope: Scope, now: datetime) -> sa.Select[Any]:
    """Per stage and owner, in the aging index's order (no sort): the open leads, how many started
    after each of `age_bucket`'s limits before `now`, and the earliest start."""
    q = _aging_query(scope).subquery()
    started = q.c[3]
    after = [sa.func.sum(sa.case((started > now - limit, 1), else_=0)) for limit in _LIMITS]
    return sa.select(
        q.c.owner_user_id, q.c.owner_team_id, sa.func.count(), *after, sa.func.min(started)
    ).group_by(q.c.stage, q.c.owner_user_id, q.c.owner_team_id)


def aging_report(session: Session, *, now: datetime, filters: ReportFilters) -> list[AgingRow]:
    """Per owner, the open leads in each age: the differences of `aging_counts`' counts."""
    scope = resolve(session, filters)
    ages: dict[str, list[int]] = {}
    oldest: dict[str, timedelta] = {}
    counted = session.execute(aging_counts(scope, now))
    for user, team, n, *newer, earliest in counted:
        key = f"user:{user}" if user is not None else f"team:{team}"
        bounds = [0, *(int(x or 0) for x in newer), int(n)]
        into = ages.setdefault(key, [0] * len(AGES))
        for i in range(len(AGES)):
            into[i] += bounds[i + 1] - bounds[i]
        oldest[key] = max(oldest.get(key, timedelta(0)), now - earliest)
    users = {i: n or e for i, n, e in session.execute(sa.select(User.id, User.name, User.email))}
    teams = dict(session.execute(sa.select(Team.id, Team.name)).all())

    def name(key: str) -> str:
        kind, _, ident = key.partition(":")
        if ident == "None":
            return NONE
        return str((users if kind == "user" else teams).get(int(ident), f"{kind} #{ident}"))

    rows = [AgingRow(name(k), k, tuple(v), oldest[k].total_seconds() / 86400) for k, v in ages.items()]
    return sorted(rows, key=lambda r: (-r.open, r.owner))


def aging_leads(
    session: Session, *, now: datetime, filters: ReportFilters, key: str, age: str | None = None
) -> list[int]:
    """The open leads behind an aging number: an owner's (`user:<id>` or `team:<id>`), of one age."""
    kind, _, ident = key.partition(":")
    if kind not in ("user", "team") or not ident.isdigit():
        raise InvalidInput(f"an owner's key is user:<id> or team:<id>, not {key!r}")
    if age is not None and age not in AGES:
        raise InvalidInput(f"age one of {', '.join(AGES)}, not {age!r}")
    q = _aging_query(resolve(session, filters))
    q = q.where((Lead.owner_user_id if kind == "user" else Lead.owner_team_id) == int(ident))
    return sorted(
        lid
        for lid, _u, _t, started, _stage in session.execute(q)
        if age is None or age_bucket(max(timedelta(0), now - started)) == age
    )
