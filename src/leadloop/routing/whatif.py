"""What a what-if's difference means. Replaying past leads through a rule set starts every pool
from today's fairness state, so on unchanged rules a round robin hands many leads to another
member: that is a different turn of the same pool, not a rule sending the lead elsewhere. Only the
second is a change a person editing rules must look at; the headline counts only those.
Pure: it reads two routing paths (as `rules.decide` writes them) and two owner names."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any


class Change(StrEnum):
    SAME = "same"  # the same owner
    TURN = "turn"  # the same pool, another member: only the round robin's turn differs
    RULE = "rule"  # a rule now sends it elsewhere: another rule, pool, user, queue or partner
    HAND = "hand"  # its owner was set outside the rules since (by hand, an import): not compared


EXPLAIN = {
    Change.RULE: "a rule now sends it elsewhere (another rule, pool, person, queue or partner)",
    Change.TURN: "the same pool, another member: only the pool's turn differs, because the replay "
    "starts from today's round-robin and load state, not the one each lead met",
    Change.SAME: "the same owner",
    Change.HAND: "someone gave it its owner outside the rules (by hand or by an import), so there is "
    "no rule decision to compare with",
}


def route_of(path: Iterable[dict[str, Any]] | None) -> str | None:
    """Where a decision sent the lead: its last "assigned" step ("pool emea", "user a@x.io",
    "queue Sales inbox", "account owner", "fallback"); None for a decision with no path."""
    route = None
    for step in path or []:
        if step.get("result") == "assigned":
            route = str(step.get("step"))
    return route


def classify(
    *,
    was_owner: str,
    was_route: str | None,
    would_owner: str,
    would_route: str | None,
    pool_members: frozenset[str] = frozenset(),
    by_hand: bool = False,
) -> Change:
    """Same owner; else set by hand since (`by_hand`: not the rules' doing); else the same pool (by
    the recorded route, or, for a decision recorded without one, today's owner being a member of the
    pool the rules pick now); else a rule change."""
    if would_owner.casefold() == was_owner.casefold():
        return Change.SAME
    if by_hand:
        return Change.HAND
    if would_route is not None and would_route.startswith("pool "):
        if was_route == would_route:
            return Change.TURN
        if was_route is None and was_owner.casefold() in {m.casefold() for m in pool_members}:
            return Change.TURN
    return Change.RULE
