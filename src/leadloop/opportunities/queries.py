"""What the pages, the API and the CLI show of opportunities: one with its contact roles and
history, a lead's, and the people a conversion may name. Reads only."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.access.model import Scope
from leadloop.access.repository import visible
from leadloop.core.errors import NotFound
from leadloop.opportunities.model import STAGE_LABELS
from leadloop.store.tables import (
    Account,
    Lead,
    Opportunity,
    OpportunityContact,
    OpportunityStageChange,
    Person,
    User,
)


@dataclass(frozen=True, slots=True)
class RoleView:
    person_id: int
    name: str
    email: str | None
    title: str | None
    role: str | None
    is_primary: bool


@dataclass(frozen=True, slots=True)
class HistoryView:
    at: datetime
    stage: str | None
    outcome: str
    amount: Decimal | None
    currency: str | None
    expected_close_on: date | None
    backwards: bool
    source: str
    by: str | None
    reason: str | None


@dataclass(slots=True)
class OpportunityView:
    id: int
    external_id: str | None
    name: str | None
    account_id: int | None
    account: str | None
    lead_id: int | None
    product: str | None
    stage: str | None
    stage_label: str | None
    outcome: str
    amount: Decimal | None
    currency: str
    created_at: datetime
    closed_at: datetime | None
    expected_close_on: date | None
    lost_reason: str | None
    contacts: list[RoleView] = field(default_factory=list)
    history: list[HistoryView] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["amount"] = str(self.amount) if self.amount is not None else None
        for h in d["history"]:
            h["amount"] = str(h["amount"]) if h["amount"] is not None else None
        return d


def _name(p: Person) -> str:
    return " ".join(x for x in (p.first_name, p.last_name) if x) or p.email or f"person #{p.id}"


def require_seen(session: Session, scope: Scope, opp: Opportunity) -> None:
    """Seen through its lead, or its account when it has no lead; NotFound otherwise."""
    if opp.lead_id is not None:
        seen = visible(session, scope, Lead, opp.lead_id)
    else:
        seen = opp.account_id is not None and visible(session, scope, Account, opp.account_id)
    if not seen:
        raise NotFound(f"there is no opportunity #{opp.id}")


def opportunity(
    session: Session, opportunity_id: int, scope: Scope, *, default_currency: str
) -> OpportunityView:
    opp = session.get(Opportunity, opportunity_id)
    if opp is None:
        raise NotFound(f"there is no opportunity #{opportunity_id}")
    require_seen(session, scope, opp)
    return _view(session, opp, default_currency)


def _view(session: Session, opp: Opportunity, default_currency: str) -> OpportunityView:
    account = session.get(Account, opp.account_id) if opp.account_id is not None else None
    roles = session.execute(
        sa.select(OpportunityContact, Person)
        .join(Person, Person.id == OpportunityContact.person_id)
        .where(OpportunityContact.opportunity_id == opp.id)
        .order_by(OpportunityContact.is_primary.desc(), OpportunityContact.id)
    ).all()
    history = session.execute(
        sa.select(OpportunityStageChange, User.name)
        .outerjoin(User, User.id == OpportunityStageChange.by_user_id)
        .where(OpportunityStageChange.opportunity_id == opp.id)
        .order_by(OpportunityStageChange.at, OpportunityStageChange.id)
    ).all()
    return OpportunityView(
        id=opp.id,
        external_id=opp.external_id,
        name=opp.name,
        account_id=opp.account_id,
        account=account.name if account else None,
        lead_id=opp.lead_id,
        product=opp.product,
        stage=opp.stage,
        stage_label=STAGE_LABELS.get(opp.stage or "", opp.stage),
        outcome=opp.outcome,
        amount=opp.amount,
        currency=opp.currency or default_currency,
        created_at=opp.created_at,
        closed_at=opp.closed_at,
        expected_close_on=opp.expected_close_on,
        lost_reason=opp.lost_reason,
        contacts=[RoleView(p.id, _name(p), p.email, p.title, r.role, r.is_primary) for r, p in roles],
        history=[
            HistoryView(
                h.at,
                h.stage,
                h.outcome,
                h.amount,
                h.currency or default_currency,
                h.expected_close_on,
                h.backwards,
                h.source,
                by,
                h.reason,
            )
            for h, by in history
        ],
    )


def of_lead(session: Session, lead_id: int, *, default_currency: str) -> list[OpportunityView]:
    """The lead's opportunities, open first, newest first (the caller checked the lead is seen)."""
    opps = session.scalars(
        sa.select(Opportunity)
        .where(Opportunity.lead_id == lead_id)
        .order_by(
            (Opportunity.outcome == "open").desc(), Opportunity.created_at.desc(), Opportunity.id.desc()
        )
    ).all()
    return [_view(session, o, default_currency) for o in opps]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A person of the lead's account, as the conversion form lists them (most active first)."""

    id: int
    name: str
    email: str | None
    title: str | None


def candidates(session: Session, account_id: int, *, limit: int = 50) -> list[Candidate]:
    people = session.scalars(
        sa.select(Person)
        .where(Person.account_id == account_id, Person.merged_into_id.is_(None))
        .order_by(Person.engagement_key.desc(), Person.id)
        .limit(limit)
    ).all()
    return [Candidate(p.id, _name(p), p.email, p.title) for p in people]
