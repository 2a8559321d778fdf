"""A campaign's status and cost per result, pure."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

STATUSES = ("planned", "active", "ended")


def status(started_at: datetime | None, ended_at: datetime | None, now: datetime) -> str:
    """Planned until it starts, ended once its end has passed, active between (and when undated)."""
    if started_at is not None and started_at > now:
        return "planned"
    if ended_at is not None and ended_at < now:
        return "ended"
    return "active"


def cost_per(cost: Decimal | None, count: int) -> Decimal | None:
    """Cost per member, lead or deal; none when there is no cost or nothing to divide by."""
    if cost is None or count <= 0:
        return None
    return (cost / count).quantize(Decimal("0.01"))
