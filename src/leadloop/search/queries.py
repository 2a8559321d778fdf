"""Search that folds accents and case on both sides (core/fold.py; `ll_fold` in SQL), and only
ever finds what the searcher's scope shows (access/)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.access.model import EVERYTHING, Scope
from leadloop.access.repository import account_clause, lead_clause, person_clause
from leadloop.core.fold import like_pattern
from leadloop.core.labels import label
from leadloop.store.tables import Account, Lead, Person

MAX_TERMS = 6
MAX_TERM = 100


def terms(q: str | None) -> list[str]:
    """Words of a search, each matched on its own ("muller jurgen" finds Jürgen Müller)."""
    return [t[:MAX_TERM] for t in (q or "").split()][:MAX_TERMS]


def _folded(*cols: Any) -> Any:
    text: Any = sa.func.coalesce(cols[0], "")
    for c in cols[1:]:
        text = text + " " + sa.func.coalesce(c, "")
    return sa.func.ll_fold(text)


def person_text() -> Any:
    return _folded(Person.first_name, Person.last_name, Person.email, Person.company, Person.title)


def account_text() -> Any:
    return _folded(Account.name, Account.domain)


def _like(expr: Any, term: str) -> sa.ColumnElement[bool]:
    matched: sa.ColumnElement[bool] = expr.like(like_pattern(term), escape="\\")
    return matched


def phone_digits(q: str | None) -> str | None:
    """The digits to look for when the whole search is a phone number as people type one
    ('020 7946 0958', '+44 20 7946 0958'): phones are stored in E.164 ('+442079460958'), so a
    national number's leading 0 is dropped. None when it is not a phone number."""
    compact = re.sub(r"[\s\-().]", "", q or "")
    if not re.fullmatch(r"\+?\d{6,15}", compact):
        return None
    return compact[1:] if compact.startswith("+") else compact.lstrip("0")


def people_match(q: str | None) -> sa.ColumnElement[bool]:
    words = sa.and_(sa.true(), *(_like(person_text(), t) for t in terms(q)))
    digits = phone_digits(q)
    return words if digits is None else sa.or_(words, Person.phone.like(f"%{digits}%"))


def accounts_match(q: str | None) -> sa.ColumnElement[bool]:
    return sa.and_(sa.true(), *(_like(account_text(), t) for t in terms(q)))


def leads_match(q: str | None) -> sa.ColumnElement[bool]:
    """A lead is found by its account's name or domain, or by a contact's name, e-mail or title;
    each word in either. The query must join Account to Lead."""
    clauses = []
    for t in terms(q):
        contact = sa.select(Person.account_id).where(
            Person.merged_into_id.is_(None), Person.account_id.is_not(None), _like(person_text(), t)
        )
        clauses.append(sa.or_(_like(account_text(), t), Lead.account_id.in_(contact)))
    return sa.and_(sa.true(), *clauses)


@dataclass(frozen=True)
class Hit:
    kind: str  # person | account | lead
    id: int
    label: str
    detail: str
    url: str


@dataclass
class Found:
    q: str
    people: list[Hit] = field(default_factory=list)
    accounts: list[Hit] = field(default_factory=list)
    leads: list[Hit] = field(default_factory=list)
    more: dict[str, bool] = field(default_factory=dict)  # kind -> there are more than shown

    @property
    def empty(self) -> bool:
        return not (self.people or self.accounts or self.leads)

    def as_dict(self) -> dict[str, Any]:
        def rows(hits: list[Hit]) -> list[dict[str, Any]]:
            return [{"id": h.id, "label": h.label, "detail": h.detail, "url": h.url} for h in hits]

        return {
            "q": self.q,
            "people": rows(self.people),
            "accounts": rows(self.accounts),
            "leads": rows(self.leads),
            "more": self.more,
        }


def _name(first: str | None, last: str | None, email: str | None) -> str:
    return " ".join(p for p in (first, last) if p) or email or "(no name)"


def search(session: Session, q: str, *, scope: Scope = EVERYTHING, limit: int = 8) -> Found:
    found = Found(q)
    if not terms(q):
        return found
    people = session.execute(
        sa.select(Person.id, Person.first_name, Person.last_name, Person.email, Person.title, Account.name)
        .outerjoin(Account, Account.id == Person.account_id)
        .where(Person.merged_into_id.is_(None), person_clause(scope), people_match(q))
        .order_by(Person.last_name, Person.first_name, Person.id)
        .limit(limit + 1)
    ).all()
    found.people = [
        Hit("person", i, _name(f, la, e), " · ".join(x for x in (t, a, e) if x), f"/people/{i}")
        for i, f, la, e, t, a in people[:limit]
    ]
    accounts = session.execute(
        sa.select(Account.id, Account.name, Account.domain, Account.country)
        .where(Account.merged_into_id.is_(None), account_clause(scope), accounts_match(q))
        .order_by(Account.name, Account.id)
        .limit(limit + 1)
    ).all()
    found.accounts = [
        Hit("account", i, n, " · ".join(x for x in (d, c) if x), f"/accounts/{i}")
        for i, n, d, c in accounts[:limit]
    ]
    leads = session.execute(
        sa.select(Lead.id, Account.name, Lead.product, Lead.stage)
        .join(Account, Account.id == Lead.account_id)
        .where(Lead.stage != "merged", lead_clause(scope), leads_match(q))
        .order_by(Lead.engagement_key.desc(), Lead.id)
        .limit(limit + 1)
    ).all()
    found.leads = [Hit("lead", i, f"{n} · {p}", label(s), f"/leads/{i}") for i, n, p, s in leads[:limit]]
    found.more = {
        "people": len(people) > limit,
        "accounts": len(accounts) > limit,
        "leads": len(leads) > limit,
    }
    return found
