"""A lead's journey in words, from its stage history: what the lead page lists (opened, MQL,
assigned, rejected with its reason, nurtured, recycled, reactivated by which activity...), and how
long a lead lay in the remarketing pool before something brought it back. Pure: the rows come in
with the people's names already looked up (`lifecycle/history.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from leadloop.core.labels import label
from leadloop.lifecycle.model import REMARKETING, Trigger

# Where a dormant lead was, as it reads after "after 143 days ...".
_PLACE = {"recycled": "in remarketing", "nurture": "in nurture", "lost": "as a lost deal"}
# Reasons that are a person's own words (or a reason code): worth repeating. A cooling's reason is
# arithmetic ("engagement 41.2 fell below ...") the page shows, but an alert does not need.
_SAYS_WHY = {Trigger.REJECTED, Trigger.LOST, Trigger.DISQUALIFIED, Trigger.SENT_TO_NURTURE}


@dataclass(frozen=True)
class Change:
    """One row of the stage history, with names in place of ids."""

    at: datetime
    from_stage: str | None
    to_stage: str
    trigger: str
    reason: str | None = None
    by: str | None = None  # who made the move (a rep rejecting, a BDR qualifying)
    owner: str | None = None  # the owner after it (a user, a queue or a partner)


@dataclass(frozen=True)
class Dormancy:
    """A stay in the remarketing pool: from the move that put the lead there to the one that took
    it out. `stage` is the pool stage it left; `trigger` and `reason` say how it got there."""

    stage: str
    since: datetime
    until: datetime
    trigger: str
    reason: str | None

    @property
    def days(self) -> int:
        return (self.until - self.since).days

    def words(self) -> str:
        """'143 days in remarketing (rejected by sales: no budget)'."""
        place = _PLACE.get(self.stage, f"in {label(self.stage, 'stage').lower()}")
        return f"{duration(self.until - self.since)} {place} ({entered(self.trigger, self.reason)})"


@dataclass(frozen=True)
class Step:
    """One line of the journey. `trigger` is for the page's styling; everything shown is words."""

    at: datetime
    trigger: str
    stage: str
    what: str
    detail: str | None = None
    by: str | None = None


def duration(delta: timedelta) -> str:
    """'143 days', '1 day', '5 hours', 'less than an hour'."""
    if delta.days >= 1:
        return f"{delta.days} day" + ("" if delta.days == 1 else "s")
    hours = int(delta.total_seconds() // 3600)
    if hours >= 1:
        return f"{hours} hour" + ("" if hours == 1 else "s")
    return "less than an hour"


def reason_words(trigger: str, reason: str | None) -> str | None:
    """A history row's reason as a person reads it: a rejection's reason code becomes its label."""
    if not reason:
        return None
    return label(reason, "reason") if trigger == Trigger.REJECTED else reason


def entered(trigger: str, reason: str | None) -> str:
    """How a lead got into the pool: 'rejected by sales: no budget', 'cooled off'."""
    what = label(trigger, "trigger").lower()
    why = reason_words(trigger, reason) if trigger in _SAYS_WHY else None
    if why and trigger == Trigger.REJECTED:
        why = why.lower()
    return f"{what}: {why}" if why else what


def dormancy(changes: Sequence[Change], upto: int) -> Dormancy | None:
    """The stay in the pool that `changes[upto]` ended: back through the rows while the lead stayed
    in the pool (a lost deal recycled is one stay) to the move that put it there. None when the row
    does not leave the pool, or the history does not say how the lead got there."""
    leaving = changes[upto]
    if leaving.from_stage not in REMARKETING or leaving.to_stage in REMARKETING:
        return None
    for c in reversed(changes[:upto]):
        if c.to_stage not in REMARKETING:
            return None
        if c.from_stage not in REMARKETING:
            return Dormancy(leaving.from_stage, c.at, leaving.at, c.trigger, c.reason)
    return None


def last_reactivation(changes: Sequence[Change]) -> Dormancy | None:
    """The stay the latest reactivation ended (the alert's "after 143 days in remarketing")."""
    for i in range(len(changes) - 1, -1, -1):
        if changes[i].trigger == Trigger.REACTIVATED:
            return dormancy(changes, i)
    return None


def journey(changes: Sequence[Change]) -> list[Step]:
    """Every move of the lead, oldest first, in words."""
    steps = []
    for i, c in enumerate(changes):
        what, detail = label(c.trigger, "trigger"), reason_words(c.trigger, c.reason)
        match c.trigger:
            case Trigger.OPENED:
                detail = f"owned by {c.owner}" if c.owner else None
            case Trigger.ROUTED:
                what, detail = (f"Assigned to {c.owner}" if c.owner else what), None
            case Trigger.REACHED_MQL:
                what = "Became an MQL"
            case Trigger.COOLED:
                what = "Cooled off to nurture"
            case Trigger.REACTIVATED:
                stay = dormancy(changes, i)
                what = f"Reactivated after {stay.words()}" if stay else what
            case Trigger.RECYCLED:
                what = "Recycled to the remarketing pool"
        steps.append(Step(c.at, c.trigger, c.to_stage, what, detail, c.by))
    return steps


def reactivated_alert(signal: str, person: str | None, title: str, stay: Dormancy | None) -> str:
    """'Reactivated: trial sign-up by Jane Roe brought back Acme · analytics after 143 days in
    remarketing (rejected by sales: no budget)'."""
    by = f" by {person}" if person else ""
    after = f" after {stay.words()}" if stay else ""
    return f"Reactivated: {signal}{by} brought back {title}{after}"
