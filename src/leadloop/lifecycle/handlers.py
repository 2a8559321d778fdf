"""The only writer of a lead's stage and owner: open leads, move them by the table in `model.py`, and
write a history row for every move. Everyone else asks; nobody else writes `leads.stage`.

Two shapes of the same move: `move` for a lead the caller has loaded as an ORM object (routing,
the cooling timer) and `move_many` for many leads at once by id (scoring, CRM imports, merges), so
that the hot path of capture stays one statement per kind of move.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.errors import Conflict
from leadloop.core.events import Event, LeadMoved, LeadRecycled
from leadloop.lifecycle.model import (
    IllegalTransition,
    Owner,
    Stage,
    Transition,
    Trigger,
    carry_over,
    recycles,
    restore,
    transition,
)
from leadloop.lifecycle.repository import nurture_queue_id
from leadloop.lifecycle.summary import DEFAULT_PRODUCT, OPEN_LEAD, PRIOR_ACTIVITIES, REFRESH_CONTACTS
from leadloop.store.bulk import connection, select_in
from leadloop.store.tables import Lead
from leadloop.store.types import UTCDateTime


class LeadMovedMeanwhile(Conflict):
    def __init__(self, trigger: Trigger) -> None:
        super().__init__(
            f"a lead changed stage while it was being {trigger.value}; nothing was saved, try again"
        )


@dataclass(frozen=True, slots=True)
class OwnerRef:
    """Exactly one of a user, a queue (team) or a partner."""

    user_id: int | None = None
    team_id: int | None = None
    partner_id: int | None = None


@dataclass(frozen=True, slots=True)
class NewLead:
    account_id: int
    product: str
    opened_at: datetime
    last_activity_at: datetime
    source: str = "engagement"


@dataclass(frozen=True, slots=True)
class Move:
    """A move of a lead known by id, whose current stage the caller has just read."""

    lead_id: int
    previous: str
    trigger: Trigger
    at: datetime
    reason: str | None = None
    by_user_id: int | None = None
    to: str | None = None  # the stage an `imported` move carries over (model.carry_over)


# The history row takes the owner from the lead as the move left it.
_HISTORY = sa.text(
    "INSERT INTO lead_stage_changes (lead_id, at, recorded_at, from_stage, to_stage, trigger, reason,"
    " by_user_id, owner_user_id, owner_team_id, owner_partner_id)"
    " SELECT id, :at, :now, :from_stage, :to_stage, :trigger, :reason, :by, owner_user_id, owner_team_id,"
    " owner_partner_id FROM leads WHERE id = :lead_id"
).bindparams(sa.bindparam("at", type_=UTCDateTime()), sa.bindparam("now", type_=UTCDateTime()))

# Columns a trigger stamps besides the stage. (A first touch is SLA state, routing's: the lifecycle
# only records it in the history.)
_STAMPS: dict[Trigger, tuple[str, ...]] = {
    Trigger.REACHED_MQL: ("mql_at",),
    Trigger.REACTIVATED: ("mql_at",),
    Trigger.ACCEPTED: ("accepted_at",),
    Trigger.REJECTED: ("rejected_at",),
}


def _history(
    t: Transition, lead_id: int, at: datetime, now: datetime, reason: str | None, by: int | None
) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "at": at,
        "now": now,
        "from_stage": t.previous.value if t.previous else None,
        "to_stage": t.to.value,
        "trigger": t.trigger.value,
        "reason": reason[:500] if reason else None,
        "by": by,
    }


def _event(t: Transition, lead_id: int, at: datetime, reason: str | None) -> LeadMoved:
    previous = t.previous.value if t.previous else None
    return LeadMoved(lead_id, previous, t.to.value, t.trigger.value, reason, at)


def _events(t: Transition, lead_id: int, at: datetime, reason: str | None) -> list[Event]:
    """The move, and, when it puts the lead into the remarketing pool, that too (the sequences'
    enrolment trigger): every road there passes through here, so none is missed."""
    moved: list[Event] = [_event(t, lead_id, at, reason)]
    if recycles(t) and t.previous is not None:
        moved.append(LeadRecycled(lead_id, t.trigger.value, reason, t.previous.value, t.to.value, at))
    return moved


def open_leads(session: Session, new: Sequence[NewLead], *, now: datetime) -> tuple[list[int], list[Event]]:
    """New account x product leads, owned by marketing's nurture queue, with the activity summary
    their account already has for the product. Returns their ids in the order given."""
    if not new:
        return [], []
    conn = connection(session)
    queue = nurture_queue_id(session, now=now)
    t = transition(None, Trigger.OPENED)
    ids: list[int] = []
    history: list[dict[str, Any]] = []
    events: list[Event] = []
    for n in new:
        prior = conn.execute(
            PRIOR_ACTIVITIES, {"account_id": n.account_id, "default": DEFAULT_PRODUCT, "product": n.product}
        ).scalar_one()
        lead_id = conn.execute(
            OPEN_LEAD,
            {
                "account_id": n.account_id,
                "product": n.product,
                "stage": t.to.value,
                "owner_team_id": queue,
                "source": n.source,
                "opened_at": n.opened_at,
                "stage_changed_at": n.opened_at,
                "last_activity_at": n.last_activity_at,
                "activity_count": prior,
                "contact_count": 0,
            },
        ).scalar_one()
        conn.execute(REFRESH_CONTACTS, {"default": DEFAULT_PRODUCT, "id": lead_id})
        ids.append(lead_id)
        history.append(_history(t, lead_id, n.opened_at, now, None, None))
        events.append(_event(t, lead_id, n.opened_at, None))
    conn.execute(_HISTORY, history)
    return ids, events


def move(
    session: Session,
    lead: Lead,
    trigger: Trigger,
    *,
    now: datetime,
    at: datetime | None = None,
    reason: str | None = None,
    by_user_id: int | None = None,
    owner: OwnerRef | None = None,
) -> list[Event]:
    """Move one loaded lead. `owner` is required exactly when the trigger hands the lead to someone."""
    try:
        t = transition(Stage(lead.stage), trigger)
    except IllegalTransition:
        raise IllegalTransition(lead.stage, trigger, lead_id=lead.id) from None
    at = at or now
    new_owner = _owner(session, t, owner, now=now)
    if t.to is not t.previous:  # a move that keeps the stage (routed, touched) keeps its date too
        lead.stage, lead.stage_changed_at = t.to.value, at
    for column in _STAMPS.get(trigger, ()):
        setattr(lead, column, at)
    if trigger is Trigger.REJECTED:
        lead.rejected_reason = reason
    if new_owner is not None:
        lead.owner_user_id, lead.owner_team_id, lead.owner_partner_id = (
            new_owner.user_id,
            new_owner.team_id,
            new_owner.partner_id,
        )
    session.flush()
    connection(session).execute(_HISTORY, [_history(t, lead.id, at, now, reason, by_user_id)])
    return _events(t, lead.id, at, reason)


def _owner(session: Session, t: Transition, given: OwnerRef | None, *, now: datetime) -> OwnerRef | None:
    if t.owner is Owner.GIVEN:
        if given is None or sum(x is not None for x in (given.user_id, given.team_id, given.partner_id)) != 1:
            raise ValueError(f"{t.trigger} needs exactly one new owner")
        return given
    if given is not None:
        raise ValueError(f"{t.trigger} does not choose an owner; routing does")
    if t.owner is Owner.NURTURE:
        return OwnerRef(team_id=nurture_queue_id(session, now=now))
    return None


def move_many(session: Session, moves: Sequence[Move], *, now: datetime) -> list[Event]:
    """Move many leads known by id: one UPDATE per kind of move and one history INSERT for all."""
    if not moves:
        return []
    decided: list[tuple[Move, Transition]] = []
    for m in moves:
        try:
            if m.trigger is Trigger.IMPORTED:
                carried = carry_over(Stage(m.previous), Stage(m.to or ""))
                if carried is not None:
                    decided.append((m, carried))
                continue
            decided.append((m, transition(Stage(m.previous), m.trigger)))
        except (IllegalTransition, ValueError):
            raise IllegalTransition(m.previous, m.trigger, lead_id=m.lead_id) from None
    if not decided:
        return []
    conn = connection(session)
    # Consecutive moves of one kind share a statement; order is kept, as one lead may move twice.
    runs: list[tuple[Trigger, Owner, bool, list[dict[str, Any]]]] = []
    for m, t in decided:
        key = (t.trigger, t.owner, t.to is not t.previous)
        if not runs or runs[-1][:3] != key:
            runs.append((*key, []))
        runs[-1][3].append(
            {"lid": m.lead_id, "was": m.previous, "to": t.to.value, "at": m.at, "reason": m.reason}
        )
    for trigger, owner, changes_stage, rows in runs:
        values: dict[str, Any] = {"stage": sa.bindparam("to")}
        if changes_stage:  # a move that keeps the stage (touched) keeps its date too
            values["stage_changed_at"] = sa.bindparam("at")
        values.update(dict.fromkeys(_STAMPS.get(trigger, ()), sa.bindparam("at")))
        if trigger is Trigger.REJECTED:
            values["rejected_reason"] = sa.bindparam("reason")
        if owner is Owner.NURTURE:
            values.update(
                owner_user_id=None, owner_partner_id=None, owner_team_id=nurture_queue_id(session, now=now)
            )
        elif owner is Owner.GIVEN:
            raise ValueError(f"{trigger} hands a lead to someone: use move() with the new owner")
        # Only from the stage the caller read: a lead another transaction moved meanwhile is refused,
        # never moved from a stage the table was not asked about.
        done = conn.execute(
            sa.update(Lead)
            .where(Lead.id == sa.bindparam("lid"), Lead.stage == sa.bindparam("was"))
            .values(**values),
            rows,
        )
        if conn.dialect.supports_sane_multi_rowcount and done.rowcount != len(rows):
            raise LeadMovedMeanwhile(trigger)
    conn.execute(_HISTORY, [_history(t, m.lead_id, m.at, now, m.reason, m.by_user_id) for m, t in decided])
    return [e for m, t in decided for e in _events(t, m.lead_id, m.at, m.reason)]


def restore_rows(
    session: Session, rows: Sequence[dict[str, Any]], *, now: datetime, reason: str
) -> list[Event]:
    """Undoing an account merge: each lead row goes back exactly as the merge's snapshot holds it;
    a history row says so for every lead whose stage changes on the way."""
    if not rows:
        return []
    current = dict(select_in(session, (Lead.id, Lead.stage), Lead.id, [r["id"] for r in rows]))
    moved: list[tuple[dict[str, Any], Transition]] = []
    for r in rows:
        t = restore(Stage(current[r["id"]]), Stage(r["stage"]))
        if t.previous is not t.to:
            moved.append((r, t))
    conn = connection(session)
    for r in rows:
        conn.execute(sa.update(Lead).where(Lead.id == r["id"]).values(**r))
    if moved:
        conn.execute(_HISTORY, [_history(t, r["id"], now, now, reason, None) for r, t in moved])
    return [_event(t, r["id"], now, reason) for r, t in moved]
