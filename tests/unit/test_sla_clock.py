"""The SLA clock: one pure function decides running / met / breached / stopped for every view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from leadloop.routing.clock import Clock, ClockFacts, clock_state, facts_of, span

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
minutes = st.integers(min_value=0, max_value=60 * 24 * 20).map(lambda m: timedelta(minutes=m))
maybe = st.one_of(st.none(), minutes)


def at(m: int) -> datetime:
    return T0 + timedelta(minutes=m)


@settings(max_examples=80, deadline=None)
@given(due=minutes, touch=maybe, accept=maybe, reject=maybe, left=maybe, now=minutes)
def test_a_stopped_clock_is_never_overdue_and_met_or_breached_by_stop_vs_due(
    due: timedelta,
    touch: timedelta | None,
    accept: timedelta | None,
    reject: timedelta | None,
    left: timedelta | None,
    now: timedelta,
) -> None:
    def t(d: timedelta | None) -> datetime | None:
        return None if d is None else T0 + d

    f = ClockFacts(T0, T0 + due, t(touch), t(accept), t(reject), t(left))
    c = clock_state(f, now=T0 + now)
    stops = [s for s in (touch, accept, reject, left) if s is not None]
    if not stops:
        assert c.state is Clock.RUNNING
        assert c.overdue == (now > due)
        assert c.text.startswith("overdue by" if now > due else "due in")
        return
    first = min(stops)
    assert c.state is not Clock.RUNNING and not c.overdue
    assert c.stopped_at == T0 + first
    assert "overdue" not in c.text
    if first > due:
        assert c.state is Clock.BREACHED and c.breached and c.text.startswith("breached by")
    else:
        assert c.state in (Clock.MET, Clock.STOPPED) and not c.breached


@given(before=st.integers(min_value=1, max_value=10_000), due=st.integers(min_value=1, max_value=600))
def test_events_before_the_assignment_belong_to_an_earlier_clock(before: int, due: int) -> None:
    """A lead rejected last month and routed again today runs a new clock."""
    c = clock_state(ClockFacts(at(0), at(due), rejected_at=at(-before)), now=at(0))
    assert c.state is Clock.RUNNING and c.text.startswith("due in")


def test_the_words_are_unambiguous() -> None:
    assert clock_state(ClockFacts(at(0), at(80)), now=at(0)).text == "due in 1 h 20 min"
    assert clock_state(ClockFacts(at(0), at(60)), now=at(85)).text == "overdue by 25 min"
    assert clock_state(ClockFacts(at(0), at(60), touched_at=at(12)), now=at(500)).text == "met in 12 min"
    assert clock_state(ClockFacts(at(0), at(60), accepted_at=at(240)), now=at(500)).text == "breached by 3 h"
    assert clock_state(ClockFacts(None, None), now=at(0)).text == "no SLA"
    assert span(timedelta(days=2, hours=4)) == "2 d 4 h"
    assert span(timedelta(seconds=-5)) == "0 s"


def test_an_accepted_or_rejected_lead_has_a_stopped_clock_long_after_its_due_time() -> None:
    for stage, kw in (("sal", {"accepted_at": at(10)}), ("nurture", {"rejected_at": at(10)})):
        f = facts_of(
            stage=stage,
            stage_changed_at=at(10),
            assigned_at=at(0),
            sla_due_at=at(60),
            first_touch_at=None,
            accepted_at=kw.get("accepted_at"),
            rejected_at=kw.get("rejected_at"),
        )
        c = clock_state(f, now=at(60 * 24 * 7))
        assert c.state is Clock.MET and not c.overdue and c.text == "met in 10 min"


def test_a_lead_that_left_sales_untouched_stops_with_no_verdict_before_due_and_breached_after() -> None:
    def left(m: int) -> Clock:
        f = facts_of(
            stage="nurture",
            stage_changed_at=at(m),
            assigned_at=at(0),
            sla_due_at=at(60),
            first_touch_at=None,
            accepted_at=None,
            rejected_at=None,
        )
        return clock_state(f, now=at(1000)).state

    assert left(30) is Clock.STOPPED
    assert left(90) is Clock.BREACHED
