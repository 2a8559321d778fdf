"""The step engine, trigger matching, the re-entry policy, the throttle and the send window, pure:
no database, `now` passed in. Property tests for the window and the throttle."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from leadloop.nurture.checks import parse_sequence
from leadloop.nurture.document import Cooldown, Triggers, Window
from leadloop.nurture.model import (
    Allowed,
    ChangeStage,
    Facts,
    Finished,
    History,
    MakeTask,
    Refused,
    SendEmail,
    Signal,
    Throttle,
    Took,
    WaitFor,
    add_business_days,
    admit,
    inside,
    matching,
    next_open,
    no_holidays,
    run,
    simulate,
    throttle_until,
)
from leadloop.nurture.zones import zone_for

MONDAY = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
WEEK = Throttle(3, timedelta(days=7))
DRIP = parse_sequence(
    """\
name: drip
window: {days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00", zone: Europe/Berlin}
steps:
  - id: hello
    email: {subject: Hi, text: Hello}
  - wait: {business_days: 2}
  - id: check
    branch: {if: {opened: hello}, then: call, else: nudge}
  - id: nudge
    email: {subject: Again, text: Hello again}
  - goto: end
  - id: call
    task: {title: Call}
  - stage: mql
"""
)


def facts(**kw: object) -> Facts:
    return Facts(zone="Europe/Berlin", **kw)  # type: ignore[arg-type]


def test_a_run_sends_then_waits_two_business_days_then_branches() -> None:
    plan = run(DRIP, "hello", facts(), WEEK, MONDAY)
    assert plan.actions == (SendEmail("hello"),)
    assert plan.next == WaitFor("check", datetime(2026, 11, 4, 10, 0, tzinfo=UTC), "wait")
    later = MONDAY + timedelta(days=2)
    not_opened = run(DRIP, "check", facts(sends=(MONDAY,)), WEEK, later)
    assert not_opened.actions == (Took("check", "no → nudge"), SendEmail("nudge"))
    assert not_opened.next == Finished()
    opened = run(DRIP, "check", facts(opened=frozenset({"hello"})), WEEK, later)
    assert opened.actions == (Took("check", "yes → call"), MakeTask("call"), ChangeStage("7", "mql"))
    clicked = run(DRIP, "check", facts(clicked=frozenset({"hello"})), WEEK, later)  # a click is an open
    assert clicked.actions[0] == Took("check", "yes → call")


def test_an_email_outside_the_window_waits_for_it_and_a_refusal_ends_the_enrolment() -> None:
    saturday = datetime(2026, 11, 7, 3, 0, tzinfo=UTC)
    plan = run(DRIP, "hello", facts(), WEEK, saturday)
    monday_nine_berlin = datetime(2026, 11, 9, 8, 0, tzinfo=UTC)
    assert plan == type(plan)((), WaitFor("hello", monday_nine_berlin, "send window"))
    refused = run(DRIP, "hello", facts(verdict=Allowed(False, "unsubscribed")), WEEK, saturday)
    assert refused.next == Refused("hello", "unsubscribed") and refused.actions == ()


def test_the_throttle_defers_the_step_to_the_exact_moment_then_the_window() -> None:
    sends = (MONDAY - timedelta(days=6), MONDAY - timedelta(days=2), MONDAY - timedelta(hours=1))
    plan = run(DRIP, "hello", facts(sends=sends), WEEK, MONDAY)
    free = MONDAY - timedelta(days=6) + timedelta(days=7)  # Tuesday 10:00 UTC: 11:00 in Berlin
    assert plan.next == WaitFor("hello", free, "throttle: 3 e-mails a week")
    # Free at 20:00 in Berlin: the window then opens the next morning.
    late = (MONDAY - timedelta(days=7) + timedelta(hours=9, minutes=30), *sends[1:])
    deferred = run(DRIP, "hello", facts(sends=late), WEEK, MONDAY)
    assert isinstance(deferred.next, WaitFor) and deferred.next.until == datetime(
        2026, 11, 3, 8, 0, tzinfo=UTC
    )


@given(
    offsets=st.lists(st.integers(min_value=0, max_value=20 * 24 * 60), max_size=12),
    limit=st.integers(min_value=1, max_value=5),
    days=st.integers(min_value=1, max_value=10),
)
def test_the_throttle_never_allows_more_than_the_limit_in_any_period(
    offsets: list[int], limit: int, days: int
) -> None:
    """Send greedily whenever the throttle allows, at the moments asked: no window of `per` ever
    holds more than `limit` sends, and a refused moment is refused until exactly the time it names."""
    throttle = Throttle(limit, timedelta(days=days))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    sent: list[datetime] = []
    for minute in sorted(offsets):
        at = start + timedelta(minutes=minute)
        free = throttle_until(sent, throttle, at)
        if free is None:
            sent.append(at)
        else:
            assert free > at
            assert throttle_until(sent, throttle, free) is None
            assert throttle_until(sent, throttle, free - timedelta(seconds=1)) is not None
    for t in sent:
        assert sum(1 for u in sent if t - throttle.per < u <= t) <= limit


# Naive bounds, as hypothesis wants them; every drawn moment is in UTC.
_LO, _HI = (datetime(y, 1, 1, tzinfo=UTC).replace(tzinfo=None) for y in (2026, 2029))
ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Sao_Paulo",
]


@settings(max_examples=300)
@given(
    zone=st.sampled_from(ZONES),
    days=st.sets(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]), min_size=1),
    start_minute=st.integers(min_value=0, max_value=23 * 60),
    length=st.integers(min_value=1, max_value=12 * 60),
    at=st.datetimes(min_value=_LO, max_value=_HI, timezones=st.just(UTC)),
    holidays=st.sets(st.dates(min_value=date(2026, 1, 1), max_value=date(2029, 1, 31)), max_size=30),
)
def test_next_open_is_the_first_moment_inside_the_window_in_the_recipients_zone(
    zone: str, days: set[str], start_minute: int, length: int, at: datetime, holidays: set[date]
) -> None:
    end_minute = min(start_minute + length, 24 * 60 - 1)
    w = Window(
        days=sorted(days),  # type: ignore[arg-type]
        start=f"{start_minute // 60:02d}:{start_minute % 60:02d}",
        end=f"{end_minute // 60:02d}:{end_minute % 60:02d}",
        zone=zone,
    )
    holiday = holidays.__contains__
    found = next_open(w, zone, holiday, at)
    assert found >= at
    assert inside(w, zone, holiday, found)
    local = found.astimezone(ZoneInfo(zone))
    assert local.strftime("%a").lower()[:3] in days and local.date() not in holidays
    assert w.opens <= local.time().replace(tzinfo=None) < w.closes  # never at 3 a.m. for them, unless asked
    if found > at:  # the minute before it was outside: it is the first
        assert not inside(w, zone, holiday, found - timedelta(minutes=1)) or found - timedelta(minutes=1) < at


def test_a_window_opening_inside_a_daylight_saving_gap_opens_right_after_the_jump() -> None:
    w = Window(days=["sun"], start="02:30", end="04:00", zone="Europe/Berlin")
    sunday = datetime(2027, 3, 28, 0, 0, tzinfo=UTC)  # clocks jump from 02:00 to 03:00 in Berlin
    assert next_open(w, "Europe/Berlin", no_holidays, sunday) == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)


def test_business_days_skip_weekends_and_the_persons_public_holidays_in_their_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    friday = datetime(2026, 12, 18, 15, 0, tzinfo=UTC)  # 16:00 in Berlin
    christmas = {date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26)}
    got = add_business_days(friday, 5, berlin, christmas.__contains__)
    assert got == datetime(2026, 12, 29, 15, 0, tzinfo=UTC)  # 21, 22, 23, (24, 25 off; a weekend) 28, 29
    assert add_business_days(friday, 5, berlin, no_holidays) == datetime(2026, 12, 25, 15, 0, tzinfo=UTC)
    assert got.astimezone(berlin).time() == time(16, 0)


def test_trigger_matching_names_beat_any_and_only_matching_sequences_start() -> None:
    catch_all = ("any", Triggers(recycled=True))
    budget = ("budget", Triggers(recycled=["no_budget"]))
    cooled = ("cooled", Triggers(cooled=True, stages=["lost"]))
    seqs = [catch_all, budget, cooled]
    assert matching(seqs, Signal("recycled", "no_budget")) == ["budget"]
    assert matching(seqs, Signal("recycled", "not_a_fit")) == ["any"]
    assert matching(seqs, Signal("cooled")) == ["cooled"]
    assert matching(seqs, Signal("stage", "lost")) == ["cooled"]
    assert matching(seqs, Signal("stage", "won")) == []
    assert matching(seqs, Signal("inquiry")) == []
    assert matching([("forms", Triggers(activities=["form_submit"]))], Signal("activity", "form_submit")) == [
        "forms"
    ]


def test_re_entry_policy_both_directions() -> None:
    now = MONDAY
    fresh, active = History(), History(active=True, entries=1)
    done = History(entries=1, last_exit=now - timedelta(days=10))
    assert admit("never", fresh, now)[0] and admit("always", fresh, now)[0]
    for policy in ("never", "always", Cooldown(after_days=5)):
        assert admit(policy, active, now) == (False, "already in this sequence")
    assert admit("never", done, now)[0] is False
    assert admit("always", done, now)[0] is True
    assert admit(Cooldown(after_days=30), done, now)[0] is False
    assert admit(Cooldown(after_days=10), done, now)[0] is True
    assert admit(Cooldown(after_days=10), done, now - timedelta(seconds=1))[0] is False


def test_simulate_a_week_and_the_recipients_zone() -> None:
    planned, nxt = simulate(DRIP, facts(), WEEK, MONDAY, timedelta(days=7))
    assert [(p.at, p.action) for p in planned][:1] == [(MONDAY, SendEmail("hello"))]
    assert any(p.action == SendEmail("nudge") for p in planned) and nxt == Finished()
    assert zone_for(None, "US", "UTC") == "America/New_York"
    assert zone_for(None, "DE", "UTC") == "Europe/Berlin"
    assert zone_for(None, "IS", "UTC") == "Atlantic/Reykjavik"
    assert zone_for("Asia/Tokyo", "DE", "UTC") == "Asia/Tokyo"
    assert zone_for("Not/AZone", None, "Europe/Paris") == "Europe/Paris"
