"""Calendar feeds over real HTTP, on SQLite and PostgreSQL: a colleague's meeting with a buyer in
the window is a meeting on the buyer; polling again adds nothing; a recurrence that repeats forever
is one meeting; a feed too big or gone is a sentence, and the others still land."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from leadloop.auth.handlers import create_user
from leadloop.capture.calendar_feeds import feeds_job, fetch
from leadloop.capture.mailin import MailPolicy
from leadloop.jobs.timers import Due
from leadloop.store.db import Database
from leadloop.store.tables import Activity, Person

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
FEED = "\r\n".join(
    [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//test//EN",
        "BEGIN:VEVENT",
        "UID:weekly-sync@ourco.io",
        "DTSTAMP:20261101T090000Z",
        "DTSTART:20261105T140000Z",
        "SUMMARY:Weekly sync with Polar",
        "RRULE:FREQ=WEEKLY",
        "ORGANIZER:mailto:rita@ourco.io",
        "ATTENDEE:mailto:greta@polar-signal.se",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:old@ourco.io",
        "DTSTAMP:20250101T090000Z",
        "DTSTART:20250105T140000Z",
        "SUMMARY:Long ago",
        "ORGANIZER:mailto:rita@ourco.io",
        "ATTENDEE:mailto:old@polar-signal.se",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:strangers@x.io",
        "DTSTAMP:20261101T090000Z",
        "DTSTART:20261104T140000Z",
        "SUMMARY:Not ours",
        "ORGANIZER:mailto:a@x.io",
        "ATTENDEE:mailto:b@y.io",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
).encode()


class _Feeds(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = {"/rita.ics": FEED, "/huge.ics": b"x" * (6 * 1024 * 1024)}.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.end_headers()
        if body is not None:
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def feeds() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Feeds)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_feed_logs_each_meeting_once(db: Database, feeds: str) -> None:
    with db.write() as s:
        create_user(s, email="rita@ourco.io", name="Rita", role="rep", password=None, now=NOW)
    job = feeds_job([feeds + "/rita.ics", feeds + "/missing.ics"], timedelta(minutes=15), MailPolicy())
    due = Due(1, "ics_feeds", "feeds", NOW, {})
    for _ in range(2):
        with db.read() as s:
            fetched = job.prepare(s, due, NOW)
        with db.write() as s:
            job.apply(s, due, NOW, fetched)
    assert fetched[feeds + "/missing.ics"] == f"{feeds}/missing.ics: HTTP 404"
    with db.read() as s:
        rows = s.execute(
            sa.select(Person.email, Activity.occurred_at, Activity.payload)
            .join(Person, Person.id == Activity.person_id)
            .where(Activity.type == "meeting")
        ).all()
    assert [(r.email, r.occurred_at) for r in rows] == [
        ("greta@polar-signal.se", datetime(2026, 11, 1, 9, 0, tzinfo=UTC))
    ]
    assert rows[0].payload["recurring"] is True and rows[0].payload["summary"] == "Weekly sync with Polar"


def test_a_feed_too_big_is_refused(feeds: str) -> None:
    assert fetch(feeds + "/huge.ics") == f"{feeds}/huge.ics: larger than 5,242,880 bytes"
