"""Mail-in over a real SMTP connection, on SQLite and PostgreSQL: a rep's BCC'd mail, a buyer's
reply, a forward and an invitation land on the right people, account and lead and stop the SLA
clock; auto-replies and bounces never count as a reply; the same message twice is one activity;
a mail bomb and an unreadable message are refused in the protocol."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from leadloop import capture as h
from leadloop.auth.handlers import create_user
from leadloop.capture.model import parse_person
from leadloop.capture.smtp import start
from leadloop.core.clock import FrozenClock
from leadloop.jobs import outbox
from leadloop.lifecycle.repository import nurture_queue_id
from leadloop.routing.handlers import route_lead
from leadloop.settings import Settings
from leadloop.store.db import Database
from leadloop.store.tables import Activity, Lead, Person
from tests.fixtures.mails import bounce, invite, message
from tests.fixtures.routing import activate_rules

MONDAY = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
RULES = """\
name: team
version: 1
fallback: {queue: Sales inbox}
rules:
  - name: Everyone to Rita
    when: {}
    assign: {user: rita@ourco.io}
sla:
  - {name: Hot, when: {}, first_touch_minutes: 60}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def world(db: Database) -> dict[str, int]:
    with db.write() as s:
        create_user(s, email="rita@ourco.io", name="Rita Rep", role="rep", password=None, now=MONDAY)
        activate_rules(s, RULES, now=MONDAY)
        done = h.ingest_people(
            s,
            [
                parse_person(
                    {"email": "greta@polar-signal.se", "first_name": "Greta", "company": "Polar Signal AB"}
                )
            ],
            now=MONDAY,
            source="api",
        )
        account_id = done.outcomes[0].account_id
        assert account_id is not None
        lead = Lead(
            account_id=account_id,
            product="analytics",
            stage="mql",
            owner_team_id=nurture_queue_id(s, now=MONDAY),
            opened_at=MONDAY,
            stage_changed_at=MONDAY,
            last_activity_at=MONDAY,
            mql_at=MONDAY,
            grade="A",
        )
        s.add(lead)
        s.flush()
        route_lead(s, lead.id, now=MONDAY)
        return {"lead": lead.id, "account": account_id}


@pytest.fixture
def smtp(db: Database) -> Iterator[tuple[str, int, FrozenClock]]:
    clock = FrozenClock(MONDAY + timedelta(minutes=10))
    port = _free_port()
    controller = start(db, clock, Settings(mailin_max_recipients=100), host="127.0.0.1", port=port)
    yield "127.0.0.1", port, clock
    controller.stop()


def _send(server: tuple[str, int, FrozenClock], raw: bytes, rcpt: list[str]) -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP(server[0], server[1], timeout=10) as c:
        return c.sendmail("sender@relay.test", rcpt, raw)


def _activities(db: Database, email: str) -> list[Activity]:
    with db.read() as s:
        pid = s.scalar(sa.select(Person.id).where(Person.email == email))
        return list(s.scalars(sa.select(Activity).where(Activity.person_id == pid).order_by(Activity.id)))


def test_a_bccd_mail_and_the_reply_land_on_the_person_and_stop_the_clock(
    db: Database, world: dict[str, int], smtp: tuple[str, int, FrozenClock]
) -> None:
    sent = message(
        sender="Rita Rep <rita@ourco.io>",
        to=["Greta <greta@polar-signal.se>"],
        subject="Your Leadloop trial",
        body="Hi Greta,\n\nshall we talk on Thursday?\n\n-- \nRita",
        at=MONDAY + timedelta(minutes=2),
    )
    _send(smtp, sent, ["log@mailin.ourco.io"])
    _send(smtp, sent, ["log@mailin.ourco.io"])  # BCC'd twice (or synced too): still one activity
    acts = [a for a in _activities(db, "greta@polar-signal.se") if a.type.startswith("email")]
    assert [(a.type, a.direction, a.product) for a in acts] == [("email_sent", "outbound", "analytics")]
    assert acts[0].payload["subject"] == "Your Leadloop trial"
    assert acts[0].payload["body"] == "Hi Greta,\n\nshall we talk on Thursday?"
    with db.read() as s:
        lead = s.get(Lead, world["lead"])
        assert lead is not None and lead.first_touch_at == MONDAY + timedelta(minutes=2)

    reply = message(
        sender="greta@polar-signal.se",
        to=["rita@ourco.io"],
        cc=["log@mailin.ourco.io"],
        subject="Re: Your Leadloop trial",
        body="Thursday works.\n\nOn Mon, Rita wrote:\n> shall we talk",
        at=MONDAY + timedelta(minutes=5),
    )
    _send(smtp, reply, ["log@mailin.ourco.io"])
    out_of_office = message(
        sender="greta@polar-signal.se",
        to=["rita@ourco.io"],
        subject="Automatic reply: Your Leadloop trial",
        headers={"Auto-Submitted": "auto-replied"},
    )
    _send(smtp, out_of_office, ["log@mailin.ourco.io"])
    acts = [a for a in _activities(db, "greta@polar-signal.se") if a.type.startswith("email")]
    assert [(a.type, a.payload.get("body")) for a in acts] == [
        ("email_sent", "Hi Greta,\n\nshall we talk on Thursday?"),
        ("email_reply", "Thursday works."),
    ]


def test_an_invitation_is_a_meeting_with_a_new_person_and_a_bounce_marks_the_address(
    db: Database, world: dict[str, int], smtp: tuple[str, int, FrozenClock]
) -> None:
    raw = message(
        sender="rita@ourco.io",
        to=["lars@polar-signal.se"],
        subject="Invitation: Leadloop demo",
        calendar=invite(organizer="rita@ourco.io", attendees=["lars@polar-signal.se", "rita@ourco.io"]),
        at=MONDAY + timedelta(minutes=3),
    )
    _send(smtp, raw, ["log@mailin.ourco.io"])
    lars = _activities(db, "lars@polar-signal.se")
    assert sorted(a.type for a in lars) == ["email_sent", "meeting", "record_created"] or sorted(
        a.type for a in lars
    ) == ["email_sent", "meeting"]
    meeting = next(a for a in lars if a.type == "meeting")
    assert (
        meeting.payload["starts_at"] == "2026-11-05T14:00:00+00:00" and meeting.account_id == world["account"]
    )
    with db.read() as s:
        lead = s.get(Lead, world["lead"])
        assert lead is not None and lead.first_touch_at == MONDAY + timedelta(minutes=3)

    with db.write() as s:  # the message Leadloop sent her, which bounces
        outbox.email(s, "assigned:greta", to="greta@polar-signal.se", subject="Hi", body="Hi.", now=MONDAY)
    _send(smtp, bounce(failed="greta@polar-signal.se", key="assigned:greta"), ["log@mailin.ourco.io"])
    assert [a.type for a in _activities(db, "greta@polar-signal.se")][-1] == "email_bounce_hard"


def test_a_mail_bomb_and_an_unreadable_message_are_refused(
    db: Database, world: dict[str, int], smtp: tuple[str, int, FrozenClock]
) -> None:
    with db.read() as s:
        before = s.scalar(sa.select(sa.func.count()).select_from(Activity))
    refused = _send(
        smtp, message(sender="x@spam.test", to=["a@b.test"]), [f"u{i}@mailin.ourco.io" for i in range(150)]
    )
    assert len(refused) == 50 and all(code == 452 for code, _ in refused.values())
    with pytest.raises(smtplib.SMTPDataError) as bad:
        _send(smtp, b"\x00\xff no headers at all", ["log@mailin.ourco.io"])
    assert bad.value.smtp_code == 550
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Activity)) == before


def test_only_the_configured_bcc_addresses_are_accepted(db: Database, world: dict[str, int]) -> None:
    port = _free_port()
    settings = Settings(mailin_addresses="log@mailin.ourco.io")
    controller = start(db, FrozenClock(MONDAY), settings, host="127.0.0.1", port=port)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
            raw = message(sender="rita@ourco.io", to=["greta@polar-signal.se"])
            with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                c.sendmail("rita@ourco.io", ["postmaster@elsewhere.io"], raw)
            assert refused.value.recipients["postmaster@elsewhere.io"][0] == 550
            assert c.sendmail("rita@ourco.io", ["LOG@mailin.ourco.io"], raw) == {}
    finally:
        controller.stop()
