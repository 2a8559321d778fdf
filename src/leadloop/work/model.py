"""The rep's workbench as pure rules: what a logged touch may say, how long a note may be, when a
task is overdue, due today or upcoming, when its reminder goes out, and which activity made a lead
hot ("why now"). No I/O: the handlers and queries load, these decide."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from leadloop.core.errors import InvalidInput

NOTE_MAX = 2000
TITLE_MAX = 200
# A reminder goes out this long before a task is due, so there is time to act on it.
REMIND_BEFORE = timedelta(minutes=15)
DEFAULT_DUE_TIME = time(9, 0)  # a follow-up for "tomorrow" is for the start of the working day


class TouchKind(StrEnum):
    """What a rep logs, and the activity type it becomes in the log."""

    CALL = "call"
    MEETING = "meeting"
    EMAIL = "email_sent"


KIND_LABELS = {TouchKind.CALL: "Call", TouchKind.MEETING: "Meeting", TouchKind.EMAIL: "E-mail"}


class Outcome(StrEnum):
    CONNECTED = "connected"
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no_answer"
    MEETING_BOOKED = "meeting_booked"
    NOT_INTERESTED = "not_interested"


OUTCOME_LABELS = {
    Outcome.CONNECTED: "Connected",
    Outcome.VOICEMAIL: "Voicemail",
    Outcome.NO_ANSWER: "No answer",
    Outcome.MEETING_BOOKED: "Meeting booked",
    Outcome.NOT_INTERESTED: "Not interested",
}


# What the forms offer, as (code, label).
TOUCH_CHOICES = [(k.value, KIND_LABELS[k]) for k in TouchKind]
OUTCOME_CHOICES = [(o.value, label) for o, label in OUTCOME_LABELS.items()]


def outcome_label(code: str | None) -> str:
    """The label a person reads; an unknown code (an older vocabulary) is shown as words."""
    if not code:
        return ""
    try:
        return OUTCOME_LABELS[Outcome(code)]
    except ValueError:
        return code.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Touch:
    kind: TouchKind
    outcome: Outcome
    note: str | None


def touch(kind: str, outcome: str, note: str | None) -> Touch:
    """A touch as a rep typed it, or InvalidInput naming what to choose."""
    try:
        k = TouchKind(kind)
    except ValueError:
        choices = ", ".join(f"{t.value} ({KIND_LABELS[t]})" for t in TouchKind)
        raise InvalidInput(f"log a call, a meeting or an e-mail: kind must be one of {choices}") from None
    try:
        o = Outcome(outcome)
    except ValueError:
        choices = ", ".join(f"{c.value} ({OUTCOME_LABELS[c]})" for c in Outcome)
        raise InvalidInput(f"choose an outcome: one of {choices}") from None
    return Touch(k, o, clean_text(note, NOTE_MAX, "note", required=False))


def clean_text(value: str | None, limit: int, what: str, *, required: bool = True) -> str | None:
    """Trimmed text within `limit` characters; too long is refused (never cut silently)."""
    text = (value or "").strip()
    if not text:
        if required:
            raise InvalidInput(f"the {what} is empty: write something first")
        return None
    if len(text) > limit:
        raise InvalidInput(f"the {what} has {len(text)} characters; shorten it to {limit} or fewer")
    return text


class Subject(StrEnum):
    """What a note or a task is about."""

    LEAD = "lead"
    PERSON = "person"
    ACCOUNT = "account"


def subject(kind: str) -> Subject:
    try:
        return Subject(kind)
    except ValueError:
        raise InvalidInput(f"a note or task is about a lead, a person or an account, not {kind!r}") from None


# Tasks


class Due(StrEnum):
    OVERDUE = "overdue"
    TODAY = "today"
    UPCOMING = "upcoming"
    DONE = "done"


DUE_LABELS = {Due.OVERDUE: "Overdue", Due.TODAY: "Due today", Due.UPCOMING: "Upcoming", Due.DONE: "Done"}


def zone(name: str | None) -> ZoneInfo:
    """The user's time zone; an unknown name falls back to UTC rather than failing a page."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def classify(due_at: datetime, done_at: datetime | None, now: datetime, tz: ZoneInfo) -> Due:
    """Overdue once its time has passed; due today while it is later on the user's today;
    upcoming after that. "Today" is the user's calendar day, not UTC's."""
    if done_at is not None:
        return Due.DONE
    if due_at < now:
        return Due.OVERDUE
    if due_at.astimezone(tz).date() == now.astimezone(tz).date():
        return Due.TODAY
    return Due.UPCOMING


def due_from_form(day: date, at: time | None, tz: ZoneInfo) -> datetime:
    """A date (and optional time) the user typed, in their time zone, as a UTC instant."""
    try:
        return datetime.combine(day, at or DEFAULT_DUE_TIME, tzinfo=tz).astimezone(UTC)
    except OverflowError:
        raise InvalidInput(
            f"the due date {day.isoformat()} is out of range: pick a date near today"
        ) from None


DUE_PAST = timedelta(days=366)  # a task may be set late (it shows as overdue), not for another age
DUE_AHEAD = timedelta(days=3653)


def check_due(due_at: datetime, now: datetime) -> datetime:
    """A due time within a year back and ten years ahead, or InvalidInput saying so."""
    try:
        ok = now - DUE_PAST <= due_at <= now + DUE_AHEAD
    except OverflowError:
        ok = False
    if not ok:
        raise InvalidInput("a task's due time must be within a year back and ten years ahead of today")
    return due_at


def reminder_at(due_at: datetime, now: datetime) -> datetime | None:
    """When the reminder goes out: REMIND_BEFORE ahead of the due time, or at once if that moment
    has passed; none for a task set already overdue (its owner has just seen it)."""
    if due_at <= now:
        return None
    return max(now, due_at - REMIND_BEFORE)


def tomorrow_morning(now: datetime, tz: ZoneInfo) -> tuple[date, time]:
    """The follow-up offered after Accept: tomorrow at the start of the day, in the user's zone."""
    return (now.astimezone(tz) + timedelta(days=1)).date(), DEFAULT_DUE_TIME


# Why now


@dataclass(frozen=True)
class Signal:
    """An activity of the lead (its account and product), as the "why now" rule needs it."""

    activity_id: int
    type: str
    occurred_at: datetime
    person_id: int | None
    hand_raise: bool


@dataclass(frozen=True)
class WhyNow:
    signal: Signal
    reason: str  # "hand_raise" | "crossed_mql"


def why_now(signals: Sequence[Signal], mql_at: datetime | None) -> WhyNow | None:
    """The activity that made the lead hot. A hand-raise since the lead became an MQL is the
    freshest reason to call (newest first); otherwise the activity that crossed the threshold: the
    latest at or before the moment it became an MQL (a hand-raise first among equals, as the fast
    track counts it). A lead that never became an MQL: its latest hand-raise, if any."""
    raised = sorted(
        (s for s in signals if s.hand_raise and (mql_at is None or s.occurred_at >= mql_at)),
        key=lambda s: (s.occurred_at, s.activity_id),
    )
    if raised:
        return WhyNow(raised[-1], "hand_raise")
    if mql_at is None:
        return None
    before = [s for s in signals if s.occurred_at <= mql_at]
    if not before:
        return None
    last = max(before, key=lambda s: (s.occurred_at, s.hand_raise, s.activity_id))
    return WhyNow(last, "hand_raise" if last.hand_raise else "crossed_mql")


# What a person is told after a form saved (the code travels in the redirect; the words are here).
_DONE = {"note": "Note saved", "task": "Follow-up set", "done": "Task done", "reopened": "Task reopened"}


def done_message(code: str) -> str | None:
    """ "call:voicemail" -> "Call logged: Voicemail"; an unknown code says nothing."""
    kind, _, outcome = code.partition(":")
    if kind in _DONE and not outcome:
        return _DONE[kind]
    try:
        k, o = TouchKind(kind), Outcome(outcome)
    except ValueError:
        return None
    return f"{KIND_LABELS[k]} logged: {OUTCOME_LABELS[o]}"
