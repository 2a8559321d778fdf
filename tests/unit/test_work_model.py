"""The workbench's pure rules: the touch vocabulary, bounded notes, task due classes, reminder
timing, and "why now"."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from leadloop.core.errors import InvalidInput
from leadloop.notifications.model import Notice
from leadloop.work.model import (
    NOTE_MAX,
    OUTCOME_CHOICES,
    REMIND_BEFORE,
    Due,
    Outcome,
    Signal,
    TouchKind,
    check_due,
    classify,
    clean_text,
    done_message,
    due_from_form,
    outcome_label,
    reminder_at,
    subject,
    tomorrow_morning,
    touch,
    why_now,
    zone,
)

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # a Monday, 16:00 in Berlin
BERLIN = zone("Europe/Berlin")


def test_outcomes_are_the_five_the_issue_names_with_labels_for_people() -> None:
    assert [label for _, label in OUTCOME_CHOICES] == [
        "Connected",
        "Voicemail",
        "No answer",
        "Meeting booked",
        "Not interested",
    ]
    assert outcome_label("no_answer") == "No answer" and outcome_label("left_message") == "Left message"
    assert outcome_label(None) == ""


def test_a_touch_is_a_call_meeting_or_email_with_a_known_outcome() -> None:
    t = touch("call", "voicemail", "  left a message about the demo  ")
    assert (t.kind, t.outcome, t.note) == (TouchKind.CALL, Outcome.VOICEMAIL, "left a message about the demo")
    assert touch("email_sent", "connected", "").note is None
    with pytest.raises(InvalidInput, match="choose an outcome: one of connected \\(Connected\\)"):
        touch("call", "maybe", None)
    with pytest.raises(InvalidInput, match="kind must be one of call"):
        touch("fax", "connected", None)
    with pytest.raises(InvalidInput, match="choose an outcome"):
        touch("call", "", None)


def test_text_is_bounded_and_never_cut_silently() -> None:
    assert clean_text("x" * NOTE_MAX, NOTE_MAX, "note") == "x" * NOTE_MAX
    with pytest.raises(InvalidInput, match=f"has {NOTE_MAX + 1} characters; shorten it to {NOTE_MAX}"):
        clean_text("x" * (NOTE_MAX + 1), NOTE_MAX, "note")
    with pytest.raises(InvalidInput, match="the note is empty"):
        clean_text("   ", NOTE_MAX, "note")
    with pytest.raises(InvalidInput, match="a lead, a person or an account, not 'deal'"):
        subject("deal")


def test_tasks_are_overdue_due_today_or_upcoming_in_the_users_day() -> None:
    assert classify(NOW - timedelta(minutes=1), None, NOW, BERLIN) is Due.OVERDUE
    assert classify(NOW + timedelta(hours=7), None, NOW, BERLIN) is Due.TODAY  # 23:00 in Berlin
    # 00:30 Berlin is tomorrow there, though still today in UTC.
    assert classify(NOW + timedelta(hours=8, minutes=30), None, NOW, BERLIN) is Due.UPCOMING
    assert classify(NOW + timedelta(hours=8, minutes=30), None, NOW, zone("UTC")) is Due.TODAY
    assert classify(NOW - timedelta(days=3), NOW, NOW, BERLIN) is Due.DONE


def test_reminders_go_out_ahead_of_the_due_time_never_for_a_task_set_overdue() -> None:
    due = NOW + timedelta(days=1)
    assert reminder_at(due, NOW) == due - REMIND_BEFORE
    assert reminder_at(NOW + timedelta(minutes=5), NOW) == NOW  # too close: at once
    assert reminder_at(NOW, NOW) is None and reminder_at(NOW - timedelta(hours=1), NOW) is None


def test_a_date_typed_in_the_users_zone_and_tomorrow_morning() -> None:
    assert due_from_form(date(2026, 11, 3), None, BERLIN) == datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
    assert due_from_form(date(2026, 11, 3), time(14, 30), zone("UTC")) == datetime(
        2026, 11, 3, 14, 30, tzinfo=UTC
    )
    late = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)  # already Tuesday 00:30 in Berlin
    assert tomorrow_morning(late, BERLIN) == (date(2026, 11, 4), time(9, 0))
    assert zone("Not/AZone").key == "UTC"
    with pytest.raises(InvalidInput, match="out of range"):
        due_from_form(date(1, 1, 1), time(0, 0), BERLIN)


def test_a_due_time_is_near_enough_to_today() -> None:
    assert check_due(NOW - timedelta(days=2), NOW) == NOW - timedelta(days=2)
    for far in (NOW - timedelta(days=400), NOW + timedelta(days=4000)):
        with pytest.raises(InvalidInput, match="within a year back and ten years ahead"):
            check_due(far, NOW)
    ancient = datetime(1, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidInput):
        check_due(ancient, NOW)


def test_done_messages_name_the_touch_and_outcome() -> None:
    assert done_message("call:voicemail") == "Call logged: Voicemail"
    assert done_message("email_sent:connected") == "E-mail logged: Connected"
    assert done_message("task") == "Follow-up set"
    assert done_message("call:<script>") is None and done_message("") is None


def _s(i: int, kind: str, minutes: int, hand: bool = False) -> Signal:
    return Signal(i, kind, NOW + timedelta(minutes=minutes), 7, hand)


def test_why_now_is_the_activity_that_crossed_the_threshold() -> None:
    signals = [_s(1, "page_view", -30), _s(2, "webinar_attended", -10), _s(3, "page_view", 5)]
    found = why_now(signals, NOW - timedelta(minutes=10))
    assert found is not None and (found.signal.activity_id, found.reason) == (2, "crossed_mql")


def test_why_now_prefers_a_hand_raise_at_the_crossing_or_since() -> None:
    at_once = [_s(1, "page_view", 0), _s(2, "demo_request", 0, hand=True)]
    found = why_now(at_once, NOW)
    assert found is not None and (found.signal.type, found.reason) == ("demo_request", "hand_raise")
    later = [
        _s(1, "page_view", -5),
        _s(4, "contact_request", 60, hand=True),
        _s(5, "trial_signup", 30, hand=True),
    ]
    found = why_now(later, NOW - timedelta(minutes=5))
    assert found is not None and found.signal.activity_id == 4
    # Never an MQL: only a hand-raise explains it; nothing at all, no answer.
    assert why_now([_s(1, "page_view", 0)], None) is None
    found = why_now([_s(1, "page_view", 0), _s(2, "demo_request", -60, hand=True)], None)
    assert found is not None and found.signal.activity_id == 2
    assert why_now([], NOW) is None


def test_a_notice_keeps_only_app_paths_as_links_and_bounds_its_text() -> None:
    row = Notice(1, "task_due", "k", "t" * 400, "https://evil.example/", "b" * 2000).row(NOW)
    assert row["link"] is None and len(str(row["title"])) == 300 and len(str(row["body"])) == 1000
    assert Notice(1, "task_due", "k", "t", "/leads/3").row(NOW)["link"] == "/leads/3"
