"""Sending, on SQLite and PostgreSQL: the per-person throttle across sequences holds exactly, also
with two sweepers at once; a step due at the very moment of an opt-out sends nothing; an
unsubscribe ends every enrolment in its transaction; `leadloop doctor` finds and repairs a broken
enrolment; the what-if of a draft says who would enter today and what they would get."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from leadloop.bootstrap import send_policy
from leadloop.cli import app
from leadloop.consent import suppression
from leadloop.consent.handlers import unsubscribe
from leadloop.core.clock import FrozenClock
from leadloop.documents.handlers import preview, save_draft
from leadloop.jobs.outbox import deliver
from leadloop.jobs.timers import cancel
from leadloop.mailtrack.policy import policy_of as tracking_policy
from leadloop.nurture import handlers as nurture
from leadloop.nurture.checks import parse_sequence
from leadloop.nurture.kind import SEQUENCES
from leadloop.nurture.policy import OptInPolicy
from leadloop.nurture.repository import STEP_TIMER, broken, subject
from leadloop.privacy.erase import erase_person
from leadloop.settings import Settings
from leadloop.store.db import Database
from leadloop.store.tables import NurtureSend, Outbox, Person
from tests.fixtures.capture import capture_people
from tests.fixtures.consent import link
from tests.fixtures.nurture import (
    Smtp,
    activate_sequence,
    assert_invariant,
    enrolments,
    sequence_text,
    sweeper,
)

TWO_AT_ONCE = """\
  - email: {subject: "{{ sender_name }} one", text: One.}
  - email: {subject: "{{ sender_name }} two", text: Two.}
"""


def _person(db: Database, clock: FrozenClock, email: str, **fields: str) -> int:
    return int(capture_people(db, clock, {"email_opt_in": "true", "email": email, **fields}, kind=None)[0].id)


def test_the_throttle_holds_exactly_across_sequences_and_a_deferred_step_is_sent_later(
    db: Database, clock: FrozenClock, smtp_server: Smtp
) -> None:
    settings = Settings(smtp_port=smtp_server.port, nurture_max_emails=3, nurture_per_days=7)
    with db.write() as s:
        for name in ("a", "b"):
            activate_sequence(s, sequence_text(name, TWO_AT_ONCE), clock=clock)
    pid = _person(db, clock, "kim@acme.example")
    with db.write() as s:
        for name in ("a", "b"):
            nurture.enrol(s, name, [(pid, None)], trigger="manual", now=clock())
    first = clock()
    worker = sweeper(db, clock, settings)
    worker.run_once()
    assert len(smtp_server.inbox.messages) == 3
    deferred = [e for e in enrolments(db) if e.state == "active"]
    assert len(deferred) == 1 and deferred[0].note == "waiting for the throttle: 3 e-mails a week"
    assert_invariant(db)
    clock.advance(days=7, seconds=-1)
    worker.run_once()
    assert len(smtp_server.inbox.messages) == 3  # a second early is still too early
    clock.advance(seconds=1)
    worker.run_once()
    assert len(smtp_server.inbox.messages) == 4  # rescheduled, never dropped
    with db.read() as s:
        sent = sorted(s.scalars(sa.select(NurtureSend.sent_at)))
    assert sent == [first] * 3 + [first + timedelta(days=7)]
    assert all(e.state == "completed" for e in enrolments(db))
    assert_invariant(db)


def test_two_sweepers_at_once_never_send_one_person_more_than_the_throttle(
    db: Database, clock: FrozenClock, smtp_server: Smtp
) -> None:
    """Six sequences of one e-mail each, due together, taken by two workers in parallel: the
    check and the send record share the person's lock, so exactly three go out."""
    settings = Settings(smtp_port=smtp_server.port, nurture_max_emails=3, nurture_per_days=7)
    one = "  - email: {subject: Hello, text: Hi.}\n"
    with db.write() as s:
        for i in range(6):
            activate_sequence(s, sequence_text(f"s{i}", one), clock=clock)
    pid = _person(db, clock, "lu@acme.example")
    with db.write() as s:
        for i in range(6):
            nurture.enrol(s, f"s{i}", [(pid, None)], trigger="manual", now=clock())
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            worker = sweeper(db, clock, settings)
            worker.batch = 1  # each claim takes one timer: the two workers interleave
            worker.run_once()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(NurtureSend)) == 3
    states = sorted(e.state for e in enrolments(db))
    assert states == ["active"] * 3 + ["completed"] * 3
    assert_invariant(db)


def test_a_step_due_at_the_moment_of_an_opt_out_sends_nothing(
    db: Database, clock: FrozenClock, smtp_server: Smtp
) -> None:
    """The opt-out's transaction holds the person's row when the step comes due; the sweeper waits
    for it, then is refused. (Reading without the lock would see the old consent and send.)"""
    with db.write() as s:
        activate_sequence(
            s, sequence_text("welcome", "  - email: {subject: Hi, text: Hello.}\n"), clock=clock
        )
    pid = _person(db, clock, "mo@acme.example")
    with db.write() as s:
        nurture.enrol(s, "welcome", [(pid, None)], trigger="manual", now=clock())
    holding, done = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    token = link(db, clock, pid, "mo@acme.example")

    def opt_out() -> None:
        try:
            with db.write() as s:  # the person's one-click POST, through consent
                unsubscribe(s, token, now=clock())
                holding.set()
                time.sleep(0.5)  # the step is due now, and waits for this transaction
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            holding.set()

    def sweep() -> None:
        try:
            sweeper(db, clock, Settings(smtp_port=smtp_server.port)).run_once()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            done.set()

    first = threading.Thread(target=opt_out)
    first.start()
    assert holding.wait(10)
    second = threading.Thread(target=sweep)
    second.start()
    first.join(30)
    second.join(60)
    assert not errors and done.is_set()
    (e,) = enrolments(db)
    # The unsubscribe ended the enrolment in its own transaction; the step then found it ended.
    assert (e.state, e.exit_reason) == ("exited", "unsubscribed")
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Outbox)) == 0
        assert s.scalar(sa.select(Person.email_opt_in).where(Person.id == pid)) is False
    assert smtp_server.inbox.messages == []
    assert_invariant(db)


def test_an_unsubscribe_ends_every_enrolment_in_its_own_transaction(
    db: Database, clock: FrozenClock, smtp_server: Smtp
) -> None:
    one = "  - wait: {hours: 1}\n  - email: {subject: Hi, text: Hello.}\n"
    with db.write() as s:
        for name in ("a", "b"):
            activate_sequence(s, sequence_text(name, one), clock=clock)
    pid = _person(db, clock, "ny@acme.example")
    with db.write() as s:
        for name in ("a", "b"):
            nurture.enrol(s, name, [(pid, None)], trigger="manual", now=clock())
    worker = sweeper(db, clock, Settings(smtp_port=smtp_server.port))
    worker.run_once()  # both wait an hour
    capture_people(
        db, clock, {"email_opt_in": "true", "email": "ny@acme.example"}, kind="unsubscribe", minutes_ago=0
    )
    assert {(e.state, e.exit_reason) for e in enrolments(db)} == {("exited", "unsubscribed")}
    clock.advance(hours=2)
    worker.run_once()
    assert smtp_server.inbox.messages == []
    assert_invariant(db)


def test_the_policy_seam_is_asked_with_the_sequences_subscription(db: Database, clock: FrozenClock) -> None:
    asked: list[tuple[int, str]] = []
    with db.read() as s:
        ours = tracking_policy(s).public_url  # our own /u/ links are never sent through a redirect

    class Consent(OptInPolicy):
        def may_send(self, session, person_id, subscription_type, now):  # type: ignore[no-untyped-def]
            asked.append((person_id, subscription_type))
            return super().may_send(session, person_id, subscription_type, now)

        def headers(self, session, person_id, now):  # type: ignore[no-untyped-def]
            return {"List-Unsubscribe": f"<{ours}/u/{person_id}>, <mailto:u@ll.example>"}

    with db.write() as s:
        activate_sequence(
            s,
            sequence_text("news", "  - email: {subject: Hi, text: Hello.}\n", extra="subscription: events\n"),
            clock=clock,
        )
    pid = _person(db, clock, "ox@acme.example")
    with db.write() as s:
        (eid,) = nurture.enrol(s, "news", [(pid, None)], trigger="manual", now=clock()).enrolled
        mailer = nurture.Mailer("1 Main St", "ll@localhost", nurture.Throttle(3, timedelta(days=7)))
        nurture.take_steps(s, eid, "1", now=clock(), policy=Consent(), mailer=mailer)
    assert asked == [(pid, "events")]
    with db.read() as s:
        payload = s.scalars(sa.select(Outbox.payload)).one()
    assert payload["headers"]["List-Unsubscribe"].startswith(f"<{ours}/u/")
    assert f"No more of these e-mails: {ours}/u/{pid}" in payload["body"]


def test_doctor_finds_and_repairs_an_enrolment_without_its_timer(
    db: Database, db_url: str, clock: FrozenClock
) -> None:
    with db.write() as s:
        activate_sequence(
            s, sequence_text("welcome", "  - email: {subject: Hi, text: Hello.}\n"), clock=clock
        )
    pid = _person(db, clock, "pi@acme.example")
    with db.write() as s:
        (eid,) = nurture.enrol(s, "welcome", [(pid, None)], trigger="manual", now=clock()).enrolled
    run = CliRunner().invoke
    healthy = run(app, ["doctor", "--database-url", db_url])
    assert healthy.exit_code == 0, healthy.output
    with db.write() as s:  # what a lost timer would look like
        cancel(s, STEP_TIMER, subject(eid), now=clock())
        assert [b.problem for b in broken(s)] == ["no pending timer"]
    sick = run(app, ["doctor", "--database-url", db_url])
    assert sick.exit_code == 1 and f"enrolment #{eid} (active): no pending timer" in sick.output
    fixed = run(app, ["doctor", "--fix", "--database-url", db_url])
    assert fixed.exit_code == 0 and "repaired" in fixed.output
    assert_invariant(db)


def test_the_what_if_of_a_draft_says_who_enters_today_and_what_they_get_this_week(
    db: Database, clock: FrozenClock
) -> None:
    capture_people(
        db,
        clock,
        {"email_opt_in": "true", "email": "qa@acme.example"},
        {"email_opt_in": "true", "email": "ra@beta.example"},
        {"email_opt_in": "true", "email": "sy@gamma.example"},
    )
    with db.write() as s:
        s.execute(sa.update(Person).where(Person.email == "sy@gamma.example").values(email_opt_in=False))
        text = sequence_text(
            "welcome",
            "  - email: {subject: Hi, text: Hello.}\n  - wait: {days: 3}\n  - email: {subject: Again, text: More.}\n"
            "  - wait: {days: 10}\n  - email: {subject: Late, text: Later.}\n",
            triggers="{inquiry: true}",
        )
        draft = save_draft(s, SEQUENCES, text, now=clock())
        summary = preview(s, SEQUENCES, parse_sequence(text), now=clock())
    assert draft.id and summary["entering"] == 3 and summary["by_trigger"] == {"inquiry": 3}
    assert summary["no_mail"] == 1
    assert summary["emails_this_week"] == 4  # two each for the two who may be mailed; "Late" is next week
    assert summary["by_step"] == {"1": 2, "3": 2}
    assert enrolments(db) == []  # a what-if writes nothing


def test_enrol_from_the_command_line(db: Database, db_url: str, clock: FrozenClock, tmp_path: Path) -> None:
    with db.write() as s:
        activate_sequence(
            s, sequence_text("welcome", "  - email: {subject: Hi, text: Hello.}\n"), clock=clock
        )
    pid = _person(db, clock, "ty@acme.example")
    names = tmp_path / "people.txt"
    names.write_text(f"TY@acme.example\nnobody@acme.example\n{pid}\n")
    out = CliRunner().invoke(app, ["sequences", "enrol", "welcome", str(names), "--database-url", db_url])
    assert out.exit_code == 0, out.output
    assert "no person with the address nobody@acme.example" in out.output and "1 enrolled" in out.output
    missing = CliRunner().invoke(app, ["sequences", "enrol", "nope", str(names), "--database-url", db_url])
    assert missing.exit_code == 2 and "no version of sequence 'nope' is active" in missing.output


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("suppressed_address", "suppressed_address"),
        ("suppressed_domain", "suppressed_domain"),
        ("erased", "erased"),
        ("no_consent", "no_consent"),
        ("invalid_address", "invalid_address"),
    ],
)
def test_a_send_the_consent_gate_refuses_is_never_attempted_and_says_why(
    db: Database, clock: FrozenClock, smtp_server: Smtp, case: str, reason: str
) -> None:
    with db.write() as s:
        activate_sequence(
            s, sequence_text("welcome", "  - email: {subject: Hi, text: Hello.}\n"), clock=clock
        )
    opt_in = {} if case == "no_consent" else {"email_opt_in": "true"}
    pid = int(capture_people(db, clock, {**opt_in, "email": "zed@zeta.example"}, kind=None)[0].id)
    with db.write() as s:
        nurture.enrol(s, "welcome", [(pid, None)], trigger="manual", now=clock())
        if case == "suppressed_address":
            suppression.add(s, "ZED@zeta.example", reason="test", source="admin", now=clock())
        elif case == "suppressed_domain":
            suppression.add(s, "zeta.example", reason="test", source="admin", now=clock())
        elif case == "erased":
            erase_person(s, pid, now=clock(), by_user_id=None)
        elif case == "invalid_address":  # a row written before today's checks, say
            s.execute(sa.update(Person).where(Person.id == pid).values(email="zed@@zeta"))
    sweeper(db, clock, Settings(smtp_port=smtp_server.port)).run_once()
    (e,) = enrolments(db)
    if case == "erased":  # the erasure itself ended the enrolment, before any step ran
        assert (e.state, e.exit_reason) == ("exited", "unsubscribed")
    else:
        assert (e.state, e.exit_reason, e.note) == ("exited", "send_refused", reason)
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Outbox)) == 0
    assert smtp_server.inbox.messages == []
    assert_invariant(db)


@pytest.mark.parametrize("how", ["unsubscribe", "erase"])
def test_a_drip_email_queued_before_an_opt_out_is_never_delivered(
    db: Database, clock: FrozenClock, smtp_server: Smtp, how: str
) -> None:
    """The step ran and queued its message; the outbox had not sent it yet (the mail server was
    down, say) when the person unsubscribed or was erased: it is cancelled, and an erasure also
    empties what was kept of it."""
    with db.write() as s:
        activate_sequence(
            s, sequence_text("welcome", "  - email: {subject: Hi Ann, text: Hello.}\n"), clock=clock
        )
    pid = _person(db, clock, "ann@acme.example")
    with db.write() as s:
        (eid,) = nurture.enrol(s, "welcome", [(pid, None)], trigger="manual", now=clock()).enrolled
        mailer = nurture.Mailer("1 Main St", "ll@localhost", nurture.Throttle(3, timedelta(days=7)))
        nurture.take_steps(s, eid, "1", now=clock(), policy=send_policy(Settings()), mailer=mailer)
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Outbox).where(Outbox.sent_at.is_(None))) == 1
    with db.write() as s:
        if how == "unsubscribe":
            unsubscribe(s, link(db, clock, pid, "ann@acme.example"), now=clock())
        else:
            erase_person(s, pid, now=clock(), by_user_id=None)
    deliver(db, Settings(smtp_port=smtp_server.port), now=clock())
    assert smtp_server.inbox.messages == []
    with db.read() as s:
        row = s.execute(sa.select(Outbox.sent_at, Outbox.last_error, Outbox.payload)).one()
        subject = s.scalar(sa.select(NurtureSend.subject))
    assert row.sent_at is not None and row.last_error.startswith("cancelled: the person")
    if how == "erase":
        assert row.payload == {} and subject == "(erased)"
    else:
        assert row.payload["to"] == "ann@acme.example" and subject == "Hi Ann"
