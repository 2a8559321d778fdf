"""The leads list: filter, sort and paginate on the server."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.access.model import EVERYTHING, Scope
from leadloop.access.repository import lead_clause, require_visible
from leadloop.core.errors import NotFound
from leadloop.lifecycle.model import OPEN, Stage
from leadloop.lists.model import EXPORT_LIMIT, Paging, page_size
from leadloop.lists.model import PAGE_SIZES as LIST_PAGE_SIZES
from leadloop.routing.clock import SLA_FILTERS, matches
from leadloop.routing.sla_clocks import lead_clocks
from leadloop.scoring.decay import Decaying, decay_rate, epoch
from leadloop.search.queries import leads_match
from leadloop.segments.queries import member_accounts
from leadloop.store.tables import Account, Lead, Partner, Team, User

STAGES = tuple(s.value for s in Stage)  # the lifecycle's stages, in funnel order
SORTS: dict[str, Any] = {
    # ln S + λ·t0 does not change with time, so this index order is "hottest now" at any moment.
    "priority": Lead.engagement_key,
    "account": Account.name,
    "product": Lead.product,
    "stage": Lead.stage,
    "owner": sa.func.coalesce(User.name, Team.name, Partner.name),
    "opened": Lead.opened_at,
    "last_activity": Lead.last_activity_at,
    "activities": Lead.activity_count,
    "contacts": Lead.contact_count,
    "grade": sa.func.coalesce(Lead.grade, "E"),
    # The predictive model's, when it beat the baselines (else every lead has none and this is id order)
    "chance": sa.func.coalesce(Lead.predicted, -1.0),
    "value": sa.func.coalesce(Lead.expected_value, -1.0),
}
PAGE_SIZES = LIST_PAGE_SIZES  # 25, 50, 100, 200: every list offers the same (lists/model.py)


@dataclass(frozen=True)
class LeadFilter:
    q: str | None = None
    stage: str | None = None
    product: str | None = None
    owner: str | None = None  # "user:ID" | "queue:ID" | "partner:ID"
    sort: str = "priority"
    dir: str = "desc"
    page: int = 1
    per_page: int = 25
    # SLA (the sla work): a clock filter (routing.clock.SLA_FILTERS), the rep whose clock it was
    # (the last user it was assigned to, even after a rejection), assigned in the last `days` days.
    sla: str | None = None
    rep: int | None = None
    days: int | None = None
    rep_team: int | None = None  # any rep of this team (the SLA report's team rows)
    segment: int | None = None  # leads of accounts with a member of this segment (segments/)
    # Only these leads: the ones behind a report's number (dashboards' drill-down), never from a URL.
    ids: tuple[int, ...] | None = None

    def clean(self) -> LeadFilter:
        return LeadFilter(
            q=(self.q or "").strip()[:200] or None,
            stage=self.stage if self.stage in STAGES or self.stage == "open" else None,
            product=(self.product or "").strip()[:100] or None,
            owner=self.owner
            if self.owner and self.owner.split(":")[0] in ("user", "queue", "partner")
            else None,
            sort=self.sort if self.sort in SORTS else "priority",
            dir="asc" if self.dir == "asc" else "desc",
            page=max(1, self.page),
            per_page=page_size(self.per_page),
            sla=self.sla if self.sla in SLA_FILTERS else None,
            rep=self.rep if self.rep and self.rep > 0 else None,
            days=max(1, min(self.days, 3650)) if self.days else None,
            rep_team=self.rep_team if self.rep_team and self.rep_team > 0 else None,
            segment=self.segment if self.segment and 0 < self.segment < 2**31 else None,
            ids=self.ids,
        )


@dataclass
class LeadRow:
    id: int
    account_id: int
    account: str
    domain: str | None
    product: str
    stage: str
    owner: str
    owner_type: str
    opened_at: datetime
    last_activity_at: datetime
    activity_count: int
    contact_count: int
    grade: str | None = None
    engagement_s: float = 0.0
    engagement_t0: float = 0.0
    predicted: float | None = None
    expected_value: float | None = None
    score: float = 0.0  # engagement decayed to the time of the query


@dataclass
class LeadsPage:
    filter: LeadFilter
    rows: list[LeadRow]
    total: int
    products: list[str] = field(default_factory=list)
    owners: list[tuple[str, str]] = field(default_factory=list)
    rep_name: str | None = None  # the SLA filter's rep and team, by name
    rep_team_name: str | None = None
    predicted: bool = False  # the predictive model is shown: its chance and expected value are columns

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.filter.per_page))

    @property
    def paging(self) -> Paging:
        return Paging.of(self.total, self.filter.page, self.filter.per_page)


def _leads(f: LeadFilter, scope: Scope) -> sa.Select[Any]:
    base = (
        sa.select(Lead.id)
        .join(Account, Account.id == Lead.account_id)
        .outerjoin(User, User.id == Lead.owner_user_id)
        .outerjoin(Team, Team.id == Lead.owner_team_id)
        .outerjoin(Partner, Partner.id == Lead.owner_partner_id)
        .where(lead_clause(scope))
    )
    if f.q:  # the account's name or domain, or a contact's name, e-mail or title; accents ignored
        base = base.where(leads_match(f.q))
    # A lead closed by an account merge lives on as the lead it merged into: shown when asked for.
    if f.stage == "open":  # with sales: the stages of the lifecycle's OPEN set
        base = base.where(Lead.stage.in_(sorted(OPEN)))
    else:
        base = base.where(Lead.stage == f.stage) if f.stage else base.where(Lead.stage != "merged")
    if f.product:
        base = base.where(Lead.product == f.product)
    if f.owner:
        kind, _, raw = f.owner.partition(":")
        col = {"user": Lead.owner_user_id, "queue": Lead.owner_team_id, "partner": Lead.owner_partner_id}[
            kind
        ]
        base = base.where(col == (int(raw) if raw.isdigit() else -1))
    if f.segment:
        base = base.where(Lead.account_id.in_(member_accounts(f.segment)))
    if f.ids is not None:
        base = base.where(Lead.id.in_(f.ids))
    return base


def _with_sla(
    session: Session, base: sa.Select[Any], f: LeadFilter, *, now: datetime, scope: Scope
) -> sa.Select[Any]:
    if f.sla or f.rep or f.days or f.rep_team:
        return base.where(Lead.id.in_(_sla_ids(session, base, f, now=now, scope=scope)))
    return base


def list_leads(
    session: Session, f: LeadFilter, *, now: datetime, half_life_days: float = 30.0, scope: Scope = EVERYTHING
) -> LeadsPage:
    f = f.clean()
    owner_name = sa.func.coalesce(User.name, Team.name, Partner.name)
    base = _with_sla(session, _leads(f, scope), f, now=now, scope=scope)
    total = session.scalar(sa.select(sa.func.count()).select_from(base.subquery())) or 0
    order = SORTS[f.sort]
    stmt = (
        base.with_only_columns(
            Lead.id,
            Lead.account_id,
            Account.name,
            Account.domain,
            Lead.product,
            Lead.stage,
            owner_name,
            sa.case(
                (Lead.owner_user_id.is_not(None), "user"),
                (Lead.owner_team_id.is_not(None), "queue"),
                else_="partner",
            ),
            Lead.opened_at,
            Lead.last_activity_at,
            Lead.activity_count,
            Lead.contact_count,
            Lead.grade,
            Lead.engagement_s,
            Lead.engagement_t0,
            Lead.predicted,
            Lead.expected_value,
        )
        .order_by(order.asc() if f.dir == "asc" else order.desc(), Lead.id.desc())
        .limit(f.per_page)
        .offset((f.page - 1) * f.per_page)
    )
    rate = decay_rate(half_life_days)
    rows = [LeadRow(*r) for r in session.execute(stmt).all()]
    for row in rows:
        row.score = Decaying(row.engagement_s, row.engagement_t0).current(epoch(now), rate)
    products = list(session.scalars(sa.select(Lead.product).distinct().order_by(Lead.product)).all())
    owners = [
        (f"user:{i}", n)
        for i, n in session.execute(
            sa.select(User.id, User.name).where(User.id.in_(sa.select(Lead.owner_user_id).distinct()))
        ).all()
    ]
    owners += [
        (f"queue:{i}", n)
        for i, n in session.execute(sa.select(Team.id, Team.name).where(Team.is_queue)).all()
    ]
    rep_name = session.scalar(sa.select(User.name).where(User.id == f.rep)) if f.rep else None
    team_name = session.scalar(sa.select(Team.name).where(Team.id == f.rep_team)) if f.rep_team else None
    shown = session.scalar(sa.select(Lead.id).where(Lead.predicted.is_not(None)).limit(1)) is not None
    return LeadsPage(f, rows, total, products, owners, rep_name, team_name, shown)


def _sla_ids(
    session: Session, base: sa.Select[Any], f: LeadFilter, *, now: datetime, scope: Scope
) -> list[int]:
    """The leads among `base` whose SLA clock passes the filter: the clocks the SLA report, Team and
    the home page count (routing/sla_clocks.py), decided by routing/clock.py, never a second copy of
    its rules in SQL."""
    clocks = lead_clocks(
        session,
        now=now,
        lead_ids=base,
        reps=_reps(session, f, scope),
        assigned_since=now - timedelta(days=f.days) if f.days else None,
    )
    return [c.lead_id for c in clocks if f.sla is None or matches(c.clock, f.sla, now=now)]


def _reps(session: Session, f: LeadFilter, scope: Scope) -> frozenset[int] | None:
    """Whose clocks: the rep asked for, a team's reps, and never anyone outside the viewer's people
    (as the report counts only theirs)."""
    reps = None if scope.everything else scope.users
    if f.rep:
        reps = frozenset({f.rep}) if reps is None else reps & {f.rep}
    if f.rep_team:
        team = frozenset(session.scalars(sa.select(User.id).where(User.team_id == f.rep_team)))
        reps = team if reps is None else reps & team
    return reps


EXPORT_HEADER = [
    "id",
    "account_id",
    "account",
    "domain",
    "product",
    "stage",
    "owner",
    "grade",
    "score",
    "opened_at",
    "last_activity_at",
    "activities",
    "contacts",
    "sla_due_at",
    "sla_breached_at",
]


def export_leads(
    session: Session,
    f: LeadFilter,
    *,
    now: datetime,
    half_life_days: float = 30.0,
    scope: Scope = EVERYTHING,
    ids: list[int] | None = None,
) -> Iterator[tuple[Any, ...]]:
    """The leads of a filter (or the ticked ones), in the list's order, at most EXPORT_LIMIT."""
    f = f.clean()
    base = (
        _with_sla(session, _leads(f, scope), f, now=now, scope=scope)
        if ids is None
        else _leads(LeadFilter(stage=None), scope).where(Lead.id.in_(ids))
    )
    order = SORTS[f.sort]
    stmt = (
        base.with_only_columns(
            Lead.id,
            Lead.account_id,
            Account.name,
            Account.domain,
            Lead.product,
            Lead.stage,
            sa.func.coalesce(User.name, Team.name, Partner.name),
            Lead.grade,
            Lead.engagement_s,
            Lead.engagement_t0,
            Lead.opened_at,
            Lead.last_activity_at,
            Lead.activity_count,
            Lead.contact_count,
            Lead.sla_due_at,
            Lead.sla_breached_at,
        )
        .order_by(order.asc() if f.dir == "asc" else order.desc(), Lead.id.desc())
        .limit(EXPORT_LIMIT)
    )
    rate, at = decay_rate(half_life_days), epoch(now)
    for r in session.execute(stmt).yield_per(500):
        score = round(Decaying(r[8], r[9]).current(at, rate), 2)
        yield (*r[:8], score, *r[10:])


@dataclass(frozen=True)
class Assignee:
    id: int
    name: str


def assignable(session: Session, scope: Scope) -> list[Assignee]:
    """The active reps and managers a bulk "Assign to…" may hand leads to: everyone in sales for an
    admin, the people under a manager for a manager. The reassign use case decides for good."""
    stmt = sa.select(User.id, User.name).where(User.active, User.role.in_(("rep", "manager")))
    if not scope.everything:
        stmt = stmt.where(User.id.in_(scope.users or {-1}))
    return [Assignee(i, n) for i, n in session.execute(stmt.order_by(User.name))]


@dataclass
class LeadView:
    lead: Lead
    account: Account
    owner: str


def lead_view(session: Session, lead_id: int, scope: Scope = EVERYTHING) -> LeadView:
    require_visible(session, scope, Lead, lead_id)
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"there is no lead #{lead_id}")
    account = session.get_one(Account, lead.account_id)
    if lead.owner_user_id:
        owner = session.get_one(User, lead.owner_user_id).name
    elif lead.owner_team_id:
        owner = session.get_one(Team, lead.owner_team_id).name + " (queue)"
    else:
        owner = session.get_one(Partner, lead.owner_partner_id).name + " (partner)"
    return LeadView(lead, account, owner)
