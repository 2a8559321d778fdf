"""The shared-mailbox sync against a real IMAP server (dovecot), on SQLite and PostgreSQL: every
message is logged once however often the sync runs, the mailbox's \\Seen flags are untouched, an
out-of-office is skipped, and a message over the size limit is passed over with the reason."""

from __future__ import annotations

import imaplib
from datetime import UTC, datetime

import sqlalchemy as sa

from leadloop.auth.handlers import create_user
from leadloop.capture.imap import LOGGED, Mailbox, sync
from leadloop.capture.mailin import MailPolicy
from leadloop.core.clock import FrozenClock
from leadloop.store.db import Database
from leadloop.store.tables import Activity, Person
from tests.fixtures.imap import Imap
from tests.fixtures.mails import message

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def _append(imap: Imap, folder: str, *raws: bytes) -> None:
    c = imaplib.IMAP4(imap.host, imap.port)
    c.login(imap.user, imap.password)
    c.create(folder)
    for raw in raws:
        c.append(folder, None, None, raw)
    c.logout()


def test_a_shared_mailbox_is_logged_once_and_left_as_it_was(
    db: Database, imap_server: Imap, db_url: str
) -> None:
    folder = "Sync" + str(abs(hash(db_url)) % 10_000)  # one folder per backend run
    with db.write() as s:
        create_user(s, email="rita@ourco.io", name="Rita", role="rep", password=None, now=NOW)
    _append(
        imap_server,
        folder,
        message(
            sender="greta@polar-signal.se",
            to=["rita@ourco.io"],
            subject="Re: pricing",
            body="Send the quote.",
        ),
        message(
            sender="greta@polar-signal.se",
            to=["rita@ourco.io"],
            subject="Out of Office",
            headers={"Auto-Submitted": "auto-replied"},
        ),
        message(sender="rita@ourco.io", to=["lars@polar-signal.se"], subject="Big", body="x" * 300_000),
    )
    box = Mailbox(
        imap_server.host, imap_server.port, imap_server.user, imap_server.password, folder, ssl=False
    )
    first = sync(db, FrozenClock(NOW), box, MailPolicy(), max_bytes=200_000)
    again = sync(db, FrozenClock(NOW), box, MailPolicy(), max_bytes=200_000)
    assert (first.logged, first.skipped, first.too_big) == (1, 1, 1)
    assert any("at most 200,000" in r for r in first.reasons)
    assert (again.logged, again.skipped, again.too_big) == (0, 0, 0)
    with db.read() as s:
        rows = s.execute(
            sa.select(Activity.type, Activity.direction, Person.email)
            .join(Person, Person.id == Activity.person_id)
            .where(Activity.type.like("email%"))
        ).all()
    assert [tuple(r) for r in rows] == [("email_reply", "inbound", "greta@polar-signal.se")]
    c = imaplib.IMAP4(imap_server.host, imap_server.port)
    c.login(imap_server.user, imap_server.password)
    c.select(folder)
    _, unseen = c.uid("SEARCH", None, "UNSEEN")  # type: ignore[arg-type]
    _, logged = c.uid("SEARCH", None, "KEYWORD", LOGGED)  # type: ignore[arg-type]
    c.logout()
    assert len(unseen[0].split()) == 3 and len(logged[0].split()) == 3
