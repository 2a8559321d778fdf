"""Business time for SLA clocks and availability for routing: working hours in the rep's zone,
public holidays, out of office; property-tested where the arithmetic matters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadloop.routing.calendar import Calendar, CalendarError, add_business, business_between, parse_hours

BERLIN = Calendar(zone="Europe/Berlin", holiday_country="DE", holiday_subdivision="BE")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_availability_in_the_reps_own_zone() -> None:
    assert BERLIN.why_unavailable(utc(2026, 11, 23, 9, 30)) is None  # Monday 10:30 in Berlin
    assert (
        BERLIN.why_unavailable(utc(2026, 11, 23, 7, 30)) == "outside working hours (Mon 08:30 Europe/Berlin)"
    )
    assert "outside working hours (Sat" in str(BERLIN.why_unavailable(utc(2026, 11, 28, 12)))
    assert BERLIN.why_unavailable(utc(2026, 12, 25, 10)) == "public holiday (Christmas Day)"  # a Friday
    away = Calendar(zone="Europe/Berlin", away=((utc(2026, 11, 23), utc(2026, 11, 25)),))
    assert away.why_unavailable(utc(2026, 11, 24, 10)) == "out of office until 2026-11-25 00:00 UTC"


def test_sla_minutes_skip_the_night_the_weekend_and_holidays() -> None:
    # Friday 16:55 Berlin + 10 business minutes = Monday 09:05 Berlin
    friday = utc(2026, 11, 27, 15, 55)
    assert add_business(BERLIN, friday, 10) == utc(2026, 11, 30, 8, 5)
    # 24 Dec 2026 is a Thursday; 25 and 26 Dec are holidays, 27 is Sunday: next working day the 28th.
    assert add_business(BERLIN, utc(2026, 12, 24, 15, 59), 2) == utc(2026, 12, 28, 8, 1)
    # Daylight saving: the Monday after the clocks change still starts at 09:00 local.
    assert add_business(BERLIN, utc(2026, 3, 28, 12), 0.5) == utc(2026, 3, 30, 7, 0, 30)


def test_hours_are_parsed_with_clear_messages() -> None:
    hours = parse_hours({"Mon": "09:00-12:00, 13:00-17:30", "fri": "09:00-15:00"})
    assert len(hours["mon"]) == 2 and "tue" not in hours
    with pytest.raises(CalendarError, match="overlap"):
        parse_hours({"mon": "09:00-13:00,12:00-17:00"})
    with pytest.raises(CalendarError, match="ends before it starts"):
        parse_hours({"mon": "17:00-09:00"})
    with pytest.raises(CalendarError, match="unknown day"):
        parse_hours({"funday": "09:00-10:00"})
    with pytest.raises(CalendarError, match="unknown time zone 'Mars/Olympus'"):
        Calendar(zone="Mars/Olympus")
    with pytest.raises(CalendarError, match="no holiday calendar for 'XX'"):
        Calendar(holiday_country="XX")
    with pytest.raises(CalendarError, match="no working time"):
        add_business(Calendar(hours={}), utc(2026, 1, 1), 5)


# hypothesis takes naive bounds and attaches the zone itself
_LO, _HI = (datetime(y, m, 1, tzinfo=UTC).replace(tzinfo=None) for y, m in ((2026, 1), (2027, 6)))
moments = st.datetimes(min_value=_LO, max_value=_HI, timezones=st.just(UTC))
calendars = st.sampled_from(
    [
        BERLIN,
        Calendar(),
        Calendar(
            zone="America/Los_Angeles",
            hours=parse_hours({"mon": "08:00-12:00,13:00-17:00", "tue": "08:00-17:00", "sat": "10:00-14:00"}),
            holiday_country="US",
        ),
        Calendar(
            zone="Asia/Kolkata",
            hours=parse_hours({d: "10:00-19:00" for d in ("mon", "tue", "wed", "thu", "fri")}),
            away=((datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 20, tzinfo=UTC)),),
        ),
    ]
)


@settings(max_examples=150, deadline=None)
@given(calendars, moments, st.floats(min_value=0, max_value=5000))
def test_adding_business_minutes_is_measured_back_exactly(
    cal: Calendar, start: datetime, minutes: float
) -> None:
    end = add_business(cal, start, minutes)
    assert end >= start
    assert business_between(cal, start, end) == pytest.approx(minutes, abs=1e-6)
    if timedelta(minutes=minutes) >= timedelta(microseconds=1):  # it only ever ends inside working time
        assert cal.why_unavailable(end - timedelta(microseconds=1)) is None


@settings(max_examples=100, deadline=None)
@given(calendars, moments, st.floats(min_value=0, max_value=3000), st.floats(min_value=0, max_value=3000))
def test_business_time_adds_up(cal: Calendar, start: datetime, a: float, b: float) -> None:
    stepwise = add_business(cal, add_business(cal, start, a), b)
    assert abs(stepwise - add_business(cal, start, a + b)) < timedelta(milliseconds=1)


def test_a_day_worked_to_midnight_ends_at_24_00() -> None:
    """A 24-hour desk: "00:00-24:00" every day leaves no gap at 23:59 (a lead routed then found every
    rep "outside working hours" with "00:00-23:59")."""
    always = Calendar(
        hours=parse_hours({d: "00:00-24:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
    )
    assert always.why_unavailable(datetime(2026, 12, 6, 23, 59, 30, tzinfo=UTC)) is None
    assert add_business(always, datetime(2026, 12, 6, 23, 59, tzinfo=UTC), 2) - datetime(
        2026, 12, 7, 0, 1, tzinfo=UTC
    ) < timedelta(milliseconds=1)
    with pytest.raises(CalendarError, match="not a span"):
        parse_hours({"mon": "00:00-25:00"})
