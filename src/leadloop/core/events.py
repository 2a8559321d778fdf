"""Domain events: rules record them, handlers publish them after the commit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Event:
    pass


@dataclass(frozen=True)
class LeadOpened(Event):
    lead_id: int
    account_id: int
    product: str
    at: datetime


Handler = Callable[[Any], None]


class EventBus:
    """In-process publish/subscribe. Subscribers run after the commit that produced the event."""

    def __init__(self) -> None:
        self._subs: dict[type[Event], list[Handler]] = defaultdict(list)

    def subscribe(self, kind: type[Event], handler: Handler) -> None:
        self._subs[kind].append(handler)

    def publish(self, events: list[Event]) -> None:
        for event in events:
            for handler in self._subs.get(type(event), []):
                handler(event)


@dataclass(frozen=True)
class LeadReachedMQL(Event):
    """A lead's engagement crossed the model's MQL threshold with a good enough fit: routing runs."""

    lead_id: int
    account_id: int
    product: str
    engagement: float
    grade: str | None
    at: datetime


@dataclass(frozen=True)
class LeadCooled(Event):
    """An MQL that sales never accepted decayed below the threshold: it went back to nurture."""

    lead_id: int
    engagement: float
    at: datetime
