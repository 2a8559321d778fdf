"""Channel sales use cases: a partner accepts, rejects or reports on the leads routed to their
organisation, registers deals; a channel manager approves or rejects registrations. What other
capabilities do about it (routing again, recording an opportunity, appending a call) are
reactions to the events published here."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.auth.model import Principal, Role
from leadloop.contract.normalise import company_key
from leadloop.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from leadloop.core.events import DealApproved, Event, LeadHandedBack, PartnerReported, TouchLogged
from leadloop.core.reactions import publish
from leadloop.identity.accounts import match_names
from leadloop.jobs.timers import Due, cancel_many, schedule
from leadloop.lifecycle.handlers import move
from leadloop.lifecycle.model import OPEN, Stage, Trigger
from leadloop.partners.model import DEAL_DAYS, PARTNER_ACCEPT, Candidate, Report, conflicts
from leadloop.store.tables import Account, DealRegistration, Lead, Opportunity, Partner, User

DEAL_EXPIRES = "deal_expires"


def partner_of(session: Session, who: Principal) -> Partner:
    user = session.get(User, who.user_id)
    partner = session.get(Partner, user.partner_id) if user is not None and user.partner_id else None
    if who.role is not Role.PARTNER or partner is None:
        raise PermissionDenied("this page is for partner users; ask your channel manager to link your login")
    return partner


def _their_lead(session: Session, who: Principal, lead_id: int) -> tuple[Lead, Partner]:
    """The lead, if it is with the caller's partner organisation; otherwise, not found (whether it
    exists or not: ids are no way to see another partner's leads)."""
    partner = partner_of(session, who)
    lead = session.scalars(
        sa.select(Lead).where(Lead.id == lead_id, Lead.owner_partner_id == partner.id)
    ).first()
    if lead is None:
        raise NotFound(f"there is no lead #{lead_id}")
    return lead, partner


# Waiting to be accepted: a new MQL, or one a BDR qualified and the rules handed to the partner.
NEW = (Stage.MQL, Stage.HANDED_OVER)


def accept(session: Session, who: Principal, lead_id: int, *, now: datetime) -> Lead:
    lead, _ = _their_lead(session, who, lead_id)
    if lead.stage not in NEW:
        raise InvalidInput(
            f"lead #{lead_id} is {lead.stage}; only a new lead (mql, handed over) can be accepted"
        )
    events = move(session, lead, Trigger.ACCEPTED, now=now, by_user_id=who.user_id)
    cancel_many(session, (PARTNER_ACCEPT,), [f"lead:{lead.id}"], now=now)
    publish(session, events, now=now)
    return lead


def reject(session: Session, who: Principal, lead_id: int, reason: str, *, now: datetime) -> None:
    """Not for us: routing finds another owner (never this partner)."""
    lead, partner = _their_lead(session, who, lead_id)
    why = (reason or "").strip()
    if not why:
        raise InvalidInput("reason: say why you hand the lead back")
    if lead.stage not in OPEN:
        raise InvalidInput(f"lead #{lead_id} is {lead.stage}; only an open lead can be handed back")
    publish(session, [LeadHandedBack(lead.id, partner.id, "rejected", why[:300], now)], now=now)


def report(session: Session, who: Principal, lead_id: int, r: Report, *, now: datetime) -> Lead:
    """Contacted, qualified, won (with the amount) or lost (with the reason)."""
    lead, partner = _their_lead(session, who, lead_id)
    if lead.stage in NEW:
        raise InvalidInput(f"accept lead #{lead_id} first, then report on it")
    events: list[Event]
    if r.outcome == "contacted":
        user = session.get(User, who.user_id)
        by = user.email if user else f"partner #{partner.id}"
        events = [
            TouchLogged(
                lead.id, lead.account_id, lead.product, "call", by, f"contacted by {partner.name}", now
            )
        ]
    elif r.outcome == "qualified":
        events = move(session, lead, Trigger.QUALIFIED, now=now, by_user_id=who.user_id)
    else:
        amount = str(r.amount) if r.amount is not None else None
        events = [
            PartnerReported(
                lead.id, lead.account_id, lead.product, r.outcome, amount, r.reason, partner.name, now
            )
        ]
    publish(session, events, now=now)
    session.refresh(lead)  # the reactions wrote with plain SQL (first touch, an opportunity's move)
    return lead


def accept_deadline(session: Session, due: Due, now: datetime) -> list[Event]:
    """Timer: the partner's tier deadline passed with the lead not accepted: recall it."""
    lead = session.get(Lead, int(due.subject.split(":", 1)[1]))
    partner_id = due.payload.get("partner_id")
    if lead is None or partner_id is None or lead.owner_partner_id != partner_id or lead.stage not in NEW:
        return []  # accepted, handed back or routed elsewhere in the meantime
    return publish(session, [LeadHandedBack(lead.id, int(partner_id), "missed", None, now)], now=now)


def register_deal(
    session: Session,
    who: Principal,
    *,
    company: str,
    domain: str | None,
    product: str,
    contact_email: str | None,
    contact_name: str | None,
    amount: Decimal | None,
    expected_close: datetime | None,
    notes: str | None,
    now: datetime,
) -> DealRegistration:
    """A deal the partner found: compared with the warehouse, then it waits for approval until it
    expires."""
    partner = partner_of(session, who)
    company = company.strip()
    if not company:
        raise InvalidInput("company: name the company the deal is with")
    matches = _candidates(session, company, domain, product)
    deal = DealRegistration(
        partner_id=partner.id,
        by_user_id=who.user_id,
        company=company[:200],
        domain=domain,
        contact_email=contact_email,
        contact_name=contact_name,
        product=product,
        amount=amount,
        expected_close=expected_close,
        notes=notes,
        status="pending",
        created_at=now,
        expires_at=now + timedelta(days=DEAL_DAYS),
        matches=[{"kind": c.kind, "id": c.id, "why": c.why, "owner": c.owner} for c in matches],
    )
    session.add(deal)
    session.flush()
    schedule(session, DEAL_EXPIRES, f"deal:{deal.id}", deal.expires_at)
    return deal


def _candidates(session: Session, company: str, domain: str | None, product: str) -> list[Candidate]:
    """The accounts (by domain, then by name as lead-to-account matching compares names), their
    leads for the product and their open opportunities."""
    found: dict[int, str] = {}
    if domain:
        for aid in session.scalars(
            sa.select(Account.id).where(Account.domain == domain, Account.merged_into_id.is_(None))
        ):
            found[aid] = f"domain {domain}"
    key = company_key(company)
    if key:
        for name_key, m in match_names(session, {key}, threshold=90).items():
            found.setdefault(m.account_id, m.reason or f"name like {name_key!r}")
    out = [Candidate("account", aid, why) for aid, why in found.items()]
    if found:
        owners: dict[tuple[str, int | None], str] = {
            **{("user", i): e for i, e in session.execute(sa.select(User.id, User.email))},
            **{("partner", i): n for i, n in session.execute(sa.select(Partner.id, Partner.name))},
        }
        for lead in session.scalars(
            sa.select(Lead).where(
                Lead.account_id.in_(found), Lead.product == product, Lead.stage != Stage.MERGED
            )
        ):
            owner = owners.get(("user", lead.owner_user_id)) or owners.get(("partner", lead.owner_partner_id))
            out.append(Candidate("lead", lead.id, f"{found[lead.account_id]}, {lead.stage}", owner))
        for opp_id, account_id in session.execute(
            sa.select(Opportunity.id, Opportunity.account_id).where(
                Opportunity.account_id.in_(found), Opportunity.outcome == "open"
            )
        ):
            out.append(Candidate("opportunity", opp_id, found.get(account_id or 0, "same account")))
    return out


def decide_deal(
    session: Session, who: Principal, deal_id: int, *, approve: bool, note: str | None, now: datetime
) -> DealRegistration:
    """The channel manager's decision. An approval records the account, the partner's lead and an
    open opportunity (a reaction in capture)."""
    deal = session.get(DealRegistration, deal_id)
    if deal is None:
        raise NotFound(f"there is no deal registration #{deal_id}")
    if deal.status != "pending":
        raise Conflict(f"deal registration #{deal_id} is already {deal.status}")
    if deal.expires_at <= now:
        raise Conflict(f"deal registration #{deal_id} expired on {deal.expires_at:%Y-%m-%d}")
    deal.status, deal.decided_at, deal.decided_by_user_id = (
        ("approved" if approve else "rejected"),
        now,
        who.user_id,
    )
    deal.decision_note = (note or "").strip()[:500] or None
    cancel_many(session, (DEAL_EXPIRES,), [f"deal:{deal.id}"], now=now)
    if approve:
        amount = str(deal.amount) if deal.amount is not None else None
        approved = DealApproved(
            deal.id,
            deal.partner_id,
            deal.company,
            deal.domain,
            deal.product,
            amount,
            deal.contact_email,
            deal.contact_name,
            now,
        )
        publish(session, [approved], now=now)
        opp = session.scalars(
            sa.select(Opportunity).where(Opportunity.external_id == f"deal-{deal.id}")
        ).one()
        deal.account_id, deal.lead_id = opp.account_id, opp.lead_id
    return deal


def deal_expiry(session: Session, due: Due, now: datetime) -> list[Event]:
    """Timer: a registration nobody decided on expires."""
    deal = session.get(DealRegistration, int(due.subject.split(":", 1)[1]))
    if deal is not None and deal.status == "pending":
        deal.status, deal.decided_at = "expired", now
    return []


def conflicts_of(deal: DealRegistration, partner_name: str) -> list[str]:
    cands = [Candidate(m["kind"], m["id"], m["why"], m.get("owner")) for m in deal.matches]
    return conflicts(cands, partner_name=partner_name)
