"""The SLA clocks of many leads at once, in numpy: clock.py's `clock_state` and `matches` over
columns instead of one lead at a time, for reports that count hundreds of thousands of clocks (the
SLA report). Pure; a property test holds every count equal to `Tally` over `clock_state`.

Times are datetime64[us] (naive UTC; NaT for none). A clock here always has an assignment and a due
time (the query asks for both), so it is never `Clock.NONE`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from leadloop.core.arrays import instant
from leadloop.routing.clock import OPEN_WITH_SALES

RUNNING, MET, BREACHED, STOPPED = 0, 1, 2, 3
TOUCHED, ACCEPTED, REJECTED, LEFT = 0, 1, 2, 3  # the stops in `clock_state`'s order (ties: earliest)
_NEVER = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Clocks:
    state: np.ndarray  # RUNNING, MET, BREACHED or STOPPED
    stopped_by: np.ndarray  # TOUCHED ... LEFT, -1 while running
    taken_minutes: np.ndarray  # assignment to the stop (NaN while running)
    overdue: np.ndarray
    breached: np.ndarray
    breached_week: np.ndarray


def clocks(
    *,
    now: datetime,
    stage: Sequence[str],
    stage_changed_at: np.ndarray,
    assigned_at: np.ndarray,
    due_at: np.ndarray,
    first_touch_at: np.ndarray,
    accepted_at: np.ndarray,
    rejected_at: np.ndarray,
) -> Clocks:
    """`clock_state(facts_of(...))` for every lead: the stop is the earliest of touch, accept,
    reject and leaving sales at or after the assignment; met if at or before the due time."""
    left = np.where(
        np.isin(np.asarray(stage, dtype=object), list(OPEN_WITH_SALES)),
        np.datetime64("NaT"),
        stage_changed_at,
    )
    assigned = assigned_at.view(np.int64)
    candidates = []
    for at in (first_touch_at, accepted_at, rejected_at, left.astype("datetime64[us]")):
        v = at.view(np.int64)
        candidates.append(np.where(~np.isnat(at) & (v >= assigned), v, _NEVER))
    stacked = np.stack(candidates)
    by = np.argmin(stacked, axis=0)  # the first of equal stops, as `min` over the list
    stop = stacked[by, np.arange(stacked.shape[1])]
    has = stop != _NEVER
    due = due_at.view(np.int64)
    state = np.where(~has, RUNNING, np.where(stop > due, BREACHED, np.where(by == LEFT, STOPPED, MET)))
    t = instant(now).view(np.int64)
    overdue = (state == RUNNING) & (t > due)
    breached = (state == BREACHED) | overdue
    week = instant(now - timedelta(days=7)).view(np.int64)
    taken = np.where(has, (stop - assigned) / 1e6 / 60, np.nan)
    return Clocks(
        state.astype(np.int8),
        np.where(has, by, -1).astype(np.int8),
        taken,
        overdue,
        breached,
        breached & (due >= week),
    )
