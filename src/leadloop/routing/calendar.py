"""A rep's working calendar: working hours in their own time zone, public holidays (the `holidays`
package) and out-of-office spans. Pure: every answer takes the moment it is about.

Business time is what SLA clocks run on: `add_business(cal, start, minutes)` is the moment that
many working minutes after `start`, and `business_between(cal, a, b)` measures it back.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from leadloop.core.errors import InvalidInput

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_HOURS = {d: ((time(9), time(17)),) for d in DAYS[:5]}
MAX_DAYS_AHEAD = 800  # a calendar with no working time at all must not loop forever


class CalendarError(InvalidInput):
    pass


@functools.lru_cache(maxsize=256)
def holiday_table(country: str, subdivision: str | None) -> holidays.HolidayBase:
    """Built once per calendar; the table fills in years lazily as dates are asked about."""
    try:
        return holidays.country_holidays(country, subdiv=subdivision)
    except NotImplementedError:
        raise CalendarError(
            f"no holiday calendar for {country!r}" + (f" / {subdivision!r}" if subdivision else "")
        ) from None


def parse_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f"unknown time zone {name!r}; use an IANA name such as 'Europe/Berlin'") from None


def parse_hours(spec: dict[str, str]) -> dict[str, tuple[tuple[time, time], ...]]:
    """{"mon": "09:00-12:00,13:00-17:30", ...}; a day left out is not worked."""
    out: dict[str, tuple[tuple[time, time], ...]] = {}
    for day, text in spec.items():
        key = day.strip().lower()[:3]
        if key not in DAYS:
            raise CalendarError(f"unknown day {day!r}; use mon, tue, wed, thu, fri, sat, sun")
        spans = []
        for part in filter(None, (p.strip() for p in str(text).split(","))):
            try:
                # "24:00" ends a day that is worked to midnight (a 24-hour desk, a night shift).
                a, b = (
                    time.max if x.strip() == "24:00" else time.fromisoformat(x.strip())
                    for x in part.split("-")
                )
            except ValueError:
                raise CalendarError(f"{day}: {part!r} is not a span like 09:00-17:00") from None
            if b <= a:
                raise CalendarError(f"{day}: {part!r} ends before it starts")
            spans.append((a, b))
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            if start < end:
                raise CalendarError(f"{day}: working spans overlap ({text})")
        out[key] = tuple(spans)
    return out


@dataclass(frozen=True)
class Calendar:
    zone: str = "UTC"
    hours: dict[str, tuple[tuple[time, time], ...]] = field(default_factory=lambda: dict(DEFAULT_HOURS))
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    away: tuple[tuple[datetime, datetime], ...] = ()  # out of office, UTC [start, end)

    def __post_init__(self) -> None:
        parse_zone(self.zone)
        if self.holiday_country:
            holiday_table(self.holiday_country, self.holiday_subdivision)
        for start, end in self.away:
            if end <= start:
                raise CalendarError("an out-of-office span ends before it starts")

    @cached_property
    def tz(self) -> ZoneInfo:
        return parse_zone(self.zone)

    @cached_property
    def _holidays(self) -> holidays.HolidayBase | None:
        if not self.holiday_country:
            return None
        return holiday_table(self.holiday_country, self.holiday_subdivision)

    def holiday(self, day: date) -> str | None:
        h = self._holidays
        return None if h is None else h.get(day)

    def spans_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working spans of a local calendar day, as UTC instants, minus out-of-office."""
        if self.holiday(day):
            return []
        spans = []
        for a, b in self.hours.get(DAYS[day.weekday()], ()):
            start = datetime.combine(day, a, self.tz).astimezone(UTC)
            end = datetime.combine(day, b, self.tz).astimezone(UTC)
            spans.extend(_minus(start, end, self.away))
        return spans

    def why_away(self, at: datetime) -> str | None:
        """Out of office or on a public holiday at `at`, in words; None otherwise (outside working
        hours is not away: the person is back at the next opening, and business-time clocks wait)."""
        for start, end in self.away:
            if start <= at < end:
                return f"out of office until {end:%Y-%m-%d %H:%M} UTC"
        if name := self.holiday(at.astimezone(self.tz).date()):
            return f"public holiday ({name})"
        return None

    def why_unavailable(self, at: datetime) -> str | None:
        """None when working at `at`; otherwise the reason, in words."""
        local = at.astimezone(self.tz)
        if away := self.why_away(at):
            return away
        if not any(s <= at < e for s, e in self.spans_on(local.date())):
            return f"outside working hours ({local:%a %H:%M} {self.zone})"
        return None


def _minus(
    start: datetime, end: datetime, away: tuple[tuple[datetime, datetime], ...]
) -> list[tuple[datetime, datetime]]:
    parts = [(start, end)]
    for a, b in away:
        nxt = []
        for s, e in parts:
            if b <= s or a >= e:
                nxt.append((s, e))
                continue
            if s < a:
                nxt.append((s, a))
            if b < e:
                nxt.append((b, e))
        parts = nxt
    return parts


def _iter_spans(
    cal: Calendar, start: datetime, until: datetime | None = None
) -> Iterator[tuple[datetime, datetime]]:
    """Working spans from `start` on, clipped to it; stops after `until` (if given)."""
    day = start.astimezone(cal.tz).date() - timedelta(days=1)
    last = until.astimezone(cal.tz).date() + timedelta(days=1) if until else None
    for i in range(MAX_DAYS_AHEAD):
        current = day + timedelta(days=i)
        if last is not None and current > last:
            return
        for s, e in cal.spans_on(current):
            if e > start:
                yield max(s, start), e
    raise CalendarError(f"no working time in the {MAX_DAYS_AHEAD} days after {start:%Y-%m-%d}")


def add_business(cal: Calendar, start: datetime, minutes: float) -> datetime:
    """The earliest moment with `minutes` of working time since `start` (which need not be in
    working time). Zero minutes is `start` itself, so that adding a then b is adding a + b."""
    left = timedelta(minutes=minutes)
    if left <= timedelta(0):
        return start
    for s, e in _iter_spans(cal, start):
        if e - s >= left:
            return s + left
        left -= e - s
    raise AssertionError("unreachable")  # pragma: no cover


def business_between(cal: Calendar, a: datetime, b: datetime) -> float:
    """Working minutes in [a, b); 0 when b <= a."""
    if b <= a:
        return 0.0
    total = timedelta()
    for s, e in _iter_spans(cal, a, until=b):
        if s >= b:
            break
        total += min(e, b) - s
    return total.total_seconds() / 60
