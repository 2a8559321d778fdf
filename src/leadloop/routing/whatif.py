"""What a what-if's difference means. Replaying past leads through a rule set starts every pool
from today's fairness state, so on unchanged rules a round robin hands many leads to another
member: that is a different turn of the same pool, not a rule sending the lead elsewhere. Nor is an
owner a person picked (a BDR handing a qualified lead to the rep of their choice), nor a lead that
went to the fallback only because everyone its rule names was away, at capacity or inactive at one
of the two moments. Only a rule sending it elsewhere is a change a person editing rules must look
at; the headline counts only those.
Pure: it reads two routing paths (as `rules.decide` writes them) and two owner names."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from leadloop.routing.rules import PICKED_WHY


class Change(StrEnum):
    SAME = "same"  # the same owner
    TURN = "turn"  # the same pool, another member: only the round robin's turn differs
    UNAVAILABLE = "unavailable"  # the same rule and target, but nobody there could take it then or now
    RULE = "rule"  # a rule now sends it elsewhere: another rule, pool, user, queue or partner
    HAND = "hand"  # a person chose its owner (by hand, a BDR's pick, an import): not compared


EXPLAIN = {
    Change.RULE: "a rule now sends it elsewhere (another rule, pool, person, queue or partner)",
    Change.TURN: "the same pool, another member: only the pool's turn differs, because the replay "
    "starts from today's round-robin and load state, not the one each lead met",
    Change.UNAVAILABLE: "the same rule names the same pool or person, but nobody there could take it "
    "(away, at capacity or inactive) when it was routed or now, so one of the two went to the fallback",
    Change.SAME: "the same owner",
    Change.HAND: "a person chose its owner (by hand, a BDR's pick at hand-over, or an import), or no "
    "routing decision gave it the owner it has, so there is no rule decision to compare with",
}


@dataclass(frozen=True)
class Route:
    """What a routing path says. `to`: its last "assigned" step ("pool emea", "user a@x.io", "queue
    Sales inbox", "account owner", "fallback"); `meant`: where the step that decided meant to send it
    (the account owner or the matched rule's pool or person), which is `to` unless they could not
    take it; `picked`: a person picked the owner, no rule did."""

    to: str | None = None
    meant: str | None = None
    picked: bool = False

    @property
    def blocked(self) -> bool:
        """The account owner, pool or person meant could not take it, so it went on."""
        return self.meant is not None and self.meant != self.to


def route_of(path: Iterable[dict[str, Any]] | None) -> str | None:
    """Where a decision sent the lead: its last "assigned" step; None for a decision with no path."""
    return read(path).to


def read(path: Iterable[dict[str, Any]] | None) -> Route:
    to = meant = None
    picked = False
    for step in path or []:
        name, result = str(step.get("step")), step.get("result")
        if result == "assigned":
            to = name
            picked = picked or step.get("why") == PICKED_WHY
        # The first target that took it or could not (an account owner or user "skipped", a pool
        # "empty"); a pool's single members "skipped" are its turns, not the target's refusal.
        who = name == "account owner" or name.startswith("user ") or result == "empty"
        if meant is None and (result == "assigned" or (result in ("skipped", "empty") and who)):
            meant = name
    return Route(to, meant, picked)


def classify(
    *,
    was_owner: str,
    was: Route,
    would_owner: str,
    would: Route,
    pool_members: frozenset[str] = frozenset(),
    by_hand: bool = False,
) -> Change:
    """Same owner; else chosen by a person (`by_hand`: set by hand since, or a BDR's pick): not the
    rules' doing; else the same pool (by the recorded route, or, for a decision recorded without
    one, today's owner being a member of the pool the rules pick now); else the same target whose
    people could not take it at one of the two moments; else a rule change."""
    if would_owner.casefold() == was_owner.casefold():
        return Change.SAME
    if by_hand or was.picked:
        return Change.HAND
    if would.to is not None and would.to.startswith("pool "):
        if was.to == would.to:
            return Change.TURN
        if was.to is None and was_owner.casefold() in {m.casefold() for m in pool_members}:
            return Change.TURN
    if (was.blocked or would.blocked) and was.meant == would.meant:
        return Change.UNAVAILABLE
    return Change.RULE
