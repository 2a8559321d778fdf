"""The people and accounts lists: filter, page and export, within the viewer's scope."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.access.model import EVERYTHING, Scope
from leadloop.access.repository import account_clause, person_clause
from leadloop.lifecycle.model import OPEN
from leadloop.lists.model import DEFAULT_PAGE_SIZE, EXPORT_LIMIT, Paging, page_size, query_string
from leadloop.search.queries import accounts_match, people_match
from leadloop.segments.queries import member_accounts, people_in
from leadloop.store.tables import Account, Lead, Person, User

OPEN_STAGES = tuple(sorted(OPEN))


def _short(value: str | None, n: int = 100) -> str | None:
    return (value or "").strip()[:n] or None


def _segment(value: int | None) -> int | None:
    return value if value and 0 < value < 2**31 else None


@dataclass(frozen=True)
class PeopleFilter:
    q: str | None = None
    country: str | None = None
    seniority: str | None = None
    page: int = 1
    per_page: int = DEFAULT_PAGE_SIZE
    segment: int | None = None  # a segment's id: its members only (segments/)

    def clean(self) -> PeopleFilter:
        country = (self.country or "").strip().upper()
        return PeopleFilter(
            _short(self.q, 200),
            country if len(country) == 2 and country.isalpha() else None,
            _short(self.seniority, 50),
            max(1, self.page),
            page_size(self.per_page),
            _segment(self.segment),
        )

    def query(self, **change: Any) -> str:
        """This filter as a query string (page left out unless changed)."""
        values = {
            "q": self.q,
            "country": self.country,
            "seniority": self.seniority,
            "segment": self.segment,
            "per_page": self.per_page,
        }
        return query_string(values | change)


@dataclass
class Listing:
    rows: list[Any]
    paging: Paging
    choices: dict[str, list[str]] = field(default_factory=dict)  # filter -> values on offer


def _people(f: PeopleFilter, scope: Scope) -> sa.Select[Any]:
    stmt = (
        sa.select(Person.id)
        .outerjoin(Account, Account.id == Person.account_id)
        .where(Person.merged_into_id.is_(None), person_clause(scope))
    )
    if f.q:
        stmt = stmt.where(people_match(f.q))
    if f.country:
        stmt = stmt.where(Person.country == f.country)
    if f.seniority:
        stmt = stmt.where(Person.seniority == f.seniority)
    if f.segment:
        stmt = stmt.where(people_in(f.segment))
    return stmt


PEOPLE_COLUMNS = (
    Person.id,
    Person.first_name,
    Person.last_name,
    Person.email,
    Person.title,
    Person.phone,
    Person.country,
    Account.id.label("account_id"),
    Account.name.label("account"),
    Person.created_at,
)
PEOPLE_HEADER = [
    "id",
    "first_name",
    "last_name",
    "email",
    "title",
    "phone",
    "country",
    "account_id",
    "account",
    "created_at",
]


def list_people(session: Session, f: PeopleFilter, *, scope: Scope = EVERYTHING) -> Listing:
    f = f.clean()
    base = _people(f, scope)
    total = session.scalar(sa.select(sa.func.count()).select_from(base.subquery())) or 0
    paging = Paging.of(total, f.page, f.per_page)
    rows = (
        session.execute(
            base.with_only_columns(*PEOPLE_COLUMNS)
            .order_by(Person.id.desc())
            .limit(paging.per_page)
            .offset(paging.offset)
        ).all()
        if not paging.beyond_last
        else []
    )
    seniorities = [
        s for s in session.scalars(sa.select(Person.seniority).distinct().order_by(Person.seniority)) if s
    ]
    return Listing(list(rows), paging, {"seniority": seniorities[:50]})


def export_people(
    session: Session, f: PeopleFilter, *, scope: Scope = EVERYTHING, ids: list[int] | None = None
) -> Iterator[tuple[Any, ...]]:
    stmt = (
        _people(f.clean(), scope) if ids is None else _people(PeopleFilter(), scope).where(Person.id.in_(ids))
    )
    rows = stmt.with_only_columns(*PEOPLE_COLUMNS).order_by(Person.id.desc()).limit(EXPORT_LIMIT)
    yield from (tuple(r) for r in session.execute(rows).yield_per(500))


@dataclass(frozen=True)
class AccountFilter:
    q: str | None = None
    country: str | None = None
    industry: str | None = None
    with_leads: str | None = None  # "open": only accounts with an open lead
    page: int = 1
    per_page: int = DEFAULT_PAGE_SIZE
    segment: int | None = None  # accounts with a member of this segment

    def clean(self) -> AccountFilter:
        country = (self.country or "").strip().upper()
        return AccountFilter(
            _short(self.q, 200),
            country if len(country) == 2 and country.isalpha() else None,
            _short(self.industry, 200),
            "open" if self.with_leads == "open" else None,
            max(1, self.page),
            page_size(self.per_page),
            _segment(self.segment),
        )

    def query(self, **change: Any) -> str:
        values = {
            "q": self.q,
            "country": self.country,
            "industry": self.industry,
            "with_leads": self.with_leads,
            "segment": self.segment,
            "per_page": self.per_page,
        }
        return query_string(values | change)


def _accounts(f: AccountFilter, scope: Scope) -> sa.Select[Any]:
    stmt = (
        sa.select(Account.id)
        .outerjoin(User, User.id == Account.owner_user_id)
        .where(Account.merged_into_id.is_(None), account_clause(scope))
    )
    if f.q:
        stmt = stmt.where(accounts_match(f.q))
    if f.country:
        stmt = stmt.where(Account.country == f.country)
    if f.industry:
        stmt = stmt.where(Account.industry == f.industry)
    if f.with_leads == "open":
        stmt = stmt.where(Account.id.in_(sa.select(Lead.account_id).where(Lead.stage.in_(OPEN_STAGES))))
    if f.segment:
        stmt = stmt.where(Account.id.in_(member_accounts(f.segment)))
    return stmt


ACCOUNT_COLUMNS = (
    Account.id,
    Account.name,
    Account.domain,
    Account.industry,
    Account.country,
    Account.employees,
    User.name.label("owner"),
)
ACCOUNT_HEADER = ["id", "name", "domain", "industry", "country", "employees", "owner"]


@dataclass(frozen=True)
class AccountRow:
    id: int
    name: str
    domain: str | None
    industry: str | None
    country: str | None
    employees: int | None
    owner: str | None
    people: int = 0
    open_leads: int = 0


def list_accounts(session: Session, f: AccountFilter, *, scope: Scope = EVERYTHING) -> Listing:
    f = f.clean()
    base = _accounts(f, scope)
    total = session.scalar(sa.select(sa.func.count()).select_from(base.subquery())) or 0
    paging = Paging.of(total, f.page, f.per_page)
    found = (
        session.execute(
            base.with_only_columns(*ACCOUNT_COLUMNS)
            .order_by(Account.name, Account.id)
            .limit(paging.per_page)
            .offset(paging.offset)
        ).all()
        if not paging.beyond_last
        else []
    )
    ids = [r.id for r in found]
    people = dict(
        session.execute(
            sa.select(Person.account_id, sa.func.count())
            .where(Person.account_id.in_(ids), Person.merged_into_id.is_(None))
            .group_by(Person.account_id)
        ).all()
    )
    leads = dict(
        session.execute(
            sa.select(Lead.account_id, sa.func.count())
            .where(Lead.account_id.in_(ids), Lead.stage.in_(OPEN_STAGES))
            .group_by(Lead.account_id)
        ).all()
    )
    rows = [AccountRow(*r, people=people.get(r.id, 0), open_leads=leads.get(r.id, 0)) for r in found]
    industries = [
        i for i in session.scalars(sa.select(Account.industry).distinct().order_by(Account.industry)) if i
    ]
    return Listing(rows, paging, {"industry": industries[:100]})


def export_accounts(
    session: Session, f: AccountFilter, *, scope: Scope = EVERYTHING, ids: list[int] | None = None
) -> Iterator[tuple[Any, ...]]:
    base = (
        _accounts(f.clean(), scope)
        if ids is None
        else _accounts(AccountFilter(), scope).where(Account.id.in_(ids))
    )
    rows = base.with_only_columns(*ACCOUNT_COLUMNS).order_by(Account.name, Account.id).limit(EXPORT_LIMIT)
    yield from (tuple(r) for r in session.execute(rows).yield_per(500))
