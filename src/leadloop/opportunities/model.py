"""An opportunity's rules, pure: its stages (a fixed list, in order), what a conversion and an
update may say, contact roles, and when a change is a step backwards.

Leadloop's own opportunities move through four open stages, then close won or lost (a lost one
with its reason). An opportunity imported from another CRM keeps the stage that CRM gave it; the
usual Salesforce and HubSpot stages are ranked on the same scale, so a stage that went back (a
proposal back to discovery, a won deal reopened) is recognised whichever side said it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from leadloop.contract.headers import header_key
from leadloop.core.errors import InvalidInput

# Leadloop's stages of an open opportunity, in the order a deal moves through them.
STAGES = ("qualification", "discovery", "proposal", "negotiation")
STAGE_LABELS = {
    "qualification": "Qualification",
    "discovery": "Discovery",
    "proposal": "Proposal",
    "negotiation": "Negotiation",
    "closed won": "Closed won",
    "closed lost": "Closed lost",
}
OUTCOMES = ("open", "won", "lost")
CLOSED_STAGE = {"won": "closed won", "lost": "closed lost"}
# Contact roles (Salesforce's picklist, shortened); an import keeps the peer's own word.
ROLES = ("decision maker", "economic buyer", "champion", "influencer", "technical buyer", "user", "other")
LOST_REASONS = ("price", "competitor", "no decision", "timing", "no budget", "product fit", "other")

# Where a peer CRM's default stages sit on Leadloop's scale (1-4 open, 5 closed).
_PEER_RANK = {
    # Salesforce's standard opportunity stages
    "prospecting": 1,
    "qualification": 1,
    "needs analysis": 2,
    "value proposition": 2,
    "id. decision makers": 2,
    "perception analysis": 3,
    "proposal/price quote": 3,
    "negotiation/review": 4,
    "closed won": 5,
    "closed lost": 5,
    # HubSpot's default deal pipeline (labels and internal names)
    "appointment scheduled": 1,
    "qualified to buy": 1,
    "presentation scheduled": 2,
    "decision maker bought-in": 3,
    "contract sent": 4,
    # Leadloop's own
    "discovery": 2,
    "proposal": 3,
    "negotiation": 4,
}
RANK = {header_key(k): v for k, v in _PEER_RANK.items()}
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def stage_rank(stage: str | None, outcome: str) -> int | None:
    """How far along a deal is (1 to 5), or None for a stage nobody taught us."""
    if outcome in ("won", "lost"):
        return 5
    return RANK.get(header_key(stage)) if stage else None


@dataclass(frozen=True, slots=True)
class State:
    """What the history records of an opportunity at one moment."""

    stage: str | None
    outcome: str
    amount: Decimal | None
    currency: str | None
    expected_close_on: date | None = None

    def same(self, other: State) -> bool:
        return (
            self.stage == other.stage
            and self.outcome == other.outcome
            and _money(self.amount) == _money(other.amount)
            and self.currency == other.currency
            and self.expected_close_on == other.expected_close_on
        )


def _money(v: Decimal | None) -> Decimal | None:
    return None if v is None else Decimal(v).quantize(Decimal("0.01"))


def backwards(before: State | None, after: State) -> bool:
    """Did the deal go back: an earlier stage than before, or a closed deal reopened? A stage
    either side does not rank is not called backwards (the history keeps it all the same)."""
    if before is None:
        return False
    if before.outcome != "open" and after.outcome == "open":
        return True
    was, now = stage_rank(before.stage, before.outcome), stage_rank(after.stage, after.outcome)
    return was is not None and now is not None and now < was


def currency_of(code: str | None) -> str | None:
    """An ISO 4217 code ('eur' -> 'EUR'); None stays None (the settings' default currency)."""
    if code is None or not code.strip():
        return None
    code = code.strip().upper()
    if not _CURRENCY.match(code):
        raise InvalidInput(f"currency {code[:20]!r} is not an ISO 4217 code such as EUR or USD")
    return code


def _amount(value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    if value < 0:
        raise InvalidInput(f"amount {value} cannot be negative")
    if value >= Decimal("1e16"):
        raise InvalidInput(f"amount {value} is too large")
    return _money(value)


@dataclass(frozen=True, slots=True)
class RoleIn:
    person_id: int
    role: str | None = None
    is_primary: bool = False


def contact_roles(roles: list[RoleIn], allowed_people: set[int]) -> list[RoleIn]:
    """The contact roles of a conversion: at least one person, each of the account, each once,
    a role from the list (or none), exactly one primary (the first, when nobody was ticked)."""
    if not roles:
        raise InvalidInput("choose at least one contact for the opportunity (the person it is with)")
    seen: set[int] = set()
    out: list[RoleIn] = []
    for r in roles:
        if r.person_id not in allowed_people:
            raise InvalidInput(f"person #{r.person_id} is not a contact of this lead's account")
        if r.person_id in seen:
            raise InvalidInput(f"person #{r.person_id} is listed twice; give each contact one role")
        seen.add(r.person_id)
        role = r.role.strip().casefold() if r.role and r.role.strip() else None
        if role is not None and role not in ROLES:
            raise InvalidInput(f"unknown contact role {role[:50]!r}; choose one of: {', '.join(ROLES)}")
        out.append(RoleIn(r.person_id, role, r.is_primary))
    primaries = [r for r in out if r.is_primary]
    if len(primaries) > 1:
        raise InvalidInput("only one contact can be the primary contact")
    if not primaries:
        out[0] = replace(out[0], is_primary=True)
    return out


@dataclass(frozen=True, slots=True)
class Draft:
    """A new opportunity as a conversion decided it."""

    name: str
    stage: str
    amount: Decimal | None
    currency: str | None
    expected_close_on: date | None
    created_at: datetime


def convert(
    *,
    lead_stage: str,
    open_opportunity: int | None,
    name: str | None,
    default_name: str,
    stage: str | None,
    amount: Decimal | None,
    currency: str | None,
    expected_close_on: date | None,
    now: datetime,
) -> Draft:
    """What converting a lead makes, or why it cannot. One open opportunity per lead: a second
    deal for the same account and product is the same one, updated."""
    if lead_stage == "merged":
        raise InvalidInput("this lead was merged into another; convert the lead that carries on")
    if open_opportunity is not None:
        raise InvalidInput(
            f"this lead already has an open opportunity (#{open_opportunity}); update that one instead"
        )
    stage = (stage or STAGES[0]).strip().casefold()
    if stage not in STAGES:
        raise InvalidInput(
            f"unknown stage {stage[:50]!r}; an opportunity opens at one of: {', '.join(STAGES)}"
        )
    if expected_close_on is not None and expected_close_on < now.date():
        raise InvalidInput(f"the expected close date {expected_close_on} is in the past")
    text = (name or "").strip() or default_name
    return Draft(
        name=text[:300],
        stage=stage,
        amount=_amount(amount),
        currency=currency_of(currency),
        expected_close_on=expected_close_on,
        created_at=now,
    )


@dataclass(frozen=True, slots=True)
class Change:
    """What a person asked to change; None leaves a field as it is."""

    stage: str | None = None
    outcome: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    expected_close_on: date | None = None
    lost_reason: str | None = None
    closed_on: date | None = None  # when it was won or lost, if not today


@dataclass(frozen=True, slots=True)
class Updated:
    state: State
    closed_at: datetime | None
    lost_reason: str | None
    backwards: bool
    at: datetime  # when the change happened (a close dated in the past is recorded then)


def update(
    current: State, closed_at: datetime | None, lost_reason: str | None, change: Change, *, now: datetime
) -> Updated:
    """An opportunity after a person's change. Won or lost closes it (lost needs a reason); an
    open stage on a closed deal reopens it, which the history keeps as a step back."""
    outcome = change.outcome or current.outcome
    if outcome not in OUTCOMES:
        raise InvalidInput(f"outcome {outcome[:20]!r} is not one of: {', '.join(OUTCOMES)}")
    stage = change.stage.strip().casefold() if change.stage and change.stage.strip() else None
    if stage is not None and stage in CLOSED_STAGE.values():
        outcome = "won" if stage == "closed won" else "lost"
        stage = None
    if stage is not None:
        if stage not in STAGES:
            raise InvalidInput(f"unknown stage {stage[:50]!r}; choose one of: {', '.join(STAGES)}")
        if change.outcome is None:
            outcome = "open"  # an open stage on a closed deal reopens it
        elif outcome != "open":
            raise InvalidInput(f"a {outcome} opportunity has no open stage; leave the stage out or reopen it")
    reason = lost_reason
    if outcome == "lost":
        given = (change.lost_reason or "").strip()
        reason = given[:300] or (lost_reason if current.outcome == "lost" else None)
        if not reason:
            raise InvalidInput("a lost opportunity needs a reason: say why it was lost")
    else:
        reason = None
    when = now
    if change.closed_on is not None:
        if outcome == "open":
            raise InvalidInput("an open opportunity has no close date; use the expected close date instead")
        if change.closed_on > now.date():
            raise InvalidInput(f"the close date {change.closed_on} is in the future")
        when = datetime.combine(change.closed_on, now.timetz())
    closed = (
        None
        if outcome == "open"
        else (closed_at if current.outcome == outcome and change.closed_on is None else when)
    )
    new_stage = CLOSED_STAGE[outcome] if outcome != "open" else (stage or _open_stage(current))
    state = State(
        stage=new_stage,
        outcome=outcome,
        amount=_amount(change.amount) if change.amount is not None else current.amount,
        currency=currency_of(change.currency) if change.currency is not None else current.currency,
        expected_close_on=change.expected_close_on
        if change.expected_close_on is not None
        else current.expected_close_on,
    )
    if state.amount is None and outcome == "won":
        raise InvalidInput("a won opportunity needs its amount")
    return Updated(state, closed, reason, backwards(current, state), closed or when)


def _open_stage(current: State) -> str:
    """The stage a reopened deal goes back to: its own if it has an open one, else the last."""
    if current.outcome == "open" and current.stage:
        return current.stage
    return STAGES[-1]
