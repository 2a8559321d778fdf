"""The SLA clock, decided in one place. Every view (inbox, lead page, team, reports, the API and the
leads list's "breached" filter) asks `clock_state` rather than comparing due times itself, so an
accepted, touched or rejected lead can never show a red "overdue" clock in one page and a stopped
one in another.

A clock starts when the lead is assigned to an owner with an SLA policy and stops at the first of:
the first touch (a call, meeting or e-mail), acceptance, rejection, or the lead leaving sales some
other way (cooled back to nurture, merged, closed). Events from before the current assignment
belong to an earlier owner's clock and are ignored. Pure: `now` is an argument.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from leadloop.lifecycle.model import OPEN


class Clock(StrEnum):
    NONE = "none"  # never assigned to someone with an SLA
    RUNNING = "running"  # waiting for a first touch (possibly past due: `overdue`)
    MET = "met"  # stopped at or before the due time
    BREACHED = "breached"  # stopped after the due time
    STOPPED = "stopped"  # left sales before its due time without a touch: no verdict


@dataclass(frozen=True)
class ClockFacts:
    """What the clock reads from a lead (its columns; see `facts_of`)."""

    assigned_at: datetime | None
    due_at: datetime | None
    touched_at: datetime | None = None
    accepted_at: datetime | None = None
    rejected_at: datetime | None = None
    left_sales_at: datetime | None = None  # the lead is no longer with sales since then


@dataclass(frozen=True)
class ClockState:
    state: Clock
    due_at: datetime | None = None
    stopped_at: datetime | None = None
    stopped_by: str | None = None  # "touched" | "accepted" | "rejected" | "left sales"
    now: datetime | None = None
    assigned_at: datetime | None = None

    @property
    def overdue(self) -> bool:
        """Running past its due time. Never true for a stopped clock."""
        return (
            self.state is Clock.RUNNING
            and self.due_at is not None
            and self.now is not None
            and self.now > self.due_at
        )

    @property
    def breached(self) -> bool:
        """Missed: stopped late, or still running past due."""
        return self.state is Clock.BREACHED or self.overdue

    @property
    def running(self) -> bool:
        return self.state is Clock.RUNNING

    @property
    def text(self) -> str:
        """Unambiguous words: "due in 1 h 20 min", "overdue by 25 min", "met in 12 min" (from the
        assignment to the stop), "breached by 3 h" (past the due time at the stop)."""
        if self.state is Clock.NONE or self.due_at is None:
            return "no SLA"
        if self.state is Clock.RUNNING:
            assert self.now is not None
            if self.now > self.due_at:
                return f"overdue by {span(self.now - self.due_at)}"
            return f"due in {span(self.due_at - self.now)}"
        assert self.stopped_at is not None
        if self.state is Clock.BREACHED:
            return f"breached by {span(self.stopped_at - self.due_at)}"
        if self.state is Clock.MET:
            return f"met in {span(self.taken)}" if self.taken is not None else "met"
        return f"stopped ({self.stopped_by}) before it was due"

    @property
    def taken(self) -> timedelta | None:
        """From the assignment to the stop."""
        if self.stopped_at is None or self.assigned_at is None:
            return None
        return self.stopped_at - self.assigned_at

    def as_dict(self) -> dict[str, object]:
        return {
            "state": self.state.value,
            "overdue": self.overdue,
            "breached": self.breached,
            "due_at": self.due_at,
            "stopped_at": self.stopped_at,
            "stopped_by": self.stopped_by,
            "text": self.text,
        }


def span(d: timedelta) -> str:
    """A duration in words a person reads at a glance: "45 s", "25 min", "1 h 20 min", "3 h", "2 d 4 h"."""
    s = max(0, int(d.total_seconds()))
    if s < 60:
        return f"{s} s"
    m = s // 60
    if m < 60:
        return f"{m} min"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h} h {m} min" if m else f"{h} h"
    days, h = divmod(h, 24)
    return f"{days} d {h} h" if h else f"{days} d"


def clock_state(f: ClockFacts, *, now: datetime) -> ClockState:
    """The clock of the current assignment. Stop = the earliest of touch, accept, reject and leaving
    sales that happened at or after the assignment; met if the stop is at or before the due time."""
    if f.assigned_at is None or f.due_at is None:
        return ClockState(Clock.NONE, now=now)
    stops = [
        (at, why)
        for at, why in (
            (f.touched_at, "touched"),
            (f.accepted_at, "accepted"),
            (f.rejected_at, "rejected"),
            (f.left_sales_at, "left sales"),
        )
        if at is not None and at >= f.assigned_at
    ]
    if not stops:
        return ClockState(Clock.RUNNING, f.due_at, now=now, assigned_at=f.assigned_at)
    at, why = min(stops, key=lambda s: s[0])
    if at > f.due_at:
        verdict = Clock.BREACHED
    elif why == "left sales":
        verdict = Clock.STOPPED
    else:
        verdict = Clock.MET
    return ClockState(verdict, f.due_at, at, why, now, f.assigned_at)


OPEN_WITH_SALES = frozenset(s.value for s in OPEN)  # the lifecycle says which stages are with sales


def facts_of(
    *,
    stage: str,
    stage_changed_at: datetime | None,
    assigned_at: datetime | None,
    sla_due_at: datetime | None,
    first_touch_at: datetime | None,
    accepted_at: datetime | None,
    rejected_at: datetime | None,
) -> ClockFacts:
    """A lead's columns as clock facts: a lead no longer with sales stopped its clock when it moved."""
    left = stage_changed_at if stage not in OPEN_WITH_SALES else None
    return ClockFacts(assigned_at, sla_due_at, first_touch_at, accepted_at, rejected_at, left)


def lead_clock(lead: object, *, now: datetime) -> ClockState:
    """The clock of anything with a lead's columns (an ORM row or a query row)."""
    g = lead.__getattribute__
    return clock_state(
        facts_of(
            stage=g("stage"),
            stage_changed_at=g("stage_changed_at"),
            assigned_at=g("assigned_at"),
            sla_due_at=g("sla_due_at"),
            first_touch_at=g("first_touch_at"),
            accepted_at=g("accepted_at"),
            rejected_at=g("rejected_at"),
        ),
        now=now,
    )


# The leads list's SLA filter: each value, its label, and the test a clock must pass.
SLA_FILTERS: dict[str, str] = {
    "breached_week": "Breached in the last 7 days",
    "breached": "Breached (any time)",
    "overdue": "Overdue now",
    "running": "Clock running",
    "waiting": "Running, not yet due",
    "met": "Met",
    "stopped": "Stopped before due",
}


class UnknownSlaFilter(ValueError):
    """An SLA filter value the list does not know."""


def matches(c: ClockState, want: str, *, now: datetime) -> bool:
    """Whether a clock passes the leads list's SLA filter `want` (a key of SLA_FILTERS). A breach
    "this week" is one whose due time passed in the last 7 days."""
    match want:
        case "breached":
            return c.breached
        case "breached_week":
            return c.breached and c.due_at is not None and c.due_at >= now - timedelta(days=7)
        case "overdue":
            return c.overdue
        case "waiting":
            return c.state is Clock.RUNNING and not c.overdue
        case "running":
            return c.state is Clock.RUNNING
        case "met":
            return c.state is Clock.MET
        case "stopped":
            return c.state is Clock.STOPPED
    raise UnknownSlaFilter(f"unknown SLA filter {want!r}; choose one of: {', '.join(SLA_FILTERS)}")


@dataclass(frozen=True)
class Tally:
    """How many clocks pass each of the leads list's SLA filters, counted by `matches` itself: a
    number on the SLA report, Team or the manager's home is, by construction, the length of the list
    it links to."""

    clocks: int = 0
    met: int = 0
    breached: int = 0
    breached_week: int = 0
    overdue: int = 0
    running: int = 0
    waiting: int = 0  # running, not yet due
    touched: int = 0  # stopped by a first touch

    @classmethod
    def of(cls, clocks: Iterable[ClockState], *, now: datetime) -> Tally:
        states = list(clocks)

        def n(want: str) -> int:
            return sum(1 for c in states if matches(c, want, now=now))

        return cls(
            len(states),
            n("met"),
            n("breached"),
            n("breached_week"),
            n("overdue"),
            n("running"),
            n("waiting"),
            sum(1 for c in states if c.stopped_by == "touched"),
        )
