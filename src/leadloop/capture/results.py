"""What a capture did, item by item, and the events it raised (already published)."""

from __future__ import annotations

from dataclasses import dataclass, field

from leadloop.core.events import Event


@dataclass(slots=True)
class Outcome:
    status: str  # created | updated | unchanged | duplicate
    id: int | None = None
    account_id: int | None = None
    activity_id: int | None = None


@dataclass
class Result:
    outcomes: list[Outcome] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)
