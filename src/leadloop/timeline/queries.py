"""A person's or an account's page: the record and its activity timeline, newest first."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.access.model import EVERYTHING, Scope
from leadloop.access.repository import person_clause, require_visible
from leadloop.core.errors import NotFound
from leadloop.store.tables import Account, Activity, Campaign, Lead, Opportunity, Person, WebPageView

TIMELINE_PAGE = 100


@dataclass
class TimelineItem:
    id: int
    type: str
    occurred_at: Any
    channel: str | None
    direction: str | None
    campaign: str | None
    product: str | None
    url: str | None
    source: str
    person_id: int | None
    person: str | None
    payload: dict[str, Any]
    pages: list[tuple[Any, str, str | None]] = field(default_factory=list)  # a visit's pages (at, url, title)


MAX_VISIT_PAGES = 50


def _with_pages(session: Session, items: list[TimelineItem]) -> list[TimelineItem]:
    """A website visit is one activity per kind of page; the pages themselves come from the page views."""
    keys = {
        str(t.payload["session"]) for t in items if isinstance(t.payload, dict) and t.payload.get("session")
    }
    if not keys:
        return items
    pages: dict[str, list[tuple[Any, str, str | None]]] = {}
    for key, kind, at, url, title in session.execute(
        sa.select(
            WebPageView.session_key, WebPageView.kind, WebPageView.at, WebPageView.url, WebPageView.title
        )
        .where(WebPageView.session_key.in_(keys))
        .order_by(WebPageView.at, WebPageView.id)
    ):
        got = pages.setdefault(f"{key}\x00{kind}", [])
        if len(got) < MAX_VISIT_PAGES:
            got.append((at, url, title))
    for t in items:
        if isinstance(t.payload, dict) and t.payload.get("session"):
            t.pages = pages.get(f"{t.payload['session']}\x00{t.type}", [])
    return items


def _timeline(session: Session, where: Any, before: int | None) -> tuple[list[TimelineItem], int | None]:
    stmt = (
        sa.select(
            Activity.id,
            Activity.type,
            Activity.occurred_at,
            Activity.channel,
            Activity.direction,
            Campaign.name.label("campaign"),
            Activity.product,
            Activity.url,
            Activity.source,
            Activity.person_id,
            sa.func.coalesce(Person.email, Person.last_name, Person.phone).label("person"),
            Activity.payload,
        )
        .outerjoin(Campaign, Campaign.id == Activity.campaign_id)
        .outerjoin(Person, Person.id == Activity.person_id)
        .where(where)
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        .limit(TIMELINE_PAGE + 1)
    )
    if before is not None:
        pivot = session.get(Activity, before)
        if pivot is not None:
            stmt = stmt.where(
                sa.or_(
                    Activity.occurred_at < pivot.occurred_at,
                    sa.and_(Activity.occurred_at == pivot.occurred_at, Activity.id < pivot.id),
                )
            )
    items = _with_pages(session, [TimelineItem(**r._asdict()) for r in session.execute(stmt)])
    older = items[TIMELINE_PAGE - 1].id if len(items) > TIMELINE_PAGE else None
    return items[:TIMELINE_PAGE], older


@dataclass
class PersonView:
    person: Person
    account: Account | None
    timeline: list[TimelineItem]
    older: int | None
    leads: list[Lead]
    activity_total: int


def person_view(
    session: Session, person_id: int, *, before: int | None = None, scope: Scope = EVERYTHING
) -> PersonView:
    require_visible(session, scope, Person, person_id)
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"there is no person #{person_id}")
    account = session.get(Account, person.account_id) if person.account_id else None
    timeline, older = _timeline(session, Activity.person_id == person_id, before)
    leads = (
        list(session.scalars(sa.select(Lead).where(Lead.account_id == person.account_id)).all())
        if account
        else []
    )
    total = (
        session.scalar(
            sa.select(sa.func.count()).select_from(Activity).where(Activity.person_id == person_id)
        )
        or 0
    )
    return PersonView(person, account, timeline, older, leads, total)


@dataclass
class AccountView:
    account: Account
    parent: Account | None
    people: list[Person]
    leads: list[Lead]
    opportunities: list[Opportunity]
    timeline: list[TimelineItem]
    older: int | None
    activity_total: int


def account_view(
    session: Session, account_id: int, *, before: int | None = None, scope: Scope = EVERYTHING
) -> AccountView:
    require_visible(session, scope, Account, account_id)
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"there is no account #{account_id}")
    parent = session.get(Account, account.parent_id) if account.parent_id else None
    people = list(
        session.scalars(
            sa.select(Person)
            .where(Person.account_id == account_id, Person.merged_into_id.is_(None))
            .order_by(Person.last_name)
            .limit(500)
        ).all()
    )
    leads = list(session.scalars(sa.select(Lead).where(Lead.account_id == account_id)).all())
    opps = list(
        session.scalars(
            sa.select(Opportunity)
            .where(Opportunity.account_id == account_id)
            .order_by(Opportunity.created_at.desc())
        ).all()
    )
    timeline, older = _timeline(session, Activity.account_id == account_id, before)
    total = (
        session.scalar(
            sa.select(sa.func.count()).select_from(Activity).where(Activity.account_id == account_id)
        )
        or 0
    )
    return AccountView(account, parent, people, leads, opps, timeline, older, total)


def search_people(
    session: Session, q: str, limit: int = 50, *, scope: Scope = EVERYTHING
) -> list[tuple[Person, Account | None]]:
    like = f"%{q.strip().lower()[:200]}%"
    stmt = (
        sa.select(Person, Account)
        .outerjoin(Account, Account.id == Person.account_id)
        .where(
            Person.merged_into_id.is_(None),
            person_clause(scope),
            sa.or_(
                sa.func.lower(Person.email).like(like),
                sa.func.lower(Person.last_name).like(like),
                sa.func.lower(Person.first_name).like(like),
                sa.func.lower(Person.company).like(like),
            ),
        )
        .order_by(Person.id.desc())
        .limit(limit)
    )
    return [(p, a) for p, a in session.execute(stmt).all()]
