"""Reading e-mail and invitations: who wrote to whom, whether a person wrote it, the new part of
the body, and every hostile message refused or bounded, never a crash."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from leadloop.capture.invites import read_invite
from leadloop.capture.mail import Kind, Mail, Refused, parse, trim_body
from tests.fixtures.mails import bounce, invite, message

AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def _mail(raw: bytes) -> Mail:
    mail = parse(raw)
    assert isinstance(mail, Mail), mail
    return mail


def test_a_reps_mail_is_read_with_its_people_and_time() -> None:
    mail = _mail(
        message(
            sender="Rita Rep <Rita@OurCo.test>",
            to=["Greta Lindqvist <greta@polar-signal.se>"],
            cc=["ops@polar-signal.se"],
            at=AT,
        )
    )
    assert mail.kind is Kind.PERSON
    assert mail.sender == ("Rita Rep", "rita@ourco.test")
    assert mail.recipients == (("Greta Lindqvist", "greta@polar-signal.se"), ("", "ops@polar-signal.se"))
    assert mail.sent_at == AT and mail.subject == "Your trial" and mail.message_id


def test_quoted_history_and_signature_are_cut() -> None:
    body = (
        "Yes, Thursday works.\n\nBest,\nGreta\n-- \nGreta Lindqvist | VP Engineering\n"
        "On Mon, 2 Nov 2026 at 10:00, Rita wrote:\n> Can we talk on Thursday?\n"
    )
    assert trim_body(body) == "Yes, Thursday works.\n\nBest,\nGreta"
    outlook = "Sounds good.\n\n-----Original Message-----\nFrom: Rita\nSent: Monday\n\nOld text"
    assert trim_body(outlook) == "Sounds good."
    german = "Passt.\n\nAm 02.11.2026 um 10:00 schrieb Rita Rep <rita@ourco.test>:\n> Hallo"
    assert trim_body(german) == "Passt."
    assert len(trim_body("x" * 100_000)) == 4_000


def test_autoreplies_lists_and_bounces_are_never_a_persons_reply() -> None:
    def kind(headers: dict[str, str], subject: str = "Re: your trial") -> Kind:
        return _mail(
            message(sender="greta@polar-signal.se", to=["rita@ourco.test"], subject=subject, headers=headers)
        ).kind

    assert kind({"Auto-Submitted": "auto-replied"}) is Kind.AUTO_REPLY
    assert kind({"Auto-Submitted": "no"}) is Kind.PERSON
    assert kind({"X-Autoreply": "yes"}) is Kind.AUTO_REPLY
    assert kind({"Precedence": "bulk"}) is Kind.BULK
    assert kind({"List-Id": "<news.polar-signal.se>"}) is Kind.BULK
    assert kind({}, subject="Automatic reply: your trial") is Kind.AUTO_REPLY
    assert kind({}, subject="Abwesenheitsnotiz: Ihr Test") is Kind.AUTO_REPLY
    dsn = _mail(bounce(failed="gone@polar-signal.se"))
    assert dsn.kind is Kind.BOUNCE and [(b.recipient, b.permanent) for b in dsn.bounces] == [
        ("gone@polar-signal.se", True)
    ]
    assert not _mail(bounce(failed="slow@polar-signal.se", status="4.4.1")).bounces[0].permanent


def test_a_forward_is_the_original_writers_message() -> None:
    body = (
        "FYI, she wants a demo.\n\n---------- Forwarded message ---------\n"
        "From: Greta Lindqvist <greta@polar-signal.se>\nDate: Mon, 2 Nov 2026\nSubject: Demo\n"
        "To: Rita <rita@ourco.test>\n\nCould you show us Leadloop next week?\n"
    )
    mail = _mail(message(sender="rita@ourco.test", to=["log@mailin.test"], subject="Fwd: Demo", body=body))
    assert mail.forwarded_from == ("Greta Lindqvist", "greta@polar-signal.se")
    assert mail.body == "Could you show us Leadloop next week?"


def test_hostile_messages_are_refused_with_the_reason() -> None:
    to = b", ".join(f"u{i}@victim.test".encode() for i in range(10_000))
    bomb = b"From: x@spam.test\r\nTo: " + to + b"\r\nSubject: hi\r\n\r\nbuy now\r\n"
    refused = parse(bomb)
    assert isinstance(refused, Refused) and "more than 100 recipients" in refused.reason
    big = parse(b"From: a@b.test\r\n\r\n" + b"x" * (10 * 1024 * 1024))
    assert isinstance(big, Refused) and "at most 10,485,760" in big.reason
    assert isinstance(parse(b""), Refused)
    assert isinstance(parse(b"\x00\xff\xfe garbage without headers"), Refused)
    no_from = parse(message(sender="not an address", to=["rita@ourco.test"]))
    assert isinstance(no_from, Refused) and "From" in no_from.reason


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2_000))
def test_any_bytes_are_read_or_refused_never_a_crash(raw: bytes) -> None:
    result = parse(raw)
    assert isinstance(result, Mail | Refused)


def test_an_invitation_books_one_meeting_even_when_it_repeats_forever() -> None:
    meetings = read_invite(
        invite(organizer="rita@ourco.test", attendees=["greta@polar-signal.se"], rrule="FREQ=DAILY").encode()
    )
    assert not isinstance(meetings, str) and len(meetings) == 1
    m = meetings[0]
    assert m.recurring and m.attendees == ("greta@polar-signal.se",) and m.organizer == "rita@ourco.test"
    assert m.starts_at == datetime(2026, 11, 5, 14, 0, tzinfo=UTC) and m.summary == "Leadloop demo"
    bad = read_invite(b"BEGIN:VCALENDAR\r\nthis is not ical")
    assert isinstance(bad, str) and "cannot be read" in bad


def test_an_invitation_inside_a_mail_is_found() -> None:
    raw = message(
        sender="rita@ourco.test",
        to=["greta@polar-signal.se"],
        subject="Invitation: Leadloop demo",
        calendar=invite(organizer="rita@ourco.test", attendees=["greta@polar-signal.se"]),
    )
    assert len(_mail(raw).calendars) == 1
