"""Exponential decay without a nightly job (DESIGN.md, "Decay without a nightly job").

A score is stored as a pair (S, t0): its value at time t is S·e^(-λ(t-t0)), λ = ln 2 / half-life.
An event at time t adds its weight to the value at t. Two consequences make it cheap:

- the ranking key ln S + λ·t0 does not change with time, so an ordinary index orders the hottest
  scores first at any moment, and decay costs no writes;
- the moment the value falls below a threshold T is exact: t0 + ln(S/T)/λ, stored as a timer.

Pure: times are passed in. Times are seconds since the epoch (floats) so that the maths is plain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

# A score of zero has no logarithm; it ranks below every live score.
ZERO_KEY = -1.0e300


def decay_rate(half_life_days: float) -> float:
    """λ per second."""
    if not half_life_days > 0:
        raise ValueError(f"half-life must be positive, got {half_life_days}")
    return math.log(2) / (half_life_days * 86_400.0)


def epoch(t: datetime) -> float:
    return t.timestamp()


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True, slots=True)
class Decaying:
    """S at t0 (seconds). Immutable: every change returns a new value."""

    s: float = 0.0
    t0: float = 0.0

    def value_at(self, t: float, rate: float) -> float:
        """The signed value at t (negative while negative signals outweigh positive ones)."""
        if self.s == 0.0:
            return 0.0
        return self.s * math.exp(-rate * (t - self.t0))

    def add(self, weight: float, t: float, rate: float) -> Decaying:
        """Add an event of `weight` that happened at `t`.

        Linear on purpose: an event older than t0 (late, out of order) is decayed forward to t0, and a
        negative signal may take the value below zero, from where it fades back towards zero like
        any other contribution. So the result never depends on the order events arrive in, and a
        full recompute (a vectorised sum) gives exactly what the incremental updates gave. Readers
        use `current()`, which never shows a negative engagement.
        """
        if t >= self.t0:
            return Decaying(self.value_at(t, rate) + weight if self.s else weight, t)
        return Decaying(self.s + weight * math.exp(-rate * (self.t0 - t)), self.t0)

    def current(self, t: float, rate: float) -> float:
        return max(0.0, self.value_at(t, rate))

    def rank_key(self, rate: float) -> float:
        """ln S + λ·t0: orders scores by their value at any common time t. Scores at or below zero
        share the lowest key: they are all "cold", and their order among themselves is not needed."""
        if self.s <= 0.0:
            return ZERO_KEY
        return math.log(self.s) + rate * self.t0

    def falls_below_at(self, threshold: float, rate: float) -> float | None:
        """When the value drops to `threshold`: t0 + ln(S/T)/λ. None if it is already at or below."""
        if threshold <= 0:
            raise ValueError("threshold must be positive")
        if self.s <= threshold:
            return None
        return self.t0 + math.log(self.s / threshold) / rate


def value_from_key(key: float, t: float, rate: float) -> float:
    """Invert the ranking key: the value at time t of the score with this key."""
    if key <= ZERO_KEY:
        return 0.0
    return math.exp(key - rate * t)
