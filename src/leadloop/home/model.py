"""The periods the home page counts in, pure."""

from __future__ import annotations

from datetime import datetime, timedelta

RECENT = timedelta(days=14)  # "reactivated lately"
HOT = timedelta(days=7)  # "hot": activity within the last week


def week_start(now: datetime) -> datetime:
    """Monday 00:00 of this week, in the clock's time zone (UTC on the server)."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
