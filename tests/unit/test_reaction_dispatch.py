"""The reactions' dispatch (ADR 0046): a round gives each reaction all of its kind's events at once,
kinds in the order they first appear, and reports every event in the order it happened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from leadloop.core.events import Event
from leadloop.core.reactions import Reactions

NOW = datetime(2026, 12, 7, tzinfo=UTC)


@dataclass(frozen=True)
class Moved(Event):
    lead: int


@dataclass(frozen=True)
class Assigned(Event):
    lead: int


@dataclass(frozen=True)
class Told(Event):
    lead: int


def test_a_round_gives_each_reaction_its_kind_at_once_in_order() -> None:
    calls: list[tuple[str, list[int]]] = []
    reactions = Reactions()

    def on_moved(session: Any, events: list[Moved], now: datetime) -> list[Event]:
        calls.append(("moved", [e.lead for e in events]))
        return []

    def on_assigned(session: Any, events: list[Assigned], now: datetime) -> list[Event]:
        calls.append(("assigned", [e.lead for e in events]))
        return [Told(e.lead) for e in events]  # the next round's

    def on_told(session: Any, events: list[Told], now: datetime) -> list[Event]:
        calls.append(("told", [e.lead for e in events]))
        return []

    reactions.on(Moved, on_moved)
    reactions.on(Assigned, on_assigned)
    reactions.on(Told, on_told)
    given: list[Event] = [Moved(1), Assigned(1), Moved(2), Assigned(2), Moved(3)]
    seen = reactions.run(cast(Any, None), given, NOW)
    assert calls == [("moved", [1, 2, 3]), ("assigned", [1, 2]), ("told", [1, 2])]
    assert seen == [*given, Told(1), Told(2)]  # what happened, in the order it happened


def test_a_kind_that_first_appears_later_runs_later() -> None:
    order: list[str] = []
    reactions = Reactions()
    reactions.on(Assigned, lambda s, es, now: order.append("assigned") or [])
    reactions.on(Moved, lambda s, es, now: order.append("moved") or [])
    reactions.run(cast(Any, None), [Assigned(1), Moved(1), Assigned(2)], NOW)
    assert order == ["assigned", "moved"]
