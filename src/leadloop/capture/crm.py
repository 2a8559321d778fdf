"""Records from the CRM side of the warehouse: accounts, campaigns and opportunities. An
opportunity moves its lead through the lifecycle (opportunity, then won or lost) and appends its
milestones to the activity log, so attribution and scoring see the revenue."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.capture.log import Link, append_activities
from leadloop.capture.model import (
    AccountIn,
    ActivityIn,
    CampaignIn,
    ContactRoleIn,
    OpportunityIn,
    parse_account,
)
from leadloop.capture.repository import AccountHint, find_accounts, people_by_external_id
from leadloop.capture.results import REFUSED, Outcome, Result
from leadloop.contract.vocab import ENTITY_FIELDS
from leadloop.core.events import DealApproved, Event, OpportunityChanged, PartnerReported
from leadloop.core.reactions import publish
from leadloop.enrich.repository import manual_fields
from leadloop.identity.accounts import index_accounts
from leadloop.lifecycle.handlers import Move, NewLead, OwnerRef, move, move_many, open_leads
from leadloop.lifecycle.model import Stage, Trigger
from leadloop.opportunities import ledger
from leadloop.store.bulk import select_in
from leadloop.store.tables import Account, Campaign, Lead, Opportunity

_ACCOUNT_COLUMNS = (*ENTITY_FIELDS["accounts"], "name_key")


def upsert_accounts(session: Session, items: list[AccountIn], *, now: datetime) -> Result:
    """Accounts matched by external_id, then domain, then exact cleaned name."""
    result = Result()
    hints: list[AccountHint] = []
    for a in items:
        if a.external_id:
            hints.append(("external_id", a.external_id))
        elif a.domain:
            hints.append(("domain", a.domain))
        else:
            hints.append(("name_key", a.name_key or ""))

    found = find_accounts(session, set(hints))
    # An account known by domain but imported now with an external_id: adopt it.
    by_domain = find_accounts(session, {("domain", a.domain) for a in items if a.domain})
    # The accounts this batch will update, in one query instead of one each.
    loaded = {
        r.id: r
        for r in session.scalars(
            sa.select(Account).where(Account.id.in_({*found.values(), *by_domain.values()} or {-1}))
        )
    }
    # Values a person set by hand are not replaced by an import (ADR 0021).
    pinned = manual_fields(session, "account", set(loaded))
    done: dict[AccountHint, int | None] = {}
    for a, hint in zip(items, hints, strict=True):
        values = {c: getattr(a, c) for c in _ACCOUNT_COLUMNS if getattr(a, c) is not None}
        aid = done.get(hint) or found.get(hint) or (by_domain.get(("domain", a.domain)) if a.domain else None)
        if aid is None:
            row_values = {
                **dict.fromkeys(_ACCOUNT_COLUMNS),
                **values,
                "name": a.name or a.domain or a.external_id,
                "name_key": a.name_key or (a.domain or a.external_id or "").casefold(),
                "attributes": a.attributes,
                "created_at": now,
                "updated_at": now,
            }
            aid = session.scalar(sa.insert(Account).returning(Account.id).values(**row_values))
            status = "created"
        else:
            row = loaded.get(aid) or session.get_one(Account, aid)
            kept = pinned.get(aid, frozenset())
            kept = kept | {"name_key"} if "name" in kept else kept
            change = {c: v for c, v in values.items() if getattr(row, c) != v and c not in kept}
            if a.attributes and {**row.attributes, **a.attributes} != row.attributes:
                change["attributes"] = {**row.attributes, **a.attributes}
            if change:
                change["updated_at"] = now
                session.execute(sa.update(Account).where(Account.id == aid).values(**change))
            status = "updated" if change else ("duplicate" if hint in done else "unchanged")
        done[hint] = aid
        result.outcomes.append(Outcome(status, aid, aid))
    named = {o.id for o in result.outcomes if o.status in ("created", "updated") and o.id is not None}
    if named:
        index_accounts(session, select_in(session, (Account.id, Account.name_key), Account.id, named))
    _link_parents(session)
    return result


def _link_parents(session: Session) -> None:
    parent = sa.select(Account.id).where(Account.external_id == sa.literal_column("child.parent_external_id"))
    child = sa.orm.aliased(Account, name="child")
    session.execute(
        sa.update(child)
        .where(child.parent_external_id.is_not(None), child.parent_id.is_(None))
        .values(parent_id=parent.scalar_subquery())
    )


def upsert_campaigns(session: Session, items: list[CampaignIn], *, now: datetime) -> Result:
    result = Result()
    for k in items:
        cid = None
        if k.external_id:
            cid = session.scalar(sa.select(Campaign.id).where(Campaign.external_id == k.external_id))
        if cid is None:
            cid = session.scalar(sa.select(Campaign.id).where(Campaign.name == k.name))
        values = {f.name: getattr(k, f.name) for f in fields(CampaignIn) if getattr(k, f.name) is not None}
        if cid is None:
            values.setdefault("utm_campaign", k.name)
            cid = session.scalar(sa.insert(Campaign).returning(Campaign.id).values(**values, created_at=now))
            result.outcomes.append(Outcome("created", cid))
            continue
        row = session.get_one(Campaign, cid)
        change = {c: v for c, v in values.items() if getattr(row, c) != v}
        if change:
            session.execute(sa.update(Campaign).where(Campaign.id == cid).values(**change))
        result.outcomes.append(Outcome("updated" if change else "unchanged", cid))
    return result


def _lead_for_opportunity(
    session: Session, account_id: int | None, product: str | None
) -> tuple[int, str] | None:
    """The lead an opportunity grew from, with its stage: the account's lead for that product or,
    when the CRM gave no product (it often does not), the account's most recently active lead. A
    lead closed by an account merge has handed on to the lead that carries on."""
    if account_id is None:
        return None
    stmt = sa.select(Lead.id, Lead.stage).where(
        Lead.account_id == account_id, Lead.stage != Stage.MERGED.value
    )
    if product:
        stmt = stmt.where(Lead.product == product)
    row = session.execute(stmt.order_by(Lead.last_activity_at.desc(), Lead.id.desc()).limit(1)).first()
    return (row.id, row.stage) if row else None


# What the CRM's outcome of an opportunity makes of its lead.
_OUTCOME_TRIGGER = {"open": Trigger.CONVERTED, "won": Trigger.WON, "lost": Trigger.LOST}


def upsert_opportunities(session: Session, items: list[OpportunityIn], *, now: datetime) -> Result:
    """Opportunities from the CRM (matched by external_id); each moves its lead and appends its
    milestones to the activity log."""
    result = _opportunities(session, items, now=now)
    result.events = publish(session, result.events, now=now)
    return result


def _opportunities(
    session: Session, items: list[OpportunityIn], *, now: datetime, source: str = "import"
) -> Result:
    """The use case without publishing: a reaction returns these events to the runner instead.

    An opportunity whose account (or, without one, whose person) Leadloop does not know is refused
    with the reason, and the rest land: a deal on a stub account would count revenue nobody can
    trace. A contact Leadloop does not know is left off the deal, with a warning."""
    result = Result()
    acct = find_accounts(
        session, {("external_id", o.account_external_id) for o in items if o.account_external_id}
    )
    wanted = {o.person_external_id for o in items if o.person_external_id} | {
        c for o in items for c in o.contacts
    }
    people: dict[str, Link] = dict(people_by_external_id(session, wanted))
    existing = ledger.states(session, {o.external_id for o in items})
    acts: list[ActivityIn] = []
    links: list[Link] = []
    moves: list[Move] = []
    for o in items:
        pid, p_acct = people.get(o.person_external_id or "", (None, None))
        if o.account_id is not None:
            account_id: int | None = o.account_id
        elif o.account_external_id:
            account_id = acct.get(("external_id", o.account_external_id))
            if account_id is None:
                why = f"account_external_id: no account {o.account_external_id!r} in Leadloop; import the accounts first"
                result.outcomes.append(Outcome(REFUSED, why=why))
                continue
        elif pid is None:
            why = (
                f"person_external_id: no person {o.person_external_id!r} in Leadloop; import the people first"
            )
            result.outcomes.append(Outcome(REFUSED, why=why))
            continue
        else:
            account_id = p_acct
            if account_id is None:
                why = (
                    f"person_external_id: {o.person_external_id!r} has no account; the opportunity needs one"
                )
                result.outcomes.append(Outcome(REFUSED, why=why))
                continue
        unknown = [x for x in (o.person_external_id, *o.contacts) if x and x not in people]
        lead = _lead_for_opportunity(session, account_id, o.product)
        row = ledger.Row(
            account_id=account_id,
            person_id=pid,
            lead_id=lead[0] if lead else None,
            product=o.product,
            name=o.name,
            created_at=o.created_at,
            closed_at=o.closed_at,
            expected_close_on=o.expected_close_on,
            stage=o.stage,
            outcome=o.outcome,
            amount=o.amount,
            currency=o.currency,
            lost_reason=o.lost_reason,
        )
        if lead is not None:
            # The lead follows its opportunity: opportunity while open, then won or lost.
            moves.extend(_follow(lead, o, moves))
        written = ledger.write(
            session,
            row,
            now=now,
            source=source,
            external_id=o.external_id,
            existing=existing.get(o.external_id),
        )
        existing[o.external_id] = (written.id, row.state())
        note = None
        if unknown:
            note = f"person_external_id: no person {', '.join(map(repr, unknown[:5]))} in Leadloop; the deal landed without them"
        result.outcomes.append(Outcome(written.status, written.id, account_id, why=note))
        contacts = [
            c for x in (o.person_external_id, *o.contacts) if x and (c := people.get(x, (None, None))[0])
        ]
        roles = [
            ledger.ContactRole(written.id, person, None, n == 0 and person == pid)
            for n, person in enumerate(dict.fromkeys(contacts))
        ]
        if roles:
            ledger.set_roles(session, roles, now=now, source=source, keep_primary=True)
        stages = [("opportunity_created", o.created_at)]
        if o.outcome in ("won", "lost") and o.closed_at:
            stages.append((f"opportunity_{o.outcome}", o.closed_at))
        for kind, at in stages:
            acts.append(
                ActivityIn(
                    type=kind,
                    occurred_at=at,
                    channel="crm",
                    product=o.product,
                    value=o.amount,
                    payload={"opportunity": o.external_id},
                    dedupe_key=f"opp:{o.external_id}:{kind}",
                )
            )
            links.append((pid, account_id))
    result.events = move_many(session, moves, now=now)
    result.events += append_activities(session, acts, links, now=now, source="import").events
    return result


def upsert_contact_roles(session: Session, items: list[ContactRoleIn], *, now: datetime) -> Result:
    """Contact roles from the CRM (Salesforce's OpportunityContactRole), by the opportunity's and
    the person's external ids; a role on an opportunity or a person Leadloop does not know is
    refused with the reason, and the rest land. Importing the same file again changes nothing."""
    result = Result()
    opps = {
        r.external_id: r.id
        for r in select_in(
            session,
            (Opportunity.external_id, Opportunity.id),
            Opportunity.external_id,
            {i.opportunity_external_id for i in items},
        )
    }
    people = people_by_external_id(session, {i.person_external_id for i in items})
    for i in items:
        oid = opps.get(i.opportunity_external_id)
        person = people.get(i.person_external_id)
        if oid is None:
            why = f"opportunity_external_id: no opportunity {i.opportunity_external_id!r} in Leadloop; import the opportunities first"
            result.outcomes.append(Outcome(REFUSED, why=why))
            continue
        if person is None:
            why = (
                f"person_external_id: no person {i.person_external_id!r} in Leadloop; import the people first"
            )
            result.outcomes.append(Outcome(REFUSED, why=why))
            continue
        role = ledger.ContactRole(oid, person[0], i.role, i.is_primary, i.external_id)
        (status,) = ledger.set_roles(session, [role], now=now, source="import")
        result.outcomes.append(Outcome(status, oid, person[1]))
    return result


def _follow(lead: tuple[int, str], o: OpportunityIn, earlier: list[Move]) -> list[Move]:
    """The lead's move for this opportunity, if it is not already there (counting the moves this
    batch has already decided for the same lead)."""
    lead_id, stage = lead
    for m in reversed(earlier):
        if m.lead_id == lead_id:
            stage = {Trigger.CONVERTED: Stage.OPPORTUNITY, Trigger.WON: Stage.WON, Trigger.LOST: Stage.LOST}[
                m.trigger
            ]
            break
    trigger = _OUTCOME_TRIGGER[o.outcome]
    target = {"open": Stage.OPPORTUNITY, "won": Stage.WON, "lost": Stage.LOST}[o.outcome]
    if stage == target:
        return []
    return [Move(lead_id, stage, trigger, o.closed_at or o.created_at, reason=f"opportunity {o.external_id}")]


def on_partner_reported(session: Session, events: list[PartnerReported], now: datetime) -> list[Event]:
    """Reaction: a partner's won or lost deal becomes the lead's opportunity (one per lead, so a
    correction updates it), which moves the lead and counts as revenue for the channel."""
    items = []
    for e in events:
        lead = session.get(Lead, e.lead_id)
        account = session.get(Account, e.account_id)
        if lead is None or account is None:
            continue
        items.append(
            OpportunityIn(
                external_id=f"partner-lead-{e.lead_id}",
                account_id=account.id,
                product=e.product,
                created_at=lead.accepted_at or e.at,
                closed_at=e.at,
                stage=f"Closed {e.outcome.title()} by {e.partner}"[:50],
                outcome=e.outcome,
                amount=Decimal(e.amount) if e.amount else None,
                lost_reason=e.reason,
            )
        )
    return _opportunities(session, items, now=now, source="partner").events


def on_deal_approved(session: Session, events: list[DealApproved], now: datetime) -> list[Event]:
    """Reaction: an approved deal registration becomes an account (found or created), its lead for
    the product owned by the partner, and an open opportunity."""
    out: list[Event] = []
    for e in events:
        account = parse_account({"name": e.company, "domain": e.domain or ""})
        account_id = upsert_accounts(session, [account], now=now).outcomes[0].id
        assert account_id is not None
        lead = session.scalars(
            sa.select(Lead).where(Lead.account_id == account_id, Lead.product == e.product)
        ).first()
        if lead is None:
            ids, opened = open_leads(
                session, [NewLead(account_id, e.product, now, now, source="partner")], now=now
            )
            out += opened
            lead = session.get(Lead, ids[0])
        assert lead is not None
        if lead.owner_partner_id != e.partner_id:
            out += move(
                session,
                lead,
                Trigger.ROUTED,
                now=now,
                reason=f"deal registration #{e.deal_id} approved",
                owner=OwnerRef(partner_id=e.partner_id),
            )
        opp = OpportunityIn(
            external_id=f"deal-{e.deal_id}",
            account_id=account_id,
            product=e.product,
            created_at=e.at,
            stage="Registered by partner",
            outcome="open",
            amount=Decimal(e.amount) if e.amount else None,
        )
        out += _opportunities(session, [opp], now=now, source="partner").events
    return out


def on_opportunity_changed(session: Session, events: list[OpportunityChanged], now: datetime) -> list[Event]:
    """Reaction: an opportunity opened, won or lost in the app becomes an activity of its account
    and primary contact, as an imported one's milestones do (attribution and scoring read them)."""
    acts = [
        ActivityIn(
            type=f"opportunity_{e.kind}",
            occurred_at=e.at,
            channel="crm",
            product=e.product,
            value=Decimal(e.amount) if e.amount else None,
            payload={"opportunity": f"#{e.opportunity_id}"},
            dedupe_key=f"opp#{e.opportunity_id}:{e.kind}",
        )
        for e in events
    ]
    links: list[Link] = [(e.person_id, e.account_id) for e in events]
    return append_activities(session, acts, links, now=now, source="web").events
