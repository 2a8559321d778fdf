"""Bounces and complaints on SQLite and PostgreSQL, whichever door they came through: a hard bounce
suppresses the address and the send gate refuses it, a complaint unsubscribes the person from
everything, a soft bounce changes nothing, a retried report counts once; an RFC 3464 report that
mail-in reads suppresses as a webhook does; and the List-Unsubscribe mailto, received by mail-in
(also read from a real IMAP mailbox), unsubscribes the person its token names, and nobody else."""

from __future__ import annotations

import imaplib
import smtplib
import socket
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from leadloop.capture.delivery import record_mail_events
from leadloop.capture.imap import Mailbox, sync
from leadloop.capture.mail_events import MailEvent, Report
from leadloop.capture.mailin import MailPolicy, log_mail
from leadloop.capture.smtp import start
from leadloop.consent import suppression
from leadloop.consent.decision import Reason
from leadloop.consent.gate import may_send, unsubscribe_headers
from leadloop.core.clock import FrozenClock
from leadloop.identity.merge import merge_people
from leadloop.jobs import outbox
from leadloop.settings import Settings
from leadloop.store.db import Database
from leadloop.store.tables import Activity, ConsentEvent, Person, Suppression
from tests.conftest import count
from tests.fixtures.consent import consenting, link, use_policy
from tests.fixtures.imap import Imap
from tests.fixtures.mails import bounce, message

UNSUBSCRIBE_BOX = "unsubscribe@ourco.io"


def _record(db: Database, clock: FrozenClock, *events: MailEvent, source: str = "webhook") -> dict[str, int]:
    with db.write() as s:
        return record_mail_events(s, list(events), now=clock(), source=source, prefix="hook").as_dict()


def _decision(db: Database, clock: FrozenClock, pid: int, code: str = "newsletter") -> Reason:
    with db.write() as s:
        decision = may_send(s, pid, code, clock())
    assert not decision.allowed or decision.reason in (Reason.CONSENT, Reason.IMPLIED_CONSENT)
    return decision.reason


def _suppressions(db: Database) -> list[tuple[str, str, str, str | None]]:
    with db.read() as s:
        rows = s.execute(
            sa.select(Suppression.kind, Suppression.value, Suppression.source, Suppression.reason)
        )
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]


def _consent_log(db: Database, pid: int) -> list[tuple[str, str, str, str | None]]:
    with db.read() as s:
        rows = s.execute(
            sa.select(ConsentEvent.scope, ConsentEvent.status, ConsentEvent.source, ConsentEvent.detail)
            .where(ConsentEvent.person_id == pid)
            .order_by(ConsentEvent.id)
        ).all()
    return [(scope, status, source, detail) for scope, status, source, detail in rows]


def _opt_in(db: Database, pid: int) -> bool | None:
    with db.read() as s:
        return s.scalar(sa.select(Person.email_opt_in).where(Person.id == pid))


def test_a_hard_bounce_suppresses_the_address_and_the_gate_refuses_it(
    db: Database, clock: FrozenClock
) -> None:
    ann = consenting(db, clock, "ann@acme.com")
    assert _decision(db, clock, ann) == Reason.CONSENT
    hard = MailEvent(Report.BOUNCE, "ann@acme.com", key="id:evt-1", reason="550 5.1.1 no such user")
    assert _record(db, clock, hard) == {
        "received": 1,
        "recorded": 1,
        "duplicates": 0,
        "unknown": 0,
        "ignored": 0,
    }
    assert _suppressions(db) == [
        ("address", "ann@acme.com", "bounce", "hard bounce on 2026-11-01 (webhook): 550 5.1.1 no such user")
    ]
    for code in ("newsletter", "events", "product_updates"):
        assert _decision(db, clock, ann, code) == Reason.SUPPRESSED_ADDRESS
    assert _opt_in(db, ann) is True  # a bounce says the address does not work, not that Ann said no
    # The provider retries: one activity, one suppression, nothing else moves.
    clock.advance(minutes=10)
    again = _record(db, clock, hard)
    assert (again["recorded"], again["duplicates"]) == (0, 1)
    with db.read() as s:
        bounces = s.scalars(sa.select(Activity.type).where(Activity.type == "email_bounce_hard")).all()
    assert bounces == ["email_bounce_hard"] and len(_suppressions(db)) == 1


def test_a_soft_bounce_is_recorded_and_suppresses_nothing(db: Database, clock: FrozenClock) -> None:
    ann = consenting(db, clock, "ann@acme.com")
    for i in range(5):
        _record(
            db,
            clock,
            MailEvent(Report.BOUNCE, "ann@acme.com", key=f"id:{i}", permanent=False, reason="452 full"),
        )
        clock.advance(days=1)
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).where(Activity.type == "email_bounce_soft")) == 5
    assert _suppressions(db) == [] and _decision(db, clock, ann) == Reason.CONSENT


def test_a_complaint_unsubscribes_the_person_from_everything_and_suppresses_the_address(
    db: Database, clock: FrozenClock
) -> None:
    ann = consenting(db, clock, "ann@acme.com")
    bob = consenting(db, clock, "bob@acme.com")
    _record(db, clock, MailEvent(Report.COMPLAINT, "ann@acme.com", key="id:c-1"))
    assert _consent_log(db, ann)[-1] == ("*", "withdrawn", "complaint", "webhook activity")
    assert _opt_in(db, ann) is False
    assert _suppressions(db) == [
        ("address", "ann@acme.com", "complaint", "spam complaint on 2026-11-01 (webhook)")
    ]
    assert _decision(db, clock, ann) == Reason.SUPPRESSED_ADDRESS
    # Were the address taken off the list, the withdrawal still stands, for every type.
    with db.write() as s:
        entry = s.scalars(sa.select(Suppression.id)).one()
        suppression.remove(s, entry)
    for code in ("newsletter", "events", "product_updates"):
        assert _decision(db, clock, ann, code) == Reason.UNSUBSCRIBED
    assert _decision(db, clock, bob) == Reason.CONSENT  # nobody else is touched
    before = count(db, ConsentEvent)
    _record(db, clock, MailEvent(Report.COMPLAINT, "ann@acme.com", key="id:c-1"))  # the retry
    assert count(db, ConsentEvent) == before


def test_an_unsubscribe_from_the_providers_link_withdraws_everything(
    db: Database, clock: FrozenClock
) -> None:
    ann = consenting(db, clock, "ann@acme.com")
    _record(db, clock, MailEvent(Report.UNSUBSCRIBE, "ann@acme.com", key="id:u-1"), source="mailgun")
    assert _consent_log(db, ann)[-1] == ("*", "withdrawn", "activity", "mailgun activity")
    assert _decision(db, clock, ann) == Reason.UNSUBSCRIBED and _suppressions(db) == []


def test_an_address_nobody_holds_creates_nobody_and_an_admins_entry_stays_as_it_was(
    db: Database, clock: FrozenClock
) -> None:
    with db.write() as s:
        suppression.add(s, "bob@acme.com", reason="asked by phone", source="admin", now=clock())
    bob = consenting(db, clock, "bob@acme.com")
    people = count(db, Person)
    done = _record(
        db,
        clock,
        MailEvent(Report.BOUNCE, "stranger@nowhere.example.org", key="id:1"),
        MailEvent(Report.COMPLAINT, "bob@acme.com", key="id:2"),
    )
    assert (done["unknown"], done["recorded"]) == (1, 1) and count(db, Person) == people
    assert _suppressions(db) == [("address", "bob@acme.com", "admin", "asked by phone")]
    assert _consent_log(db, bob)[-1][2] == "complaint"


def test_a_bounce_of_a_merged_away_address_suppresses_that_address_on_the_survivor(
    db: Database, clock: FrozenClock
) -> None:
    ann = consenting(db, clock, "ann@acme.com")
    old = consenting(db, clock, "ann.old@acme.com")
    with db.write() as s:
        merge_people(s, ann, old, now=clock())
    _record(db, clock, MailEvent(Report.BOUNCE, "ann.old@acme.com", key="id:1"))
    with db.read() as s:
        on = s.scalar(sa.select(Activity.person_id).where(Activity.type == "email_bounce_hard"))
    assert on == ann and [v for _, v, _, _ in _suppressions(db)] == ["ann.old@acme.com"]
    assert _decision(db, clock, ann) == Reason.CONSENT  # her address now still works


def test_an_imported_hard_bounce_without_an_address_suppresses_the_persons_address(
    db: Database, clock: FrozenClock
) -> None:
    """One path for every source: a peer CRM's bounce history, imported as activities, counts too."""
    from leadloop import capture as h
    from leadloop.capture import model as m

    ann = consenting(db, clock, "ann@acme.com")
    with db.write() as s:
        row = {"type": "email_bounce_hard", "email": "ann@acme.com", "occurred_at": "2026-10-01T09:00:00Z"}
        h.ingest_activities(s, [m.parse_activity(row, now=clock())], now=clock(), source="import")
    assert _suppressions(db) == [("address", "ann@acme.com", "bounce", "hard bounce on 2026-10-01 (import)")]
    assert _decision(db, clock, ann) == Reason.SUPPRESSED_ADDRESS


# Through mail-in


def _sent(db: Database, clock: FrozenClock, key: str, to: str) -> None:
    """A message Leadloop put in its outbox (what a delivery report may speak for)."""
    with db.write() as s:
        outbox.email(s, key, to=to, subject="Hello", body="Hi.", now=clock())


def test_a_delivery_report_through_mail_in_suppresses_the_address(db: Database, clock: FrozenClock) -> None:
    ann = consenting(db, clock, "ann@acme.com")
    _sent(db, clock, "nurture:1:1", "ann@acme.com")
    with db.write() as s:
        done = log_mail(s, bounce(failed="ann@acme.com", key="nurture:1:1"), now=clock(), policy=MailPolicy())
    assert (done.status, done.people) == ("logged", ["ann@acme.com"])
    assert _suppressions(db) == [
        ("address", "ann@acme.com", "bounce", "hard bounce on 2026-11-01 (mail): 5.1.1")
    ]
    assert _decision(db, clock, ann) == Reason.SUPPRESSED_ADDRESS
    with db.write() as s:  # the same report again (BCC and IMAP both): nothing more
        log_mail(s, bounce(failed="ann@acme.com", key="nurture:1:1"), now=clock(), policy=MailPolicy())
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).where(Activity.type == "email_bounce_hard")) == 1


def test_a_delayed_delivery_report_suppresses_nothing(db: Database, clock: FrozenClock) -> None:
    ann = consenting(db, clock, "ann@acme.com")
    _sent(db, clock, "nurture:1:1", "ann@acme.com")
    with db.write() as s:
        log_mail(
            s,
            bounce(failed="ann@acme.com", status="4.4.1", key="nurture:1:1"),
            now=clock(),
            policy=MailPolicy(),
        )
    assert _suppressions(db) == [] and _decision(db, clock, ann) == Reason.CONSENT


@pytest.mark.parametrize("key", [None, "nurture:9:9", "nurture:1:1"])
def test_a_forged_delivery_report_suppresses_nobody(
    db: Database, clock: FrozenClock, key: str | None
) -> None:
    """Anyone can mail the mail-in address a report naming anyone: one that returns no message of
    ours, a key we never used, or our message to someone else, changes nothing."""
    ann = consenting(db, clock, "ann@acme.com")
    _sent(db, clock, "nurture:1:1", "bob@beta.com")  # our message went to Bob, not Ann
    with db.write() as s:
        done = log_mail(s, bounce(failed="ann@acme.com", key=key), now=clock(), policy=MailPolicy())
    assert done.status == "skipped" and "no message Leadloop sent" in done.reason
    assert _suppressions(db) == [] and _decision(db, clock, ann) == Reason.CONSENT


def _mailto_request(db: Database, clock: FrozenClock, pid: int, *, sender: str) -> bytes:
    """What a mail client sends for the mailto in the List-Unsubscribe of our message to `pid`."""
    with db.read() as s:
        header = unsubscribe_headers(s, pid, now=clock())["List-Unsubscribe"]
    mailto = next(part.strip(" <>") for part in header.split(",") if "mailto:" in part)
    uri = urlsplit(mailto)
    assert uri.path == UNSUBSCRIBE_BOX
    subject = parse_qs(uri.query)["subject"][0]
    return message(sender=sender, to=[uri.path], subject=subject, body="")


MAIL_POLICY = MailPolicy(unsubscribe_address=UNSUBSCRIBE_BOX)


def test_the_mailto_unsubscribe_through_mail_in_unsubscribes_the_person(
    db: Database, clock: FrozenClock
) -> None:
    use_policy(db, mailto=UNSUBSCRIBE_BOX)
    ann = consenting(db, clock, "ann@acme.com")
    bob = consenting(db, clock, "bob@acme.com")
    raw = _mailto_request(db, clock, ann, sender="ann@acme.com")
    with db.write() as s:
        done = log_mail(s, raw, now=clock(), policy=MAIL_POLICY)
    assert done.status == "logged"
    assert _consent_log(db, ann)[-1] == ("*", "withdrawn", "unsubscribe", "mailto")
    assert _decision(db, clock, ann) == Reason.UNSUBSCRIBED and _decision(db, clock, bob) == Reason.CONSENT
    with db.read() as s:  # the request is nobody's reply: no activity, nobody created
        assert s.scalar(sa.select(sa.func.count()).where(Activity.type.like("email%"))) == 0
    before = count(db, ConsentEvent)
    with db.write() as s:  # sent twice: nothing more to withdraw
        log_mail(s, raw, now=clock(), policy=MAIL_POLICY)
    assert count(db, ConsentEvent) == before


@pytest.mark.parametrize(
    "subject",
    [
        "unsubscribe {token}x",  # tampered
        "unsubscribe {other}",  # genuine, for another address than the one it names now
        "unsubscribe",  # no token
        "Automatic reply: unsubscribe {token}",  # an out-of-office answering our mail
        "unsubscribe " + "x" * 300,
    ],
)
def test_a_mailto_request_without_a_genuine_token_changes_nothing(
    db: Database, clock: FrozenClock, subject: str
) -> None:
    use_policy(db, mailto=UNSUBSCRIBE_BOX)
    ann = consenting(db, clock, "ann@acme.com")
    token = link(db, clock, ann, "ann@acme.com")
    other = link(db, clock, ann, "someone.else@acme.com")
    raw = message(
        sender="ann@acme.com", to=[UNSUBSCRIBE_BOX], subject=subject.format(token=token, other=other), body=""
    )
    before = count(db, ConsentEvent)
    with db.write() as s:
        log_mail(s, raw, now=clock(), policy=MAIL_POLICY)
    assert count(db, ConsentEvent) == before and _decision(db, clock, ann) == Reason.CONSENT


def test_an_expired_mailto_token_changes_nothing(db: Database, clock: FrozenClock) -> None:
    policy = use_policy(db, mailto=UNSUBSCRIBE_BOX)
    ann = consenting(db, clock, "ann@acme.com")
    raw = _mailto_request(db, clock, ann, sender="ann@acme.com")
    clock.advance(days=policy.link_days + 2)
    with db.write() as s:
        log_mail(s, raw, now=clock(), policy=MAIL_POLICY)
    assert _decision(db, clock, ann) == Reason.CONSENT


def test_the_mailto_unsubscribe_read_from_an_imap_mailbox(
    db: Database, clock: FrozenClock, imap_server: Imap, db_url: str
) -> None:
    """The unsubscribe mailbox synced by the existing reader (`leadloop mail-sync`)."""
    use_policy(db, mailto=UNSUBSCRIBE_BOX)
    ann = consenting(db, clock, "ann@acme.com")
    folder = "Unsub" + str(abs(hash(db_url)) % 10_000)
    c = imaplib.IMAP4(imap_server.host, imap_server.port)
    c.login(imap_server.user, imap_server.password)
    c.create(folder)
    c.append(folder, None, None, _mailto_request(db, clock, ann, sender="ann@acme.com"))
    c.logout()
    box = Mailbox(
        imap_server.host, imap_server.port, imap_server.user, imap_server.password, folder, ssl=False
    )
    done = sync(db, clock, box, MAIL_POLICY, max_bytes=1_000_000)
    assert done.logged == 1
    assert _consent_log(db, ann)[-1] == ("*", "withdrawn", "unsubscribe", "mailto")
    assert _decision(db, clock, ann) == Reason.UNSUBSCRIBED


def test_the_mailto_unsubscribe_sent_to_the_mail_in_server(db: Database, clock: FrozenClock) -> None:
    """Over SMTP, with mail-in limited to its BCC address: the unsubscribe mailbox is let in too."""
    use_policy(db, mailto=UNSUBSCRIBE_BOX)
    ann = consenting(db, clock, "ann@acme.com")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    settings = Settings(mailin_addresses="log@mailin.ourco.io", unsubscribe_mailto=UNSUBSCRIBE_BOX)
    controller = start(db, clock, settings, host="127.0.0.1", port=port)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
            c.sendmail(
                "ann@acme.com", [UNSUBSCRIBE_BOX], _mailto_request(db, clock, ann, sender="ann@acme.com")
            )
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                c.sendmail("x@spam.example.org", ["anyone@mailin.ourco.io"], b"Subject: hi\r\n\r\nhi\r\n")
    finally:
        controller.stop()
    assert _consent_log(db, ann)[-1] == ("*", "withdrawn", "unsubscribe", "mailto")
    assert _decision(db, clock, ann) == Reason.UNSUBSCRIBED
