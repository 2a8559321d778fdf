"""The SLA clocks of many leads at once (routing/clock_arrays.py) are `clock_state` and `matches`
lead by lead: the same state, stop, minutes taken, overdue, breached and breached this week, for
stops before the assignment, equal stops, stops exactly at the due time, leads gone from sales and
microsecond offsets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from leadloop.core.arrays import moments
from leadloop.lifecycle.model import Stage
from leadloop.routing import clock_arrays as ca
from leadloop.routing.clock import Clock, clock_state, facts_of, matches

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
STATE = {Clock.RUNNING: ca.RUNNING, Clock.MET: ca.MET, Clock.BREACHED: ca.BREACHED, Clock.STOPPED: ca.STOPPED}
BY = {
    "touched": ca.TOUCHED,
    "accepted": ca.ACCEPTED,
    "rejected": ca.REJECTED,
    "left sales": ca.LEFT,
    None: -1,
}

offset = st.one_of(st.none(), st.sampled_from([-60, 0, 30, 31]), st.integers(-20_000, 20_000))
lead_st = st.tuples(
    st.sampled_from([s.value for s in Stage]),
    st.integers(-15_000, 0),  # assigned, minutes before now
    st.sampled_from([0, 30, 240]),  # due, minutes after the assignment
    offset,  # stage change, first touch, accept, reject: minutes after the assignment
    offset,
    offset,
    offset,
    st.integers(0, 999_999),  # microseconds
)


def _at(base: datetime, minutes: int | None, us: int) -> datetime | None:
    return None if minutes is None else base + timedelta(minutes=minutes, microseconds=us)


@settings(deadline=None, max_examples=300)
@given(leads=st.lists(lead_st, min_size=1, max_size=40))
def test_columns_give_what_each_clock_gives(leads: list[tuple]) -> None:  # type: ignore[type-arg]
    rows = []
    for stage, assigned_m, due_m, changed, touched, accepted, rejected, us in leads:
        assigned = NOW + timedelta(minutes=assigned_m)
        rows.append(
            (
                stage,
                _at(assigned, changed if changed is not None else 0, us),  # a stage always has a change
                assigned,
                assigned + timedelta(minutes=due_m),
                _at(assigned, touched, us),
                _at(assigned, accepted, 0),
                _at(assigned, rejected, us // 2),
            )
        )
    naive = [[None if v is None else v.replace(tzinfo=None) for v in r[1:]] for r in rows]
    got = ca.clocks(
        now=NOW,
        stage=[r[0] for r in rows],
        **{
            name: moments([n[i] for n in naive])
            for i, name in enumerate(
                ["stage_changed_at", "assigned_at", "due_at", "first_touch_at", "accepted_at", "rejected_at"]
            )
        },
    )
    for i, (stage, changed, assigned, due, touched, accepted, rejected) in enumerate(rows):
        want = clock_state(
            facts_of(
                stage=stage,
                stage_changed_at=changed,
                assigned_at=assigned,
                sla_due_at=due,
                first_touch_at=touched,
                accepted_at=accepted,
                rejected_at=rejected,
            ),
            now=NOW,
        )
        assert got.state[i] == STATE[want.state]
        assert got.stopped_by[i] == BY[want.stopped_by]
        if want.taken is None:
            assert got.taken_minutes[i] != got.taken_minutes[i]  # NaN
        else:
            assert got.taken_minutes[i] == want.taken.total_seconds() / 60
        assert bool(got.overdue[i]) == matches(want, "overdue", now=NOW)
        assert bool(got.breached[i]) == matches(want, "breached", now=NOW)
        assert bool(got.breached_week[i]) == matches(want, "breached_week", now=NOW)


def test_sqlite_text_and_driver_datetimes_read_alike() -> None:
    text = moments(["2026-10-01 12:00:00.250000", None])
    moment = moments([datetime(2026, 10, 1, 12, 0, 0, 250000, tzinfo=UTC).replace(tzinfo=None), None])
    assert str(text[0]) == str(moment[0]) == "2026-10-01T12:00:00.250000"
    assert str(text[1]) == str(moment[1]) == "NaT"
