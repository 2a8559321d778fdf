"""A lead's lifecycle as one table: which stage a trigger moves it to, and what happens to its owner.

inquiry → mql → sal (accepted) → sql → opportunity → won | lost; a rejected lead is recycled to
marketing, an MQL nobody accepted cools back to nurture, and both come back as MQLs when their
engagement rises again. An MQL may pass a qualifying call first (the BDR desk): qualified, it is
handed over to a field rep (stage handed_over, which the rep accepts or rejects like an MQL); not
ready, it goes back to nurture; not a buyer, it is disqualified to the remarketing pool. Every move that is not in the table is refused with a sentence that says
why, so no module can put a lead somewhere the funnel has no road to.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from leadloop.core.errors import InvalidInput

DEFAULT_PRODUCT = "general"


class Stage(StrEnum):
    INQUIRY = "inquiry"
    MQL = "mql"
    HANDED_OVER = "handed_over"  # a BDR qualified it on a call and handed it to a field rep
    SAL = "sal"
    SQL = "sql"
    OPPORTUNITY = "opportunity"
    WON = "won"
    LOST = "lost"
    NURTURE = "nurture"
    RECYCLED = "recycled"
    MERGED = "merged"


class Trigger(StrEnum):
    OPENED = "opened"  # engagement crossed the model's threshold: the lead exists from now on
    REACHED_MQL = "reached_mql"  # engagement crossed the MQL threshold with a good enough fit
    COOLED = "cooled"  # an MQL nobody accepted decayed below the threshold
    ROUTED = "routed"  # a new owner (rule, pool, reassignment, a rep leaving)
    ACCEPTED = "accepted"  # sales accepted it (SAL)
    REJECTED = "rejected"  # sales rejected it, with a reason: back to marketing
    TOUCHED = "touched"  # the owner's first call, meeting or e-mail (the SLA clock stops)
    QUALIFIED = "qualified"  # sales qualified it (SQL)
    CONVERTED = "converted"  # an opportunity was opened (or reopened) for it
    WON = "won"
    LOST = "lost"
    MERGED = "merged"  # its account merged into another that had a lead for the same product
    UNMERGED = "unmerged"  # that merge was undone: the lead is as it was before it
    RECYCLED = "recycled"  # a lost or cooled lead goes to the remarketing pool
    REACTIVATED = "reactivated"  # a recycled or nurtured lead showed serious interest again
    IMPORTED = "imported"  # a team switching from a peer CRM: the stage it had there (carry_over)
    # The qualification desk (a BDR's outcomes for an MQL):
    HANDED_OVER = "handed_over"  # qualified on a call, handed to a field rep with the notes
    SENT_TO_NURTURE = "sent_to_nurture"  # not ready yet: back to marketing's nurture, with a reason
    DISQUALIFIED = "disqualified"  # not a buyer: to the remarketing pool, with a reason


class Owner(StrEnum):
    """What a move does to the lead's owner."""

    KEEP = "keep"
    GIVEN = "given"  # the caller names the new owner (routing decided it)
    NURTURE = "nurture"  # marketing's nurture queue owns immature leads


# With sales, clock running or accepted (a handed-over lead waits for its field rep like an MQL).
OPEN = frozenset({Stage.MQL, Stage.HANDED_OVER, Stage.SAL, Stage.SQL})
CLOSED = frozenset({Stage.WON, Stage.LOST, Stage.MERGED})
WITH_MARKETING = frozenset({Stage.INQUIRY, Stage.NURTURE, Stage.RECYCLED})
LIVE = frozenset(Stage) - {Stage.MERGED}
# Marketing's remarketing pool: where a lead waits when sales is not (or no longer) working it.
REMARKETING = frozenset({Stage.NURTURE, Stage.RECYCLED, Stage.LOST})
# The moves that put a lead into that pool: the remarketing sequences enrol it by these (no lead
# dies). A move within the pool (a lost lead recycled) or a restore (an unmerge, a CRM import's
# carry-over) enrols nobody again.
INTO_REMARKETING = frozenset(
    {Trigger.REJECTED, Trigger.COOLED, Trigger.LOST, Trigger.DISQUALIFIED, Trigger.SENT_TO_NURTURE}
)


# How far along the funnel each stage is; where two leads become one (an account merge), the
# further one carries on.
PROGRESS = (
    Stage.MERGED,
    Stage.LOST,
    Stage.RECYCLED,
    Stage.NURTURE,
    Stage.INQUIRY,
    Stage.MQL,
    Stage.HANDED_OVER,
    Stage.SAL,
    Stage.SQL,
    Stage.OPPORTUNITY,
    Stage.WON,
)


def arrives(from_stage: str | None, to_stage: str) -> bool:
    """Whether a stage-history row moves the lead into `to_stage`. Routing or reassigning a lead
    records a row that keeps its stage: that is no arrival (the reports, the home pipeline and Why
    now count arrivals). SQL: `lifecycle.history.ARRIVAL`."""
    return from_stage != to_stage


def further(a: str, b: str) -> bool:
    """Is stage `a` further along the funnel than `b`?"""
    return PROGRESS.index(Stage(a)) > PROGRESS.index(Stage(b))


@dataclass(frozen=True, slots=True)
class Transition:
    previous: Stage | None
    to: Stage
    trigger: Trigger
    owner: Owner = Owner.KEEP


class IllegalTransition(InvalidInput):
    """A move the lifecycle has no road for, such as accepting a lead that is already won."""

    def __init__(self, previous: Stage | str | None, trigger: Trigger, *, lead_id: int | None = None) -> None:
        self.previous, self.trigger = previous, trigger
        what = f"lead #{lead_id}" if lead_id is not None else "a lead"
        state = f"is {previous}" if previous is not None else "does not exist yet"
        allowed = ", ".join(sorted(str(s) for s in FROM[trigger])) if FROM.get(trigger) else "none"
        super().__init__(
            f"{what} {state}; {ACTION[trigger]} is possible only from: {allowed}"
            if previous is not None
            else f"{what} {state}; only opening it is possible"
        )


def transition(previous: Stage | None, trigger: Trigger) -> Transition:
    """The move `trigger` makes from `previous`, or IllegalTransition. Pure: the handler acts on it."""
    S, T = Stage, Trigger
    match (previous, trigger):
        case (None, T.OPENED):
            return Transition(previous, S.INQUIRY, trigger, Owner.NURTURE)
        case (S.INQUIRY | S.NURTURE | S.RECYCLED, T.REACHED_MQL | T.REACTIVATED):
            return Transition(previous, S.MQL, trigger)
        case (S.MQL, T.COOLED):
            return Transition(previous, S.NURTURE, trigger, Owner.NURTURE)
        case (prev, T.ROUTED) if prev is not None and prev is not S.MERGED:
            # Any live lead can be handed to someone: an MQL by the rules, a deal to another rep.
            return Transition(previous, prev, trigger, Owner.GIVEN)
        case (S.MQL, T.HANDED_OVER):  # the BDR qualified it: a field rep (routing's choice) owns it
            return Transition(previous, S.HANDED_OVER, trigger, Owner.GIVEN)
        case (S.MQL, T.SENT_TO_NURTURE):
            return Transition(previous, S.NURTURE, trigger, Owner.NURTURE)
        case (S.MQL, T.DISQUALIFIED):  # no lead dies: a disqualified one waits in the remarketing pool
            return Transition(previous, S.RECYCLED, trigger, Owner.NURTURE)
        case (S.MQL | S.HANDED_OVER | S.SAL, T.ACCEPTED):
            return Transition(previous, S.SAL, trigger)
        case (S.SQL, T.ACCEPTED):  # accepting again never takes a qualified lead back a step
            return Transition(previous, S.SQL, trigger)
        case (S.MQL | S.HANDED_OVER | S.SAL | S.SQL, T.REJECTED):
            return Transition(previous, S.RECYCLED, trigger, Owner.NURTURE)
        case (S.MQL | S.HANDED_OVER | S.SAL | S.SQL, T.TOUCHED):
            return Transition(previous, previous, trigger)
        case (S.SAL, T.QUALIFIED):
            return Transition(previous, S.SQL, trigger)
        # The CRM is the record of opportunities: whatever it says of a live lead's deal holds.
        case (
            S.INQUIRY
            | S.MQL
            | S.HANDED_OVER
            | S.SAL
            | S.SQL
            | S.NURTURE
            | S.RECYCLED
            | S.OPPORTUNITY
            | S.WON
            | S.LOST,
            T.CONVERTED | T.WON | T.LOST,
        ):
            return Transition(previous, _OUTCOME[trigger], trigger)
        case (S.LOST | S.NURTURE, T.RECYCLED):
            return Transition(previous, S.RECYCLED, trigger, Owner.NURTURE)
        case (S.LOST | S.WON, T.REACTIVATED):  # an old customer or a lost deal raising a hand
            return Transition(previous, S.MQL, trigger, Owner.NURTURE)
        case (prev, T.MERGED) if prev is not None and prev is not S.MERGED:
            return Transition(previous, S.MERGED, trigger)
    raise IllegalTransition(previous, trigger)


def recycles(t: Transition) -> bool:
    """Does this move put the lead into the remarketing pool (rejected, cooled, lost, disqualified,
    sent back to nurture) from outside it?"""
    return t.trigger in INTO_REMARKETING and t.to in REMARKETING and t.previous not in REMARKETING


def restore(previous: Stage, to: Stage) -> Transition:
    """Undoing an account merge puts a lead back exactly as the merge found it, whatever happened
    to it since (the same policy as every other field an unmerge restores; the history keeps both)."""
    return Transition(previous, to, Trigger.UNMERGED)


# Stages a peer CRM's state can be carried over to (everything a lead can be, but merged).
CARRIED = frozenset(Stage) - {Stage.MERGED}


def carry_over(previous: Stage, wanted: Stage) -> Transition | None:
    """The stage a lead had in the CRM a team switches from, carried over by an import (the
    `imported` trigger; what to write for each of the peer's values is the import's mapping).
    A lead marketing still holds (inquiry, nurture, recycled: Leadloop has not worked it) takes
    whatever the peer says; a lead already with sales only moves further along the funnel, so a
    re-run of an old export never undoes Leadloop's own work; a closed lead (won, lost, merged)
    stays as it is. None: nothing to do. The owner is kept: it is carried over by a routing move."""
    if wanted not in CARRIED:
        raise IllegalTransition(previous, Trigger.IMPORTED)
    if wanted is previous or previous in CLOSED:
        return None
    if previous in WITH_MARKETING or further(wanted, previous):
        return Transition(previous, wanted, Trigger.IMPORTED)
    return None


_OUTCOME = {Trigger.CONVERTED: Stage.OPPORTUNITY, Trigger.WON: Stage.WON, Trigger.LOST: Stage.LOST}

# The stages each trigger may start from (for the error sentence and the docs); a unit test checks
# that it agrees with `transition` for every pair.
FROM: dict[Trigger, frozenset[Stage]] = {
    Trigger.OPENED: frozenset(),
    Trigger.REACHED_MQL: WITH_MARKETING,
    Trigger.COOLED: frozenset({Stage.MQL}),
    Trigger.ROUTED: LIVE,
    Trigger.ACCEPTED: OPEN,
    Trigger.REJECTED: OPEN,
    Trigger.TOUCHED: OPEN,
    Trigger.QUALIFIED: frozenset({Stage.SAL}),
    Trigger.CONVERTED: LIVE,
    Trigger.WON: LIVE,
    Trigger.LOST: LIVE,
    Trigger.MERGED: LIVE,
    Trigger.UNMERGED: frozenset(Stage),
    Trigger.RECYCLED: frozenset({Stage.LOST, Stage.NURTURE}),
    Trigger.REACTIVATED: WITH_MARKETING | {Stage.LOST, Stage.WON},
    Trigger.IMPORTED: LIVE - CLOSED,
    Trigger.HANDED_OVER: frozenset({Stage.MQL}),
    Trigger.SENT_TO_NURTURE: frozenset({Stage.MQL}),
    Trigger.DISQUALIFIED: frozenset({Stage.MQL}),
}

ACTION = {
    Trigger.OPENED: "opening it",
    Trigger.REACHED_MQL: "making it an MQL",
    Trigger.COOLED: "cooling it back to nurture",
    Trigger.ROUTED: "routing it to an owner",
    Trigger.ACCEPTED: "accepting it",
    Trigger.REJECTED: "rejecting it",
    Trigger.TOUCHED: "logging a first touch",
    Trigger.QUALIFIED: "qualifying it",
    Trigger.CONVERTED: "opening an opportunity",
    Trigger.WON: "marking it won",
    Trigger.LOST: "marking it lost",
    Trigger.MERGED: "closing it as merged",
    Trigger.UNMERGED: "undoing a merge",
    Trigger.RECYCLED: "recycling it",
    Trigger.REACTIVATED: "reactivating it",
    Trigger.IMPORTED: "carrying over its stage from an import",
    Trigger.HANDED_OVER: "handing it over to a field rep",
    Trigger.SENT_TO_NURTURE: "sending it back to nurture",
    Trigger.DISQUALIFIED: "disqualifying it",
}

# Stages as people read them (badges, filters, reports); the code stays in the database and the API.
STAGE_LABELS: dict[str, str] = {
    Stage.INQUIRY: "Inquiry",
    Stage.MQL: "MQL",
    Stage.HANDED_OVER: "Handed over",
    Stage.SAL: "SAL",
    Stage.SQL: "SQL",
    Stage.OPPORTUNITY: "Opportunity",
    Stage.WON: "Won",
    Stage.LOST: "Lost",
    Stage.NURTURE: "Nurture",
    Stage.RECYCLED: "Recycled",
    Stage.MERGED: "Merged",
}

# The BDR queue: MQLs a routing rule sends to the qualification desk wait here for any BDR to call.
BDR_QUEUE = "BDR queue"
