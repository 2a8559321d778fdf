"""The demo's SLA history: the MQLs waiting for sales were assigned over the past six weeks, not
all at the moment the demo was built, and each rep did something with most of them: accepted in
time, called, accepted late, rejected, or (the last day's) not yet. A lead the rules sent to the
qualification desk gets a BDR's outcome instead: a qualifying call (the BDR's first touch, in time
or late like a rep's), then qualified and handed to a field rep (who works it like any lead), back
to nurture, or disqualified. So the SLA report, Team and the desk report look like a real team's.
Pure: a plan from the leads, the seed and `now`; seed.py carries it out through the real routing,
lifecycle and qualification handlers."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

WEEKS = 6


class Outcome(StrEnum):
    ACCEPT_IN_TIME = "accept in time"
    CALL_IN_TIME = "call in time"
    ACCEPT_LATE = "accept late"
    REJECT = "reject"
    WAIT = "wait"  # nothing yet: a running (or overdue) clock in the inbox


# What reps did with the older leads, in turn (so even a small demo world has each outcome): about
# half accepted in time, a fifth called in time, a fifth accepted late, one in ten rejected.
MIX = (
    Outcome.ACCEPT_IN_TIME,
    Outcome.CALL_IN_TIME,
    Outcome.ACCEPT_LATE,
    Outcome.ACCEPT_IN_TIME,
    Outcome.REJECT,
    Outcome.ACCEPT_IN_TIME,
    Outcome.CALL_IN_TIME,
    Outcome.ACCEPT_LATE,
    Outcome.ACCEPT_IN_TIME,
    Outcome.ACCEPT_IN_TIME,
)
# When, as a share of the time the SLA gave (below 1 is in time).
SHARE = {
    Outcome.ACCEPT_IN_TIME: (0.1, 0.9),
    Outcome.CALL_IN_TIME: (0.1, 0.95),
    Outcome.ACCEPT_LATE: (1.2, 6.0),
    Outcome.REJECT: (0.2, 2.0),
}


class Desk(StrEnum):
    HAND_OVER = "qualified and handed over"
    NURTURE = "back to nurture"
    DISQUALIFY = "disqualified"


# What the BDR decided after the call, in turn: most qualify, a quarter are not ready, one in eight
# is no buyer.
DESK_MIX = (
    Desk.HAND_OVER,
    Desk.NURTURE,
    Desk.HAND_OVER,
    Desk.DISQUALIFY,
    Desk.HAND_OVER,
    Desk.HAND_OVER,
    Desk.NURTURE,
    Desk.HAND_OVER,
)
# The qualifying call's answers (field -> choices to take in turn, and the note); a field the form
# does not have here takes its first choice.
ANSWERS = {
    "budget": (("approved", "planned"), "Budget set aside for a pilot this year."),
    "authority": (("decision_maker", "influencer"), "Head of Data signs; IT reviews security."),
    "need": (("clear", "urgent"), "Pipeline reporting lives in spreadsheets; they want one view."),
    "timeline": (("quarter", "half_year"), "Board review next month; they want to start soon after."),
}


def desk_outcome(turn: int) -> Desk:
    """The desk's `turn`-th decision (counted over the desk's leads only, so the mix holds however
    few leads the rules send there)."""
    return DESK_MIX[turn % len(DESK_MIX)]


@dataclass(frozen=True)
class DeskStep:
    """What happens to the lead if it reaches the desk (the outcome: `desk_outcome`)."""

    decide_after: timedelta  # from the qualifying call to the outcome
    then: Outcome  # what the field rep does with it once handed over
    then_share: float


@dataclass(frozen=True)
class Step:
    lead_id: int
    assign_at: datetime
    outcome: Outcome
    # minutes after the assignment, as a share of the lead's first-touch minutes: < 1 is in time
    after_share: float
    desk: DeskStep | None = None  # None: it waits (at the desk too)

    def handed_over(self) -> Step:
        """The field rep's part of a lead the desk handed over."""
        assert self.desk is not None
        return Step(self.lead_id, self.assign_at, self.desk.then, self.desk.then_share)


def plan(leads: list[tuple[int, datetime | None]], *, seed: int, now: datetime) -> list[Step]:
    """One step per (lead id, time it became an MQL), oldest assignment first. The latest eighth
    (in a small world up to half, at most 12) are still waiting, half of them arrived in the last three hours; the
    older ones were worked one way or another."""
    rng = random.Random(seed)
    desk_rng = random.Random(f"{seed}:desk")  # its own stream: the reps' story stays the same
    timed = []
    for lead_id, mql_at in leads:
        earliest = max(now - timedelta(weeks=WEEKS), mql_at or now - timedelta(weeks=WEEKS))
        span = max(0.0, (now - earliest).total_seconds())
        timed.append((earliest + timedelta(seconds=rng.uniform(0, span)) if span else now, lead_id, earliest))
    timed.sort()
    waiting = max(len(timed) // 8, min(12, len(timed) // 2))
    steps = []
    for i, (at, lead_id, earliest) in enumerate(timed):
        if i >= len(timed) - waiting:
            if i % 2:
                at = max(earliest, now - timedelta(minutes=rng.uniform(1, 180)))
            steps.append(Step(lead_id, at, Outcome.WAIT, 0.0))
            continue
        outcome = MIX[i % len(MIX)]
        low, high = SHARE[outcome]
        share = rng.uniform(low, high)
        if i == len(timed) - waiting - 1:
            # The latest worked lead was taken late, three days ago: whatever the weekday and hour
            # the demo is built at (business-hours clocks do not run at night or on weekends), Team
            # and the SLA report have a breach of the last 7 days to open.
            at, outcome, share = max(earliest, now - timedelta(days=3)), Outcome.ACCEPT_LATE, 3.0
        then = MIX[(i + 3) % len(MIX)]
        desk = DeskStep(
            timedelta(minutes=desk_rng.uniform(5, 45)),
            then,
            desk_rng.uniform(*SHARE[then]),
        )
        steps.append(Step(lead_id, at, outcome, share, desk))
    return sorted(steps, key=lambda s: (s.assign_at, s.lead_id))


def answers(fields: list[tuple[str, list[str]]], turn: int) -> dict[str, object]:
    """The form's answers for the `turn`-th hand-over: (field key, its choice codes) in, the
    qualification form's {"choice", "note"} per field out."""
    out: dict[str, object] = {}
    for key, choices in fields:
        prefer, note = ANSWERS.get(key, ((), ""))
        usable = [c for c in prefer if c in choices] or choices[:1]
        out[key] = {"choice": usable[turn % len(usable)] if usable else "", "note": note}
    return out


def acted_at(step: Step, assigned_at: datetime, due_at: datetime | None, now: datetime) -> datetime | None:
    """When the rep acted: the share of the time the SLA gave, never in the future (None: not yet)."""
    if step.outcome is Outcome.WAIT or due_at is None:
        return None
    at = assigned_at + (due_at - assigned_at) * step.after_share
    return at if at < now else None
