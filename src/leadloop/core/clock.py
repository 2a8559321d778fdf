"""The one place that reads the wall clock. Rules take `now` as an argument instead."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Naive datetimes from the database or a file are UTC by contract."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class FrozenClock:
    """A clock a test (or a backtest) moves by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = as_utc(at)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kwargs: float) -> None:
        from datetime import timedelta

        self.at = self.at + timedelta(**kwargs)
