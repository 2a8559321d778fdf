"""What the partner portal and the channel manager read. Every query of a partner's is filtered by
the partner organisation in SQL (row level), never in a template."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.lifecycle.model import Stage
from leadloop.partners.model import Handoff, Scorecard, scorecards
from leadloop.scoring.deal_value import Currency
from leadloop.store.tables import (
    Account,
    DealRegistration,
    Lead,
    LeadStageChange,
    Opportunity,
    Partner,
    Person,
    RoutingDecision,
)

SHOWN_STAGES = (Stage.MQL, Stage.HANDED_OVER, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY, Stage.WON, Stage.LOST)


@dataclass
class Contact:
    name: str
    title: str | None
    email: str | None
    phone: str | None


@dataclass
class PartnerLead:
    id: int
    account: str
    domain: str | None
    country: str | None
    product: str
    stage: str
    grade: str | None
    assigned_at: datetime | None
    accept_due_at: datetime | None
    first_touch_at: datetime | None
    contacts: list[Contact] = field(default_factory=list)


def partner_leads(session: Session, partner_id: int, *, lead_id: int | None = None) -> list[PartnerLead]:
    """The partner's leads with the contact details needed to act, and nothing else of the warehouse."""
    stmt = (
        sa.select(Lead, Account)
        .join(Account, Account.id == Lead.account_id)
        .where(Lead.owner_partner_id == partner_id, Lead.stage.in_([s.value for s in SHOWN_STAGES]))
        .order_by(Lead.assigned_at.desc().nulls_last(), Lead.id.desc())
    )
    if lead_id is not None:
        stmt = stmt.where(Lead.id == lead_id)
    rows = session.execute(stmt.limit(500)).all()
    people: dict[int, list[Contact]] = {}
    if rows:
        for p in session.scalars(
            sa.select(Person)
            .where(Person.account_id.in_({a.id for _, a in rows}), Person.merged_into_id.is_(None))
            .order_by(Person.id)
        ):
            name = " ".join(x for x in (p.first_name, p.last_name) if x) or (p.email or "")
            people.setdefault(p.account_id or 0, []).append(Contact(name, p.title, p.email, p.phone))
    return [
        PartnerLead(
            lead.id,
            account.name,
            account.domain,
            account.country,
            lead.product,
            lead.stage,
            lead.grade,
            lead.assigned_at,
            lead.sla_due_at if lead.stage in (Stage.MQL, Stage.HANDED_OVER) else None,
            lead.first_touch_at,
            people.get(account.id, [])[:10],
        )
        for lead, account in rows
    ]


def partner_deals(session: Session, partner_id: int | None = None) -> Sequence[DealRegistration]:
    stmt = sa.select(DealRegistration).order_by(
        DealRegistration.created_at.desc(), DealRegistration.id.desc()
    )
    if partner_id is not None:
        stmt = stmt.where(DealRegistration.partner_id == partner_id)
    return session.scalars(stmt.limit(500)).all()


def partner_names(session: Session) -> dict[int, str]:
    return {i: n for i, n in session.execute(sa.select(Partner.id, Partner.name))}


def scorecard(
    session: Session, *, since: datetime | None = None, currency: Currency | None = None
) -> list[Scorecard]:
    """Every partner's record from the routing audit and the leads: what they received, accepted
    (and how fast), handed back, missed, won and lost. Revenue is in `currency.into`; a won amount
    in a currency without a rate is left out and counted, not added as if it were the same money."""
    money = currency or Currency()
    partners = [(p.id, p.name, p.tier) for p in session.scalars(sa.select(Partner).order_by(Partner.name))]
    stmt = sa.select(
        RoutingDecision.id, RoutingDecision.lead_id, RoutingDecision.owner_partner_id, RoutingDecision.at
    ).where(RoutingDecision.owner_partner_id.is_not(None))
    if since is not None:
        stmt = stmt.where(RoutingDecision.at >= since)
    handed = session.execute(stmt.order_by(RoutingDecision.id)).all()
    if not handed:
        return scorecards(partners, [])
    lead_ids = {h.lead_id for h in handed}
    # What became of each hand-off: the next routing of the same lead says why it left the partner.
    after: dict[int, list[tuple[int, str]]] = {}
    for decision_id, lead_id, reason in session.execute(
        sa.select(RoutingDecision.id, RoutingDecision.lead_id, RoutingDecision.reason)
        .where(RoutingDecision.lead_id.in_(lead_ids))
        .order_by(RoutingDecision.id)
    ):
        after.setdefault(lead_id, []).append((decision_id, reason))
    accepted = {
        (lead_id, by): at
        for lead_id, at, by in session.execute(
            sa.select(LeadStageChange.lead_id, LeadStageChange.at, LeadStageChange.owner_partner_id).where(
                LeadStageChange.lead_id.in_(lead_ids), LeadStageChange.trigger == "accepted"
            )
        )
    }
    won: dict[int, Decimal] = {}
    unconverted: dict[int, int] = {}
    lost: set[int] = set()
    for opp_lead, outcome, amount, in_currency in session.execute(
        sa.select(Opportunity.lead_id, Opportunity.outcome, Opportunity.amount, Opportunity.currency).where(
            Opportunity.lead_id.in_(lead_ids)
        )
    ):
        if opp_lead is None:
            continue
        if outcome == "won":
            value = money.exact(amount or Decimal(0), in_currency)
            if value is None:
                unconverted[opp_lead] = unconverted.get(opp_lead, 0) + 1
                value = Decimal(0)
            won[opp_lead] = won.get(opp_lead, Decimal(0)) + value.quantize(Decimal("0.01"))
        elif outcome == "lost":
            lost.add(opp_lead)
    owner_now = {
        i: pid
        for i, pid in session.execute(sa.select(Lead.id, Lead.owner_partner_id).where(Lead.id.in_(lead_ids)))
    }
    handoffs = []
    for h in handed:
        later = [r for i, r in after.get(h.lead_id, []) if i > h.id]
        if (h.lead_id, h.owner_partner_id) in accepted:
            outcome = "accepted"
        elif later and later[0] == "partner_rejected":
            outcome = "rejected"
        elif later and later[0] == "partner_missed":
            outcome = "missed"
        else:
            outcome = "pending"
        still = owner_now.get(h.lead_id) == h.owner_partner_id
        handoffs.append(
            Handoff(
                h.owner_partner_id,
                h.lead_id,
                h.at,
                accepted.get((h.lead_id, h.owner_partner_id)),
                outcome,
                won.get(h.lead_id) if still else None,
                h.lead_id in lost and still,
            )
        )
    cards = scorecards(partners, handoffs)
    left_out: dict[int, int] = {}
    for handoff in handoffs:
        if handoff.won_amount is not None:
            partner = handoff.partner_id
            left_out[partner] = left_out.get(partner, 0) + unconverted.get(handoff.lead_id, 0)
    for card in cards:
        card.currency, card.revenue_left_out = money.into, left_out.get(card.partner_id, 0)
    return cards


def as_json(lead: PartnerLead) -> dict[str, Any]:
    return {
        "id": lead.id,
        "account": lead.account,
        "domain": lead.domain,
        "country": lead.country,
        "product": lead.product,
        "stage": lead.stage,
        "grade": lead.grade,
        "assigned_at": lead.assigned_at,
        "accept_due_at": lead.accept_due_at,
        "first_touch_at": lead.first_touch_at,
        "contacts": [c.__dict__ for c in lead.contacts],
    }
