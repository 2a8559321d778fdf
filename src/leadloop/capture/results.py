"""What a capture did, item by item, and the events it raised (already published)."""

from __future__ import annotations

from dataclasses import dataclass, field

from leadloop.core.errors import InvalidInput
from leadloop.core.events import Event

REFUSED = "refused"  # not stored: the check wired into capture turned it away (`why` says why)


@dataclass(slots=True)
class Outcome:
    status: str  # created | updated | unchanged | duplicate | refused
    id: int | None = None
    account_id: int | None = None
    activity_id: int | None = None
    why: str | None = None


@dataclass
class Result:
    outcomes: list[Outcome] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


class Refused(InvalidInput):
    """The one record a caller gave was turned away by the refusal check (an erased person)."""
