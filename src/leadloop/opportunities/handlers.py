"""Conversion and updates, from the lead page, the API and the CLI: load, check who may, decide
(opportunities/model.py), write through the ledger, move the lead (lifecycle/), commit once with
the caller, and publish the milestone (capture appends it to the activity log).

Nothing is copied: the opportunity points at its account, its lead and its people, whose
timelines, campaign memberships and consent stay where they are."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.access.repository import require_worker
from leadloop.auth.model import Principal, Role
from leadloop.core.errors import InvalidInput, NotFound, PermissionDenied
from leadloop.core.events import Event, OpportunityChanged
from leadloop.core.reactions import publish
from leadloop.lifecycle.handlers import move
from leadloop.lifecycle.model import Stage, Trigger
from leadloop.opportunities import ledger
from leadloop.opportunities import model as rules
from leadloop.store.tables import Account, Lead, Opportunity, Person

_TRIGGER = {"open": Trigger.CONVERTED, "won": Trigger.WON, "lost": Trigger.LOST}
_TARGET = {"open": Stage.OPPORTUNITY, "won": Stage.WON, "lost": Stage.LOST}


@dataclass(frozen=True, slots=True)
class Conversion:
    """What the person converting said (the form, the API body, the CLI options)."""

    roles: list[rules.RoleIn]
    name: str | None = None
    stage: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    expected_close_on: date | None = None


def _lead(session: Session, lead_id: int) -> Lead:
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"there is no lead #{lead_id}")
    return lead


def account_people(session: Session, account_id: int) -> set[int]:
    """The live people of an account: who may have a role on its opportunity."""
    return set(
        session.scalars(
            sa.select(Person.id).where(Person.account_id == account_id, Person.merged_into_id.is_(None))
        )
    )


def open_opportunity(session: Session, lead_id: int) -> int | None:
    return session.scalar(
        sa.select(Opportunity.id)
        .where(Opportunity.lead_id == lead_id, Opportunity.outcome == "open")
        .limit(1)
    )


def convert(
    session: Session, lead_id: int, who: Principal, form: Conversion, *, now: datetime, source: str
) -> int:
    """The lead becomes an opportunity on its account, with its contact roles; the lead moves to
    `opportunity`. Only whoever may work the lead converts it (its owner, a manager above, an admin)."""
    lead = _lead(session, lead_id)
    require_worker(session, who, lead, doing="convert")
    account = session.get_one(Account, lead.account_id)
    draft = rules.convert(
        lead_stage=lead.stage,
        open_opportunity=open_opportunity(session, lead.id),
        name=form.name,
        default_name=f"{account.name} · {lead.product}",
        stage=form.stage,
        amount=form.amount,
        currency=form.currency,
        expected_close_on=form.expected_close_on,
        now=now,
    )
    roles = rules.contact_roles(form.roles, account_people(session, account.id))
    primary = next(r.person_id for r in roles if r.is_primary)
    row = ledger.Row(
        outcome="open",
        created_at=now,
        account_id=account.id,
        person_id=primary,
        lead_id=lead.id,
        product=lead.product,
        name=draft.name,
        expected_close_on=draft.expected_close_on,
        stage=draft.stage,
        amount=draft.amount,
        currency=draft.currency,
    )
    written = ledger.write(session, row, now=now, source=source, by_user_id=who.user_id, reason="converted")
    ledger.set_roles(
        session,
        [ledger.ContactRole(written.id, r.person_id, r.role, r.is_primary) for r in roles],
        now=now,
        source=source,
    )
    events: list[Event] = []
    if lead.stage != Stage.OPPORTUNITY:
        events += move(
            session,
            lead,
            Trigger.CONVERTED,
            now=now,
            reason=f"opportunity #{written.id}",
            by_user_id=who.user_id,
        )
    events.append(_milestone(written.id, row, "created", now))
    publish(session, events, now=now)
    return written.id


def _milestone(opportunity_id: int, row: ledger.Row, kind: str, at: datetime) -> OpportunityChanged:
    assert row.account_id is not None
    amount = str(row.amount) if row.amount is not None else None
    return OpportunityChanged(opportunity_id, row.account_id, row.person_id, row.product, kind, amount, at)


def _may_change(session: Session, opp: Opportunity, who: Principal) -> Lead | None:
    """Whoever may work the opportunity's lead; an opportunity without a lead (an import's, on an
    account with no lead for it) is an admin's to change."""
    lead = session.get(Lead, opp.lead_id) if opp.lead_id is not None else None
    if lead is not None:
        require_worker(session, who, lead, doing="update the opportunity of")
    elif who.role is not Role.ADMIN:
        raise PermissionDenied("only an admin may change an opportunity that has no lead")
    return lead


def update(
    session: Session, opportunity_id: int, who: Principal, change: rules.Change, *, now: datetime, source: str
) -> None:
    """A rep moves the deal on: stage, amount and currency, expected close date, won or lost (lost
    with a reason). Each change appends to the history; a step back is marked as one."""
    opp = session.get(Opportunity, opportunity_id)
    if opp is None:
        raise NotFound(f"there is no opportunity #{opportunity_id}")
    lead = _may_change(session, opp, who)
    current = ledger.state_of(session, opp.id)
    done = rules.update(current, opp.closed_at, opp.lost_reason, change, now=now)
    row = ledger.Row(
        outcome=done.state.outcome,
        created_at=opp.created_at,
        account_id=opp.account_id,
        person_id=opp.person_id,
        lead_id=opp.lead_id,
        product=opp.product,
        name=opp.name,
        closed_at=done.closed_at,
        expected_close_on=done.state.expected_close_on,
        stage=done.state.stage,
        amount=done.state.amount,
        currency=done.state.currency,
        lost_reason=done.lost_reason,
    )
    written = ledger.write(
        session,
        row,
        now=now,
        source=source,
        existing=(opp.id, current),
        at=done.at,
        by_user_id=who.user_id,
        reason=done.lost_reason if done.state.outcome == "lost" else None,
    )
    if written.status == "unchanged":
        return
    events: list[Event] = []
    outcome = done.state.outcome
    if lead is not None and outcome != current.outcome and lead.stage not in (Stage.MERGED, _TARGET[outcome]):
        events += move(
            session,
            lead,
            _TRIGGER[outcome],
            now=now,
            at=done.at,
            reason=f"opportunity #{opp.id}" + (f": {done.lost_reason}" if outcome == "lost" else ""),
            by_user_id=who.user_id,
        )
    if outcome != current.outcome and outcome in ("won", "lost") and opp.account_id is not None:
        events.append(_milestone(opp.id, row, outcome, done.at))
    publish(session, events, now=now)


def require_changes(change: rules.Change) -> rules.Change:
    """An update that says nothing is a mistake worth a sentence, not a silent success."""
    if all(getattr(change, f.name) is None for f in fields(change)):
        raise InvalidInput("nothing to change: give a stage, amount, currency, close date or outcome")
    return change
