"""Reactions instead of cross-calls. The composition root (`leadloop.bootstrap`) says who reacts to
what; a handler that made something happen calls `publish`, which runs the reactions inside the
same transaction, then the reactions to what they raised, until nothing new happens.

Why inside the transaction: a lead that becomes an MQL is routed before the capture's POST returns
(speed-to-lead), and a crash never leaves an activity counted but not scored. Work that may happen
later leaves through a timer or the outbox, which a reaction writes in the same transaction too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from leadloop.core.events import Event

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

Reaction = Callable[["Session", list[Any], datetime], list[Event]]
KEY = "leadloop.reactions"  # where a session carries them (session.info, set by the Database)
MAX_ROUNDS = 20  # a reaction that keeps raising what it reacts to is a bug, not a workload


class NoReactions(RuntimeError):
    """A write session without the wiring: build the Database through leadloop.bootstrap."""


class ReactionLoop(RuntimeError):
    """Reactions kept raising events for MAX_ROUNDS rounds."""


class Reactions:
    def __init__(self) -> None:
        self._by_kind: dict[type[Event], list[Reaction]] = {}

    def on(self, kind: type[Event], reaction: Reaction) -> None:
        self._by_kind.setdefault(kind, []).append(reaction)

    def wired(self) -> dict[type[Event], list[Reaction]]:
        return {k: list(v) for k, v in self._by_kind.items()}

    def run(self, session: Session, events: list[Event], now: datetime) -> list[Event]:
        """Every event given and every event the reactions raised, in the order they happened.

        Each round gives a reaction all of the round's events of its kind at once, kinds in the
        order they first appear, events in the order they happened (ADR 0046). A batch that
        routes 300 MQLs raises [moved, assigned, moved, assigned, ...]: two calls, not 600. Every
        event of a round was raised by work already done, so each reaction sees the state after
        all of them either way."""
        seen: list[Event] = []
        pending = list(events)
        for _ in range(MAX_ROUNDS):
            if not pending:
                return seen
            seen.extend(pending)
            raised: list[Event] = []
            for batch in _runs(pending):
                for reaction in self._by_kind.get(type(batch[0]), ()):
                    raised.extend(reaction(session, batch, now))
            pending = raised
        raise ReactionLoop(f"reactions still raising after {MAX_ROUNDS} rounds: {pending[:3]!r}")


def _runs(events: list[Event]) -> list[list[Event]]:
    """The events by kind: kinds in the order they first appear, each kind's in order."""
    by_kind: dict[type[Event], list[Event]] = {}
    for e in events:
        by_kind.setdefault(type(e), []).append(e)
    return list(by_kind.values())


def publish(session: Session, events: list[Event], *, now: datetime) -> list[Event]:
    """Run the reactions to `events` in the session's transaction; return all that happened."""
    if not events:
        return []
    reactions = session.info.get(KEY)
    if reactions is None:
        raise NoReactions("this session has no reactions wired; build the Database with leadloop.bootstrap")
    result: list[Event] = reactions.run(session, events, now)
    return result
