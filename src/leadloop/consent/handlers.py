"""Consent use cases reached by a person's own link (unsubscribe, preferences, double opt-in) or by
staff: load, decide with the rules of model.py, append once, publish. Each takes the caller's
session and never commits (ADR 0014): the unsubscribe is in effect when the caller's one commit is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.consent import tokens
from leadloop.consent.gate import survivor_of
from leadloop.consent.model import ALL, Basis, Plan, State, Status, confirm, effective, grant, withdraw
from leadloop.consent.policy import ConsentPolicy, policy_of
from leadloop.consent.repository import append, lock_person, states_of
from leadloop.core.errors import InvalidInput, NotFound
from leadloop.core.events import ConsentWithdrawn, Event
from leadloop.core.reactions import publish
from leadloop.store.tables import Erasure


class ForeignToken(InvalidInput):
    """A genuine link, but not for anyone we could act for now (another address, an erased person)."""


@dataclass(frozen=True)
class Subscriber:
    """Whom a link stands for: the person now (a merge's survivor), and what they have chosen."""

    person_id: int
    address: str
    states: dict[str, State]


def _subscriber(session: Session, policy: ConsentPolicy, claim: tokens.Claim, *, lock: bool) -> Subscriber:
    found = survivor_of(session, claim.person_id)
    if found is None or not tokens.matches(policy.key, claim, found[1]):
        raise ForeignToken("this link was made for an address we no longer hold")
    pid, addresses = found
    if session.scalar(sa.select(Erasure.id).where(Erasure.person_id == pid)) is not None:
        raise ForeignToken("this link was made for an address we no longer hold")
    if lock:
        lock_person(session, pid)
    return Subscriber(pid, addresses[-1] or addresses[0] or "", states_of(session, [pid])[pid])


def subscriber(
    session: Session, token: str, *, now: datetime, purpose: str = tokens.UNSUBSCRIBE, lock: bool = False
) -> Subscriber:
    """Who the link is for; BadToken, ExpiredToken or ForeignToken otherwise (nothing changes).
    `lock`: about to change their consent (serialised with a send, repository.lock_person)."""
    policy = policy_of(session)
    days = policy.link_days if purpose == tokens.UNSUBSCRIBE else policy.confirm_days
    claim = tokens.read(policy.key, purpose, token, now=now, valid_days=days)
    return _subscriber(session, policy, claim, lock=lock)


def record_plan(
    session: Session, plan: Plan, source: str, *, now: datetime, by_user_id: int | None = None
) -> list[Event]:
    """Append what the plan decided; return the events it raises, not yet published (a reaction
    returns them to the runner; a use case publishes them, ADR 0013)."""
    append(session, plan, policy_of(session), now=now, by_user_id=by_user_id)
    withdrawn: dict[int, list[str]] = {}
    for pid, change in plan.entries:
        if change.status == Status.WITHDRAWN:
            withdrawn.setdefault(pid, []).append(change.scope)
    return [ConsentWithdrawn(pid, tuple(scopes), source, now) for pid, scopes in withdrawn.items()]


def _record(
    session: Session, plan: Plan, source: str, *, now: datetime, by_user_id: int | None = None
) -> None:
    publish(session, record_plan(session, plan, source, now=now, by_user_id=by_user_id), now=now)


def unsubscribe(session: Session, token: str, *, now: datetime, how: str = "one-click") -> Subscriber:
    """Unsubscribe from everything, every type and channel, in the caller's transaction."""
    who = subscriber(session, token, now=now, lock=True)
    plan = Plan({who.person_id: who.states}, now)
    plan.add(who.person_id, withdraw(who.states, ALL, source="unsubscribe", now=now, detail=how))
    _record(session, plan, "unsubscribe", now=now)
    return Subscriber(who.person_id, who.address, plan.states(who.person_id))


def set_preferences(session: Session, token: str, chosen: set[str], *, now: datetime) -> Subscriber:
    """The preference centre: the types ticked are consented to (the person's own, explicit say),
    the others withdrawn. Types this site does not offer are ignored."""
    who = subscriber(session, token, now=now, lock=True)
    policy = policy_of(session)
    plan = Plan({who.person_id: who.states}, now)
    for code in policy.codes:
        states = plan.states(who.person_id)
        if code in chosen:
            change = grant(states, code, basis=Basis.CONSENT, explicit=True, source="preferences", now=now)
        else:
            change = withdraw(states, code, source="preferences", now=now)
        plan.add(who.person_id, change)
    _record(session, plan, "preferences", now=now)
    return Subscriber(who.person_id, who.address, plan.states(who.person_id))


def confirm_subscription(session: Session, token: str, *, now: datetime) -> Subscriber:
    """Double opt-in: the person confirmed from the link in the mail; what was pending is granted."""
    who = subscriber(session, token, now=now, purpose=tokens.CONFIRM, lock=True)
    plan = Plan({who.person_id: who.states}, now)
    for code in policy_of(session).codes:
        plan.add(who.person_id, confirm(plan.states(who.person_id), code, now=now))
    _record(session, plan, "double_opt_in", now=now)
    return Subscriber(who.person_id, who.address, plan.states(who.person_id))


ACTIONS = ("grant", "withdraw")


def record_by_staff(
    session: Session,
    person_id: int,
    *,
    scope: str,
    action: str,
    basis: str,
    note: str | None,
    by_user_id: int,
    now: datetime,
) -> dict[str, State]:
    """Staff record what the person told them (a call, a signed form) or a legitimate interest.
    A grant never overrides the person's own withdrawal: only the person can undo that."""
    policy = policy_of(session)
    if scope != ALL and scope not in policy.codes:
        raise InvalidInput(
            f"scope: {scope!r} is not a subscription type; use one of {', '.join(policy.codes)} or *"
        )
    if action not in ACTIONS:
        raise InvalidInput(f"action: {action!r}; use grant or withdraw")
    found = survivor_of(session, person_id)
    if found is None:
        raise NotFound(f"there is no person #{person_id}")
    pid = found[0]
    lock_person(session, pid)
    states = states_of(session, [pid])[pid]
    plan = Plan({pid: states}, now)
    if action == "withdraw":
        plan.add(pid, withdraw(states, scope, source="staff", now=now, detail=note))
    else:
        if scope == ALL:
            raise InvalidInput("scope: consent is given per subscription type; choose one")
        if basis not in (Basis.CONSENT, Basis.LEGITIMATE_INTEREST):
            raise InvalidInput("basis: staff record consent or legitimate_interest")
        current = effective(states, scope, now)
        if current is not None and current.status == Status.WITHDRAWN:
            raise InvalidInput(
                "the person withdrew; only they can undo it (from the preference centre in any of "
                "our messages, or a form they tick)"
            )
        plan.add(
            pid,
            grant(states, scope, basis=Basis(basis), explicit=False, source="staff", now=now, detail=note),
        )
    _record(session, plan, "staff", now=now, by_user_id=by_user_id)
    return plan.states(pid)
