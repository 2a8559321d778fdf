"""Reading a calendar invitation (iCalendar, RFC 5545) into the meetings it books. Pure.

A recurring meeting is one meeting: its first occurrence is what booked it, so a rule that repeats
forever is never expanded. Events and attendees are bounded; an unreadable file is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from icalendar import Calendar

MAX_EVENTS = 20
MAX_ATTENDEES = 100


@dataclass(frozen=True, slots=True)
class Meeting:
    uid: str
    summary: str
    starts_at: datetime | None
    organizer: str | None
    attendees: tuple[str, ...]
    cancelled: bool
    recurring: bool
    stamped_at: datetime | None = None  # DTSTAMP: when the organiser sent (booked) it


def read_invite(data: bytes, *, max_events: int = MAX_EVENTS) -> list[Meeting] | str:
    """The meetings an invitation books (or cancels), or a sentence saying why it can't be read."""
    try:
        cal = Calendar.from_ical(data)
    except Exception as exc:  # hostile input: any parser failure is a refusal
        return f"the calendar file cannot be read: {type(exc).__name__}"
    method = str(cal.get("METHOD", "")).upper()
    out: list[Meeting] = []
    for event in cal.walk("VEVENT")[:max_events]:
        attendees = event.get("ATTENDEE", [])
        if not isinstance(attendees, list):
            attendees = [attendees]
        out.append(
            Meeting(
                uid=str(event.get("UID", ""))[:300],
                summary=str(event.get("SUMMARY", ""))[:300],
                starts_at=_when(event.get("DTSTART")),
                organizer=_address(event.get("ORGANIZER")),
                attendees=tuple(a for a in (_address(x) for x in attendees[:MAX_ATTENDEES]) if a),
                cancelled=method == "CANCEL" or str(event.get("STATUS", "")).upper() == "CANCELLED",
                recurring=event.get("RRULE") is not None,
                stamped_at=_when(event.get("DTSTAMP")),
            )
        )
    return out


def _address(value: object) -> str | None:
    text = str(value or "").strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    text = text.strip().lower()
    return text[:320] if "@" in text and " " not in text else None


def _when(prop: object) -> datetime | None:
    value = getattr(prop, "dt", None)
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(9), tzinfo=UTC)
    return None
