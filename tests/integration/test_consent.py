"""Consent on SQLite and PostgreSQL: the log and what it derives, the unsubscribe in its own
transaction (and its race with a send), links that must change nothing, the preference centre,
implied consent expiring by its timer, double opt-in through the outbox to a real SMTP server,
merges, and the suppression list."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from leadloop.bootstrap import timer_handlers
from leadloop.capture import model as m
from leadloop.capture.intake import store_lead
from leadloop.consent import handlers, suppression, tokens
from leadloop.consent.decision import Reason
from leadloop.consent.gate import may_send, unsubscribe_headers
from leadloop.consent.handlers import ForeignToken
from leadloop.core.clock import FrozenClock
from leadloop.core.errors import Conflict, InvalidInput
from leadloop.identity.merge import merge_people, unmerge
from leadloop.jobs import outbox
from leadloop.jobs.worker import Worker
from leadloop.settings import Settings
from leadloop.store.db import Database
from leadloop.store.tables import Consent, ConsentEvent, Outbox, Person, Timer
from tests.conftest import count
from tests.fixtures.capture import capture_people
from tests.fixtures.consent import Wire, consenting, link, use_policy


def _opt_in(db: Database, pid: int) -> bool | None:
    with db.read() as s:
        return s.scalar(sa.select(Person.email_opt_in).where(Person.id == pid))


def _reason(db: Database, pid: int, code: str, clock: FrozenClock) -> Reason:
    with db.write() as s:
        return may_send(s, pid, code, clock()).reason


def test_what_a_door_captures_is_logged_and_email_opt_in_derived(db: Database, clock: FrozenClock) -> None:
    yes = consenting(db, clock, "yes@acme.com", opt_in="true")
    no = consenting(db, clock, "no@acme.com", opt_in="false")
    unknown = consenting(db, clock, "unknown@acme.com", opt_in=None)
    with db.read() as s:
        log = s.execute(sa.select(ConsentEvent.person_id, ConsentEvent.scope, ConsentEvent.status)).all()
        current = s.execute(sa.select(Consent.person_id, Consent.scope, Consent.seq)).all()
    assert sorted((p, sc, st) for p, sc, st in log if p == yes) == [
        (yes, code, "granted") for code in sorted(("events", "newsletter", "product_updates"))
    ]
    assert [(sc, st) for p, sc, st in log if p == no] == [("*", "withdrawn")]
    assert not [r for r in log if r[0] == unknown]
    assert len(current) == len(log)  # one current row per person and scope, each the latest entry
    assert (_opt_in(db, yes), _opt_in(db, no), _opt_in(db, unknown)) == (True, False, None)
    assert _reason(db, yes, "newsletter", clock) == Reason.CONSENT
    assert _reason(db, no, "newsletter", clock) == Reason.UNSUBSCRIBED
    assert _reason(db, unknown, "newsletter", clock) == Reason.NO_CONSENT


def test_an_unsubscribe_is_in_effect_when_its_transaction_commits(db: Database, clock: FrozenClock) -> None:
    pid = consenting(db, clock, "ann@acme.com")
    token = link(db, clock, pid, "ann@acme.com")
    with db.write() as s:
        handlers.unsubscribe(s, token, now=clock())
        with db.read() as other:  # not committed yet: another transaction still sees consent
            if db.engine.dialect.name == "postgresql":
                assert may_send(other, pid, "newsletter", clock(), lock=False).allowed
    for code in ("newsletter", "product_updates", "events", "a_type_added_tomorrow"):
        with db.write() as s:
            decision = may_send(s, pid, code, clock())
        assert not decision.allowed and decision.reason in (Reason.UNSUBSCRIBED, Reason.UNKNOWN_TYPE)
    assert _opt_in(db, pid) is False
    with db.read() as s:
        last = s.execute(sa.select(ConsentEvent).order_by(ConsentEvent.id.desc()).limit(1)).scalar_one()
    assert (last.scope, last.status, last.source, last.detail) == (
        "*",
        "withdrawn",
        "unsubscribe",
        "one-click",
    )


def test_a_send_and_an_unsubscribe_of_one_person_never_interleave(db: Database, clock: FrozenClock) -> None:
    """The sender asks the gate inside its send transaction; the unsubscribe waits for that
    transaction to end (the person's row lock, or SQLite's one writer), and a send asked after the
    unsubscribe committed is refused. So a message is enqueued before the unsubscribe, or never."""
    pid = consenting(db, clock, "ann@acme.com")
    token = link(db, clock, pid, "ann@acme.com")
    order: list[str] = []
    asked, hold = threading.Event(), 0.5

    def sender() -> None:
        with db.write() as s:
            decision = may_send(s, pid, "newsletter", clock())
            asked.set()
            time.sleep(hold)  # the unsubscribe arrives now, while the send is in flight
            if decision.allowed:
                outbox.email(s, f"step:{pid}", to="ann@acme.com", subject="News", body="...", now=clock())
            order.append("send committed")

    def unsubscriber() -> None:
        asked.wait(5)
        with db.write() as s:
            handlers.unsubscribe(s, token, now=clock())
        order.append("unsubscribe committed")

    threads = [threading.Thread(target=sender), threading.Thread(target=unsubscriber)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert order == ["send committed", "unsubscribe committed"]
    assert time.perf_counter() - started >= hold  # the unsubscribe waited for the send
    assert count(db, Outbox) == 1  # sent before the unsubscribe: legitimate
    with db.write() as s:  # the next step, due at the very moment after: nothing
        assert may_send(s, pid, "newsletter", clock()).reason == Reason.UNSUBSCRIBED


def test_a_link_that_is_wrong_changes_nothing(db: Database, clock: FrozenClock) -> None:
    ann = consenting(db, clock, "ann@acme.com")
    bob = consenting(db, clock, "bob@acme.com")
    good = link(db, clock, ann, "ann@acme.com")
    # The first character of the signature: all six of its bits count (the last one's may be spare).
    at = good.rindex(".") + 1
    tampered = good[:at] + ("A" if good[at] != "A" else "B") + good[at + 1 :]
    cases = [
        (link(db, clock, ann, "bob@acme.com"), ForeignToken),  # made for another address
        (link(db, clock, bob, "ann@acme.com"), ForeignToken),  # Ann's address on Bob's id
        (tampered, tokens.BadToken),
        (link(db, clock, ann, "ann@acme.com", purpose=tokens.CONFIRM), tokens.BadToken),
        (link(db, clock, 999_999, "ann@acme.com"), ForeignToken),
    ]
    before = count(db, ConsentEvent)
    for token, error in cases:
        with db.write() as s, pytest.raises(error):
            handlers.unsubscribe(s, token, now=clock())
    clock.advance(days=91)
    with db.write() as s, pytest.raises(tokens.ExpiredToken):
        handlers.unsubscribe(s, good, now=clock())
    assert count(db, ConsentEvent) == before
    assert _opt_in(db, ann) is True and _opt_in(db, bob) is True


def test_a_token_stops_working_when_the_address_is_no_longer_theirs(db: Database, clock: FrozenClock) -> None:
    ann = consenting(db, clock, "ann@acme.com", external_id="A1")
    token = link(db, clock, ann, "ann@acme.com")
    capture_people(db, clock, {"external_id": "A1", "email": "ann@newjob.com"}, source="api")
    with db.write() as s, pytest.raises(ForeignToken):
        handlers.unsubscribe(s, token, now=clock())
    with db.write() as s:
        handlers.unsubscribe(s, link(db, clock, ann, "ann@newjob.com"), now=clock())
    assert _opt_in(db, ann) is False


def test_the_preference_centre_grants_what_is_ticked_and_withdraws_the_rest(
    db: Database, clock: FrozenClock
) -> None:
    pid = consenting(db, clock, "ann@acme.com", opt_in="false")
    token = link(db, clock, pid, "ann@acme.com")
    with db.write() as s:
        handlers.set_preferences(s, token, {"events", "no_such_type"}, now=clock())
    assert _reason(db, pid, "events", clock) == Reason.CONSENT  # the person's own tick undoes an opt-out
    assert _reason(db, pid, "newsletter", clock) == Reason.UNSUBSCRIBED
    assert _opt_in(db, pid) is True
    with db.write() as s:
        handlers.set_preferences(s, token, set(), now=clock())
    assert _opt_in(db, pid) is False and _reason(db, pid, "events", clock) == Reason.UNSUBSCRIBED


def test_an_import_never_undoes_an_unsubscribe(db: Database, clock: FrozenClock) -> None:
    pid = consenting(db, clock, "ann@acme.com")
    with db.write() as s:
        handlers.unsubscribe(s, link(db, clock, pid, "ann@acme.com"), now=clock())
    capture_people(db, clock, {"email": "ann@acme.com", "email_opt_in": "true"}, source="import")
    assert _opt_in(db, pid) is False and _reason(db, pid, "newsletter", clock) == Reason.UNSUBSCRIBED


def test_implied_consent_after_an_inquiry_expires_by_its_timer(db: Database, clock: FrozenClock) -> None:
    use_policy(db, implied_days=183, inquiry_types=frozenset({"demo_request"}))
    pid = capture_people(db, clock, {"email": "ann@acme.com"}, kind="demo_request", minutes_ago=0)[0].id
    assert pid is not None
    assert _reason(db, pid, "newsletter", clock) == Reason.IMPLIED_CONSENT
    assert _opt_in(db, pid) is None  # implied consent is not an opt-in
    with db.read() as s:
        timer = s.execute(sa.select(Timer).where(Timer.kind == "consent_expires")).scalar_one()
    assert timer.due_at == clock() + timedelta(days=183) and timer.subject == f"person:{pid}"
    worker = Worker(db, clock, timer_handlers(Settings(retrain_every_days=0)))
    clock.advance(days=182)
    assert worker.run_once() == 0
    clock.advance(days=1, seconds=1)
    assert worker.run_once() == 1
    assert _reason(db, pid, "newsletter", clock) == Reason.IMPLIED_CONSENT_EXPIRED
    with db.read() as s:
        expired = s.scalars(sa.select(ConsentEvent.scope).where(ConsentEvent.status == "expired")).all()
        assert sorted(expired) == ["events", "newsletter", "product_updates"]
        assert s.scalar(sa.select(Timer.done_at).where(Timer.id == timer.id)) is not None


def test_double_opt_in_sends_a_confirmation_that_confirms_and_can_unsubscribe(
    db: Database, clock: FrozenClock, smtp_wire: tuple[Wire, int]
) -> None:
    use_policy(db, double_opt_in=True, public_url="https://leadloop.example")
    person = m.parse_person({"email": "ann@acme.com", "email_opt_in": "true"})
    act = m.parse_activity({"email": "ann@acme.com", "type": "form_submit"}, now=clock())
    with db.write() as s:  # a web form the person ticked
        pid = store_lead(s, person, act, now=clock(), source="form", explicit_consent=True)[0].person_id
    assert _reason(db, pid, "newsletter", clock) == Reason.AWAITING_CONFIRMATION
    wire, port = smtp_wire
    settings = Settings(smtp_host="127.0.0.1", smtp_port=port, public_url="https://leadloop.example")
    assert outbox.deliver(db, settings, now=clock()) == 1
    raw = wire.messages[0].decode()
    head, body = raw.replace("\r\n", "\n").split("\n\n", 1)
    assert "List-Unsubscribe: <https://leadloop.example/u/" in head and "=?" not in head
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in head
    confirm = body.split("https://leadloop.example/c/", 1)[1].split()[0]
    unsubscribe = head.split("<https://leadloop.example/u/", 1)[1].split(">", 1)[0]
    with db.write() as s:
        handlers.confirm_subscription(s, confirm, now=clock())
    assert _reason(db, pid, "newsletter", clock) == Reason.CONSENT and _opt_in(db, pid) is True
    with db.write() as s:  # the confirmation mail's own unsubscribe works too
        handlers.unsubscribe(s, unsubscribe, now=clock())
    assert _reason(db, pid, "newsletter", clock) == Reason.UNSUBSCRIBED


def test_a_merge_keeps_an_opt_out_and_an_unmerge_gives_each_their_own_back(
    db: Database, clock: FrozenClock
) -> None:
    ann = consenting(db, clock, "ann@acme.com", first_name="Ann", last_name="Lee")
    other = consenting(db, clock, "ann.lee@gmail.com", opt_in="false", first_name="Ann", last_name="Lee")
    with db.write() as s:
        done = merge_people(s, ann, other, now=clock(), method="manual")
    assert _reason(db, ann, "newsletter", clock) == Reason.UNSUBSCRIBED
    assert _reason(db, other, "newsletter", clock) == Reason.UNSUBSCRIBED  # a merged id asks its survivor
    # A link in an old mail to the merged-away address still reaches the person.
    clock.advance(hours=1)
    with db.write() as s:
        handlers.set_preferences(s, link(db, clock, other, "ann.lee@gmail.com"), {"events"}, now=clock())
    assert _reason(db, ann, "events", clock) == Reason.CONSENT
    with db.write() as s:
        unmerge(s, done.merge_id, now=clock())
    assert _reason(db, ann, "newsletter", clock) == Reason.CONSENT  # her own consent, as before
    assert _reason(db, other, "newsletter", clock) == Reason.UNSUBSCRIBED
    assert _reason(db, other, "product_updates", clock) == Reason.UNSUBSCRIBED  # the preferences said so
    assert (_opt_in(db, ann), _opt_in(db, other)) == (True, False)


def test_suppressed_addresses_and_domains_are_never_sent_to(db: Database, clock: FrozenClock) -> None:
    ann = consenting(db, clock, "ann@mail.acme.com")
    bob = consenting(db, clock, "bob@beta.io")
    with db.write() as s:
        suppression.add(s, "@acme.com", reason="asked by their legal team", source="admin", now=clock())
        entry = suppression.add(s, "Bob@Beta.io", reason=None, source="api", now=clock())
    assert _reason(db, ann, "newsletter", clock) == Reason.SUPPRESSED_DOMAIN
    assert _reason(db, bob, "newsletter", clock) == Reason.SUPPRESSED_ADDRESS
    with db.write() as s, pytest.raises(Conflict):
        suppression.add(s, "bob@beta.io", reason=None, source="api", now=clock())
    for junk in ("", "not a domain", "@", "a@b"):
        with db.write() as s, pytest.raises(InvalidInput):
            suppression.add(s, junk, reason=None, source="api", now=clock())
    with db.write() as s:
        suppression.remove(s, entry.id)
    assert _reason(db, bob, "newsletter", clock) == Reason.CONSENT


def test_the_headers_a_sender_puts_on_a_message_unsubscribe_that_person(
    db: Database, clock: FrozenClock
) -> None:
    pid = consenting(db, clock, "ann@acme.com")
    with db.read() as s:
        headers = unsubscribe_headers(s, pid, now=clock())
    token = headers["List-Unsubscribe"].split("/u/", 1)[1].split(">", 1)[0]
    clock.advance(days=60)  # the least RFC 8058 readers expect
    with db.write() as s:
        handlers.unsubscribe(s, token, now=clock())
    assert _reason(db, pid, "events", clock) == Reason.UNSUBSCRIBED
