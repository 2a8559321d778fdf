"""Fields outside the contract ("custom fields"): kept on the record, within bounds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CustomLimits:
    """How many fields outside the contract a record may carry, and how long each may be: without
    a bound, one anonymous form post stored 54 MB of them on one person."""

    count: int = 20
    chars: int = 1_000
