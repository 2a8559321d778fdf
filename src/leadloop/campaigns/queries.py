"""Campaigns with what came of them, counted within the viewer's scope.

Members are the people with an activity in the campaign (or who came in through it); its leads are
the leads that name it, and the leads of the accounts it touched; its opportunities are those of
the accounts it touched. A touch is influence, not sole credit: attribution models come with the
closed-loop work."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.access.model import EVERYTHING, Scope
from leadloop.access.repository import account_clause, lead_clause, person_clause
from leadloop.campaigns.model import STATUSES, cost_per, status
from leadloop.core.errors import NotFound
from leadloop.core.fold import like_pattern
from leadloop.lists.model import DEFAULT_PAGE_SIZE, EXPORT_LIMIT, Paging, page_size, query_string
from leadloop.search.queries import terms
from leadloop.store.tables import Account, Activity, Campaign, Lead, Opportunity, Person


@dataclass(frozen=True)
class CampaignFilter:
    q: str | None = None
    channel: str | None = None
    status: str | None = None
    page: int = 1
    per_page: int = DEFAULT_PAGE_SIZE

    def clean(self) -> CampaignFilter:
        return CampaignFilter(
            (self.q or "").strip()[:200] or None,
            (self.channel or "").strip()[:50] or None,
            self.status if self.status in STATUSES else None,
            max(1, self.page),
            page_size(self.per_page),
        )

    def query(self, **change: Any) -> str:
        values = {"q": self.q, "channel": self.channel, "status": self.status, "per_page": self.per_page}
        return query_string(values | change)


@dataclass
class CampaignRow:
    id: int
    name: str
    channel: str | None
    status: str
    cost: Decimal | None
    started_at: datetime | None
    ended_at: datetime | None
    members: int = 0
    leads: int = 0
    opportunities: int = 0
    won: int = 0
    won_amount: Decimal = Decimal(0)

    @property
    def cost_per_lead(self) -> Decimal | None:
        return cost_per(self.cost, self.leads)


def _base(f: CampaignFilter, now: datetime) -> sa.Select[Any]:
    stmt = sa.select(Campaign.id)
    for t in terms(f.q):
        stmt = stmt.where(sa.func.ll_fold(Campaign.name).like(like_pattern(t), escape="\\"))
    if f.channel:
        stmt = stmt.where(Campaign.channel == f.channel)
    if f.status == "planned":
        stmt = stmt.where(Campaign.started_at > now)
    elif f.status == "ended":
        stmt = stmt.where(
            Campaign.ended_at < now, sa.or_(Campaign.started_at.is_(None), Campaign.started_at <= now)
        )
    elif f.status == "active":
        stmt = stmt.where(
            sa.or_(Campaign.started_at.is_(None), Campaign.started_at <= now),
            sa.or_(Campaign.ended_at.is_(None), Campaign.ended_at >= now),
        )
    return stmt


def _touched(ids: list[int]) -> Any:
    """(campaign_id, account_id) of every account a campaign's activities touched."""
    return (
        sa.select(Activity.campaign_id.label("campaign_id"), Activity.account_id.label("account_id"))
        .where(Activity.campaign_id.in_(ids), Activity.account_id.is_not(None))
        .distinct()
        .subquery()
    )


def _lead_pairs(ids: list[int], scope: Scope) -> Any:
    touched = _touched(ids)
    via_touch = (
        sa.select(touched.c.campaign_id, Lead.id.label("lead_id"))
        .join(Lead, Lead.account_id == touched.c.account_id)
        .where(Lead.stage != "merged", lead_clause(scope))
    )
    named = sa.select(Lead.campaign_id.label("campaign_id"), Lead.id.label("lead_id")).where(
        Lead.campaign_id.in_(ids), Lead.stage != "merged", lead_clause(scope)
    )
    return sa.union(via_touch, named).subquery()


def _counts(session: Session, ids: list[int], scope: Scope) -> dict[str, dict[int, Any]]:
    if not ids:
        return {}
    members: dict[int, Any] = dict(
        session.execute(  # type: ignore[arg-type]
            sa.select(Activity.campaign_id, sa.func.count(sa.distinct(Activity.person_id)))
            .join(Person, Person.id == Activity.person_id)
            .where(Activity.campaign_id.in_(ids), person_clause(scope))
            .group_by(Activity.campaign_id)
        ).all()
    )
    pairs = _lead_pairs(ids, scope)
    leads: dict[int, Any] = dict(
        session.execute(
            sa.select(pairs.c.campaign_id, sa.func.count(sa.distinct(pairs.c.lead_id))).group_by(
                pairs.c.campaign_id
            )
        ).all()
    )
    touched = _touched(ids)
    opps: dict[int, Any] = {}
    for cid, n, won, amount in session.execute(
        sa.select(
            touched.c.campaign_id,
            sa.func.count(sa.distinct(Opportunity.id)),
            sa.func.count(sa.distinct(sa.case((Opportunity.outcome == "won", Opportunity.id)))),
            sa.func.sum(sa.case((Opportunity.outcome == "won", Opportunity.amount), else_=0)),
        )
        .join(Opportunity, Opportunity.account_id == touched.c.account_id)
        .join(Account, Account.id == Opportunity.account_id)
        .where(account_clause(scope))
        .group_by(touched.c.campaign_id)
    ).all():
        opps[cid] = (n, won, Decimal(amount or 0))
    return {"members": members, "leads": leads, "opps": opps}


def _rows(session: Session, stmt: sa.Select[Any], scope: Scope, now: datetime) -> list[CampaignRow]:
    found = session.execute(
        stmt.with_only_columns(
            Campaign.id,
            Campaign.name,
            Campaign.channel,
            Campaign.cost,
            Campaign.started_at,
            Campaign.ended_at,
        )
    ).all()
    counts = _counts(session, [r.id for r in found], scope)
    rows = []
    for r in found:
        n, won, amount = counts.get("opps", {}).get(r.id, (0, 0, Decimal(0)))
        rows.append(
            CampaignRow(
                r.id,
                r.name,
                r.channel,
                status(r.started_at, r.ended_at, now),
                r.cost,
                r.started_at,
                r.ended_at,
                counts.get("members", {}).get(r.id, 0),
                counts.get("leads", {}).get(r.id, 0),
                n,
                won,
                amount,
            )
        )
    return rows


@dataclass
class CampaignsPage:
    rows: list[CampaignRow]
    paging: Paging
    channels: list[str] = field(default_factory=list)


def list_campaigns(
    session: Session, f: CampaignFilter, *, now: datetime, scope: Scope = EVERYTHING
) -> CampaignsPage:
    f = f.clean()
    base = _base(f, now)
    total = session.scalar(sa.select(sa.func.count()).select_from(base.subquery())) or 0
    paging = Paging.of(total, f.page, f.per_page)
    ordered = (
        base.order_by(Campaign.started_at.desc(), Campaign.id.desc())
        .limit(paging.per_page)
        .offset(paging.offset)
    )
    rows = [] if paging.beyond_last else _rows(session, ordered, scope, now)
    channels = [
        c for c in session.scalars(sa.select(Campaign.channel).distinct().order_by(Campaign.channel)) if c
    ]
    return CampaignsPage(rows, paging, channels)


CAMPAIGN_HEADER = [
    "id",
    "name",
    "channel",
    "status",
    "cost",
    "started_at",
    "ended_at",
    "members",
    "leads",
    "opportunities",
    "won",
    "won_amount",
]


def export_campaigns(
    session: Session,
    f: CampaignFilter,
    *,
    now: datetime,
    scope: Scope = EVERYTHING,
    ids: list[int] | None = None,
) -> Iterator[tuple[Any, ...]]:
    base = _base(f.clean(), now) if ids is None else _base(CampaignFilter(), now).where(Campaign.id.in_(ids))
    for r in _rows(
        session, base.order_by(Campaign.started_at.desc(), Campaign.id.desc()).limit(EXPORT_LIMIT), scope, now
    ):
        yield (
            r.id,
            r.name,
            r.channel,
            r.status,
            r.cost,
            r.started_at,
            r.ended_at,
            r.members,
            r.leads,
            r.opportunities,
            r.won,
            r.won_amount,
        )


@dataclass
class CampaignView:
    campaign: CampaignRow
    members: list[Any]
    members_paging: Paging
    leads: list[Any]


def campaign_view(
    session: Session, campaign_id: int, *, now: datetime, scope: Scope = EVERYTHING, page: int = 1
) -> CampaignView:
    rows = _rows(session, sa.select(Campaign.id).where(Campaign.id == campaign_id), scope, now)
    if not rows:
        raise NotFound(f"there is no campaign #{campaign_id}; the campaigns list shows them all")
    members = (
        sa.select(
            Person.id,
            Person.first_name,
            Person.last_name,
            Person.email,
            Person.title,
            Account.id.label("account_id"),
            Account.name.label("account"),
            sa.func.min(Activity.occurred_at).label("first_touch"),
            sa.func.count(Activity.id).label("touches"),
        )
        .join(Activity, Activity.person_id == Person.id)
        .outerjoin(Account, Account.id == Person.account_id)
        .where(Activity.campaign_id == campaign_id, person_clause(scope))
        .group_by(
            Person.id,
            Person.first_name,
            Person.last_name,
            Person.email,
            Person.title,
            Account.id,
            Account.name,
        )
    )
    paging = Paging.of(rows[0].members, page, 50)
    found = (
        session.execute(
            members.order_by(sa.text("first_touch DESC"), Person.id).limit(50).offset(paging.offset)
        ).all()
        if not paging.beyond_last
        else []
    )
    pairs = _lead_pairs([campaign_id], scope)
    leads = session.execute(
        sa.select(
            Lead.id,
            Account.id.label("account_id"),
            Account.name.label("account"),
            Lead.product,
            Lead.stage,
            Lead.opened_at,
        )
        .join(Account, Account.id == Lead.account_id)
        .where(Lead.id.in_(sa.select(pairs.c.lead_id)))
        .order_by(Lead.engagement_key.desc(), Lead.id)
        .limit(200)
    ).all()
    return CampaignView(rows[0], list(found), paging, list(leads))
