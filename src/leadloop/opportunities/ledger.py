"""The one writer of opportunities, their contact roles and their history (ADR 0035). A conversion
in the app and an import from another CRM both write through here, so every change of stage,
outcome, amount or close date appends one history row, whoever made it, and a stage that went
backwards is kept. It decides nothing: the callers' rules (opportunities/model.py, the import's
parsing) did; it stores what they decided."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.opportunities.model import State, backwards
from leadloop.store.bulk import chunks
from leadloop.store.tables import Opportunity, OpportunityContact, OpportunityStageChange

_STATE = (
    Opportunity.id,
    Opportunity.external_id,
    Opportunity.stage,
    Opportunity.outcome,
    Opportunity.amount,
    Opportunity.currency,
    Opportunity.expected_close_on,
)


_CLEARABLE = frozenset({"closed_at", "lost_reason", "expected_close_on"})


@dataclass(frozen=True, slots=True)
class Row:
    """An opportunity's columns as a caller decided them (None: not known, left as it is on update)."""

    outcome: str
    created_at: datetime
    account_id: int | None = None
    person_id: int | None = None
    lead_id: int | None = None
    product: str | None = None
    name: str | None = None
    closed_at: datetime | None = None
    expected_close_on: date | None = None
    stage: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    lost_reason: str | None = None

    def state(self) -> State:
        return State(self.stage, self.outcome, self.amount, self.currency, self.expected_close_on)


@dataclass(frozen=True, slots=True)
class Written:
    id: int
    status: str  # created | updated | unchanged
    previous: State | None  # None for a new one
    backwards: bool


def states(session: Session, external_ids: Iterable[str]) -> dict[str, tuple[int, State]]:
    """external_id -> (id, state) of the opportunities that exist, in one query per chunk."""
    # An ORM select, not store.bulk.select_in: its driver-level path does not read a Date back.
    out: dict[str, tuple[int, State]] = {}
    wanted = sorted({e for e in external_ids if e})
    for part in chunks(wanted):
        for r in session.execute(sa.select(*_STATE).where(Opportunity.external_id.in_(part))):
            out[r.external_id] = (r.id, State(r.stage, r.outcome, r.amount, r.currency, r.expected_close_on))
    return out


def state_of(session: Session, opportunity_id: int) -> State:
    r = session.execute(sa.select(*_STATE).where(Opportunity.id == opportunity_id)).one()
    return State(r.stage, r.outcome, r.amount, r.currency, r.expected_close_on)


def _history(
    opportunity_id: int,
    state: State,
    *,
    at: datetime,
    now: datetime,
    source: str,
    by: int | None,
    back: bool,
    reason: str | None,
) -> dict[str, Any]:
    return {
        "opportunity_id": opportunity_id,
        "at": at,
        "recorded_at": now,
        "stage": state.stage,
        "outcome": state.outcome,
        "amount": state.amount,
        "currency": state.currency,
        "expected_close_on": state.expected_close_on,
        "backwards": back,
        "source": source,
        "by_user_id": by,
        "reason": reason[:300] if reason else None,
    }


def write(
    session: Session,
    row: Row,
    *,
    now: datetime,
    source: str,
    external_id: str | None = None,
    existing: tuple[int, State] | None = None,
    at: datetime | None = None,
    by_user_id: int | None = None,
    reason: str | None = None,
) -> Written:
    """Insert a new opportunity (`existing` None) or update one; a history row when its state is
    new or changed. `at`: when the change happened (default: its close, else now)."""
    values = {
        "account_id": row.account_id,
        "person_id": row.person_id,
        "lead_id": row.lead_id,
        "product": row.product,
        "name": row.name,
        "created_at": row.created_at,
        "closed_at": row.closed_at,
        "expected_close_on": row.expected_close_on,
        "stage": row.stage,
        "outcome": row.outcome,
        "amount": row.amount,
        "currency": row.currency,
        "lost_reason": row.lost_reason,
        "updated_at": now,
    }
    state = row.state()
    if existing is None:
        if source in ("web", "api", "cli"):
            values["converted_by_user_id"] = by_user_id
        oid = session.scalar(
            sa.insert(Opportunity).returning(Opportunity.id).values(external_id=external_id, **values)
        )
        assert oid is not None
        when = at or row.created_at
        session.execute(
            sa.insert(OpportunityStageChange).values(
                **_history(
                    oid, state, at=when, now=now, source=source, by=by_user_id, back=False, reason=reason
                )
            )
        )
        return Written(oid, "created", None, False)
    oid, before = existing
    back = backwards(before, state)
    current = session.execute(sa.select(Opportunity).where(Opportunity.id == oid)).scalar_one()
    # A value the caller does not know (None) is left as it is, but for those a reopened or
    # re-dated deal clears.
    given = {k: v for k, v in values.items() if k != "updated_at" and (v is not None or k in _CLEARABLE)}
    changed = {k: v for k, v in given.items() if getattr(current, k) != v}
    if not changed and before.same(state):
        return Written(oid, "unchanged", before, False)
    session.execute(sa.update(Opportunity).where(Opportunity.id == oid).values(**changed, updated_at=now))
    if not before.same(state):
        when = at or (
            row.closed_at if state.outcome != "open" and before.outcome == "open" and row.closed_at else now
        )
        session.execute(
            sa.insert(OpportunityStageChange).values(
                **_history(
                    oid, state, at=when, now=now, source=source, by=by_user_id, back=back, reason=reason
                )
            )
        )
    return Written(oid, "updated", before, back)


@dataclass(frozen=True, slots=True)
class ContactRole:
    opportunity_id: int
    person_id: int
    role: str | None
    is_primary: bool
    external_id: str | None = None


def set_roles(
    session: Session, roles: list[ContactRole], *, now: datetime, source: str, keep_primary: bool = False
) -> list[str]:
    """Add or update contact roles (matched by their external id, else opportunity and person).
    A new primary contact takes the flag from the opportunity's previous one, and becomes the
    opportunity's person; with `keep_primary` (a deal's own contact column, re-imported) one
    that has a primary keeps it. Returns each role's status: created, updated or unchanged."""
    out: list[str] = []
    for r in roles:
        if r.is_primary and keep_primary:
            other = session.scalar(
                sa.select(OpportunityContact.id).where(
                    OpportunityContact.opportunity_id == r.opportunity_id,
                    OpportunityContact.person_id != r.person_id,
                    OpportunityContact.is_primary.is_(True),
                )
            )
            if other is not None:
                r = ContactRole(r.opportunity_id, r.person_id, r.role, False, r.external_id)
        found = None
        if r.external_id:
            found = session.scalars(
                sa.select(OpportunityContact).where(OpportunityContact.external_id == r.external_id)
            ).first()
        if found is None:
            found = session.scalars(
                sa.select(OpportunityContact).where(
                    OpportunityContact.opportunity_id == r.opportunity_id,
                    OpportunityContact.person_id == r.person_id,
                )
            ).first()
        if r.is_primary:
            session.execute(
                sa.update(OpportunityContact)
                .where(
                    OpportunityContact.opportunity_id == r.opportunity_id,
                    OpportunityContact.person_id != r.person_id,
                    OpportunityContact.is_primary.is_(True),
                )
                .values(is_primary=False)
            )
            session.execute(
                sa.update(Opportunity)
                .where(
                    Opportunity.id == r.opportunity_id, Opportunity.person_id.is_distinct_from(r.person_id)
                )
                .values(person_id=r.person_id)
            )
        if found is None:
            session.add(
                OpportunityContact(
                    opportunity_id=r.opportunity_id,
                    person_id=r.person_id,
                    role=r.role,
                    is_primary=r.is_primary,
                    external_id=r.external_id,
                    source=source,
                    created_at=now,
                )
            )
            session.flush()
            out.append("created")
            continue
        wanted = {
            "opportunity_id": r.opportunity_id,
            "person_id": r.person_id,
            "role": r.role if r.role is not None else found.role,
            "is_primary": r.is_primary or (keep_primary and found.is_primary),
            "external_id": r.external_id or found.external_id,
        }
        change = {k: v for k, v in wanted.items() if getattr(found, k) != v}
        for k, v in change.items():
            setattr(found, k, v)
        session.flush()
        out.append("updated" if change else "unchanged")
    return out
